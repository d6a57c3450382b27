// A fast path for the XML of an ARF report: a scanner for the plain XML that oscap writes
// (elements, attributes, text, the five predefined entities and character references, comments,
// CDATA, an XML 1.0 declaration) that feeds the collector the same calls saxes would, at about a
// fifth of saxes's cost (see bench/results/openscap-profile.md). Anything outside that subset —
// a DOCTYPE, a processing instruction, a CR, a non-ASCII name, another entity, any error at all —
// throws NotPlainXml, and the caller parses the whole document again with saxes, which decides.
// So the scanner never has to be right about a document saxes would refuse: only strict.
import type { XmlEvents } from './arf-types.ts';

/** The document is outside the fast path's subset (or not well-formed): saxes must decide. */
export class NotPlainXml extends Error {}

const LT = 0x3c;
const GT = 0x3e;
const AMP = 0x26;
const SLASH = 0x2f;
const BANG = 0x21;
const QUESTION = 0x3f;
const EQUALS = 0x3d;
const CLOSE_BRACKET = 0x5d;
const DOUBLE_QUOTE = 0x22;
const SINGLE_QUOTE = 0x27;

/** A token longer than this still open at a chunk's end is left to saxes rather than carried. */
const MAX_CARRY = 1024 * 1024;
const DECLARATION = /^<\?xml version=(["'])1\.0\1(?: encoding=(["'])(?:UTF-8|utf-8)\2)?(?: standalone=(["'])(?:yes|no)\3)? ?\?>/;
const PREDEFINED: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

const isSpace = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x09;
/** ASCII name characters only: anything else ends the name, and is then refused where it stands. */
const isNameStart = (c: number): boolean => (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || c === 0x3a;
const isNameChar = (c: number): boolean => isNameStart(c) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e;
const isXmlChar = (c: number): boolean => c === 0x09 || c === 0x0a || c === 0x0d || (c >= 0x20 && c <= 0xd7ff) || (c >= 0xe000 && c <= 0xfffd) || (c >= 0x10000 && c <= 0x10ffff);

const notPlain = (): never => {
  throw new NotPlainXml();
};

/** Refuses `text[from, to)` unless it is XML characters other than CR (which XML rewrites). */
function checkChars(text: string, from: number, to: number): void {
  for (let i = from; i < to; i += 1) {
    const c = text.charCodeAt(i);
    if (c >= 0x20 && c < 0xd800) continue;
    if (c === 0x0a || c === 0x09) continue;
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i += 1;
        continue;
      }
    }
    if (c >= 0xe000 && c <= 0xfffd) continue;
    notPlain();
  }
}

/** Thrown inside a token that runs past the end of what has arrived: it is carried to the next chunk. */
class Incomplete extends Error {}
/** One instance, made once: thrown at every chunk's end, it must not capture a stack each time. */
const INCOMPLETE = new Incomplete('token continues in the next chunk');

export class FastXmlScanner {
  readonly #events: XmlEvents;
  #carry = '';
  #started = false;
  readonly #open: string[] = [];
  #sawRoot = false;
  /** Text of the current run so far, when it spans chunks or entities. */
  #text = '';
  /** `]` seen just before, for the `]]>` check (reset by anything else). */
  #brackets = 0;
  /** Where the token being read began: what is carried when it runs past the chunk. */
  #tokenStart = 0;

  constructor(events: XmlEvents) {
    this.#events = events;
  }

  write(chunk: string): void {
    const s = this.#carry === '' ? chunk : this.#carry + chunk;
    this.#carry = '';
    let at = 0;
    if (!this.#started) {
      // The declaration is read whole: wait for it (it is at most 55 characters).
      if (s.length < 64 && !s.includes('>')) return this.#keep(s, 0);
      this.#started = true;
      if (s.startsWith('<?')) {
        const declaration = DECLARATION.exec(s);
        if (declaration === null) notPlain();
        at = (declaration as RegExpExecArray)[0].length;
      }
    }
    try {
      while (at < s.length) at = s.charCodeAt(at) === LT ? this.#markup(s, at) : this.#textRun(s, at);
    } catch (error) {
      if (error !== INCOMPLETE) throw error;
      this.#keep(s, this.#tokenStart);
    }
  }

  close(): void {
    if (this.#carry !== '' || !this.#sawRoot || this.#open.length > 0) notPlain();
  }

  #keep(s: string, from: number): void {
    if (s.length - from > MAX_CARRY) notPlain();
    this.#carry = s.slice(from);
  }

  /** Character data up to the next `<` (or the chunk's end); returns where it stopped. */
  #textRun(s: string, from: number): number {
    let i = from;
    let start = from;
    const inRoot = this.#open.length > 0;
    for (; i < s.length; i += 1) {
      const c = s.charCodeAt(i);
      if (c === LT) break;
      // Outside the root only white space may stand (saxes refuses anything else there).
      if (!inRoot && !isSpace(c)) notPlain();
      if (c === CLOSE_BRACKET) {
        this.#brackets += 1;
        continue;
      }
      if (c === GT && this.#brackets >= 2) notPlain();
      this.#brackets = 0;
      if (c === AMP) {
        checkChars(s, start, i);
        this.#text += s.slice(start, i);
        this.#tokenStart = i;
        const [value, end] = this.#entity(s, i);
        this.#text += value;
        i = end - 1;
        start = end;
      }
    }
    checkChars(s, start, i);
    this.#text += s.slice(start, i);
    return i;
  }

  /** Ends the text run at a `<`: the collector hears it as one event, as saxes sends it. */
  #flushText(): void {
    this.#brackets = 0;
    if (this.#text === '') return;
    const text = this.#text;
    this.#text = '';
    if (this.#open.length > 0) this.#events.text(text);
  }

  /** `&…;` at `at`: its value and where it ends. Only the predefined entities and character references. */
  #entity(s: string, at: number): [string, number] {
    const semicolon = s.indexOf(';', at + 1);
    if (semicolon < 0) {
      if (s.length - at > 16) notPlain();
      throw INCOMPLETE;
    }
    const name = s.slice(at + 1, semicolon);
    const predefined = PREDEFINED[name];
    if (predefined !== undefined) return [predefined, semicolon + 1];
    const match = /^#(?:([0-9]{1,7})|x([0-9a-fA-F]{1,6}))$/.exec(name);
    if (match === null) notPlain();
    const [, decimal, hex] = match as RegExpExecArray;
    const code = decimal === undefined ? Number.parseInt(hex as string, 16) : Number(decimal);
    if (!isXmlChar(code)) notPlain();
    return [String.fromCodePoint(code), semicolon + 1];
  }

  /** A tag, comment or CDATA section at `at` (a `<`); returns where it ends. */
  #markup(s: string, at: number): number {
    this.#flushText();
    this.#tokenStart = at;
    if (at + 1 >= s.length) throw INCOMPLETE;
    const next = s.charCodeAt(at + 1);
    if (next === SLASH) return this.#endTag(s, at);
    if (next === BANG) return this.#special(s, at);
    if (next === QUESTION) notPlain();
    return this.#startTag(s, at);
  }

  #name(s: string, from: number): number {
    if (from >= s.length) throw INCOMPLETE;
    if (!isNameStart(s.charCodeAt(from))) notPlain();
    let i = from + 1;
    while (i < s.length && isNameChar(s.charCodeAt(i))) i += 1;
    if (i >= s.length) throw INCOMPLETE;
    return i;
  }

  #skipSpace(s: string, from: number): number {
    let i = from;
    while (i < s.length && isSpace(s.charCodeAt(i))) i += 1;
    if (i >= s.length) throw INCOMPLETE;
    return i;
  }

  #startTag(s: string, at: number): number {
    if (this.#open.length === 0 && this.#sawRoot) notPlain();
    const nameEnd = this.#name(s, at + 1);
    const name = s.slice(at + 1, nameEnd);
    const attributes = Object.create(null) as Record<string, string>;
    let i = nameEnd;
    for (;;) {
      const spaced = i;
      i = this.#skipSpace(s, i);
      const c = s.charCodeAt(i);
      if (c === GT || c === SLASH) {
        if (c === SLASH) {
          if (i + 1 >= s.length) throw INCOMPLETE;
          if (s.charCodeAt(i + 1) !== GT) notPlain();
          i += 1;
        }
        this.#sawRoot = true;
        this.#events.open(name, attributes);
        this.#open.push(name);
        if (c === SLASH) this.#closeElement();
        return i + 1;
      }
      if (i === spaced) notPlain(); // attributes must be separated by white space
      const attributeEnd = this.#name(s, i);
      const attribute = s.slice(i, attributeEnd);
      i = this.#skipSpace(s, attributeEnd);
      if (s.charCodeAt(i) !== EQUALS) notPlain();
      i = this.#skipSpace(s, i + 1);
      const quote = s.charCodeAt(i);
      if (quote !== DOUBLE_QUOTE && quote !== SINGLE_QUOTE) notPlain();
      const [value, end] = this.#attributeValue(s, i + 1, quote);
      if (attribute in attributes) notPlain();
      attributes[attribute] = value;
      i = end;
    }
  }

  /** A quoted value from `from` to its closing `quote`, entities resolved and white space normalized. */
  #attributeValue(s: string, from: number, quote: number): [string, number] {
    let value = '';
    let start = from;
    for (let i = from; i < s.length; i += 1) {
      const c = s.charCodeAt(i);
      if (c === quote) {
        checkChars(s, start, i);
        return [value + s.slice(start, i), i + 1];
      }
      if (c === LT) notPlain();
      if (c === 0x0a || c === 0x09) {
        checkChars(s, start, i);
        value += `${s.slice(start, i)} `;
        start = i + 1;
      } else if (c === AMP) {
        checkChars(s, start, i);
        const [resolved, end] = this.#entity(s, i);
        value += s.slice(start, i) + resolved;
        i = end - 1;
        start = end;
      }
    }
    throw INCOMPLETE;
  }

  #endTag(s: string, at: number): number {
    const nameEnd = this.#name(s, at + 2);
    const end = this.#skipSpace(s, nameEnd);
    if (s.charCodeAt(end) !== GT) notPlain();
    if (this.#open[this.#open.length - 1] !== s.slice(at + 2, nameEnd)) notPlain();
    this.#closeElement();
    return end + 1;
  }

  #closeElement(): void {
    this.#open.pop();
    this.#events.close();
  }

  /** `<!--…-->` or `<![CDATA[…]]>`; anything else after `<!` (a DOCTYPE) is left to saxes. */
  #special(s: string, at: number): number {
    if (s.length - at < 9) throw INCOMPLETE;
    if (s.startsWith('<!--', at)) {
      const dashes = s.indexOf('--', at + 4);
      if (dashes < 0 || dashes + 2 >= s.length) throw INCOMPLETE;
      if (s.charCodeAt(dashes + 2) !== GT) notPlain();
      checkChars(s, at + 4, dashes);
      if (this.#open.length > 0) this.#events.otherNode(s.slice(at + 4, dashes));
      return dashes + 3;
    }
    if (s.startsWith('<![CDATA[', at)) {
      if (this.#open.length === 0) notPlain();
      const end = s.indexOf(']]>', at + 9);
      if (end < 0) throw INCOMPLETE;
      checkChars(s, at + 9, end);
      this.#events.text(s.slice(at + 9, end));
      return end + 3;
    }
    return notPlain();
  }
}
