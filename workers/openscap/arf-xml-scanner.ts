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
const CLOSE_BRACKET = 0x5d;

/** A token longer than this still open at a chunk's end is left to saxes rather than carried. */
const MAX_CARRY = 1024 * 1024;
const DECLARATION = /^<\?xml version=(["'])1\.0\1(?: encoding=(["'])(?:UTF-8|utf-8)\2)?(?: standalone=(["'])(?:yes|no)\3)? ?\?>/;
const PREDEFINED: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

// The hot paths are V8 regular expressions (native code) run at a position (sticky or with
// lastIndex) rather than character loops in JavaScript, which cost more than saxes itself.
/**
 * Ordinary character data, up to markup, an entity, a possible `]]>`, or a character to check:
 * sticky and run with test(), it moves lastIndex there without building a match.
 */
// eslint-disable-next-line no-control-regex -- control characters are what it stops at
const ORDINARY_TEXT = /[^<&\]>\x00-\x08\x0b-\x1f\ud800-\udfff\ufffe\uffff]*/y;
/** A plain attribute (no entity, tab or newline in the value): the common case, taken whole. */
// eslint-disable-next-line no-control-regex -- a control character sends the value to the careful path
const PLAIN_ATTRIBUTE = /[ \t\n]+([A-Za-z_:][A-Za-z0-9._:-]*)[ \t\n]*=[ \t\n]*(?:"([^"<&\t\n\x00-\x1f\ud800-\udfff\ufffe\uffff]*)"|'([^'<&\t\n\x00-\x1f\ud800-\udfff\ufffe\uffff]*)')/y;
/** Any other attribute up to its opening quote; the value is then read by #attributeValue. */
const ATTRIBUTE_START = /[ \t\n]+([A-Za-z_:][A-Za-z0-9._:-]*)[ \t\n]*=[ \t\n]*(["'])/y;
/**
 * The rest of a start tag whose attributes the collector will not read, when they are all plain:
 * checked as strictly as PLAIN_ATTRIBUTE, never made into strings (duplicates are looked for in
 * place, by #hasDuplicateName).
 */
// eslint-disable-next-line no-control-regex -- a control character sends the tag to the careful path
const UNREAD_TAG_END = /(?:[ \t\n]+[A-Za-z_:][A-Za-z0-9._:-]*[ \t\n]*=[ \t\n]*(?:"[^"<&\t\n\x00-\x1f\ud800-\udfff\ufffe\uffff]*"|'[^'<&\t\n\x00-\x1f\ud800-\udfff\ufffe\uffff]*'))*[ \t\n]*\/?>/y;
/** What the collector gets for attributes it said it would not read. */
const UNREAD: Record<string, string> = Object.freeze({});

const isSpace = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x09;
/** ASCII name characters only: anything else ends the name, and is then refused where it stands. */
const isNameStart = (c: number): boolean => (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || c === 0x3a;
/** ASCII name characters, by code: one load instead of six comparisons in the name loops. */
const NAME_CHARS = (() => {
  const table = new Uint8Array(128);
  for (let c = 0; c < 128; c += 1) table[c] = isNameStart(c) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e ? 1 : 0;
  return table;
})();
/** NaN (past the end) and anything non-ASCII is not a name character here. */
const isNameChar = (c: number): boolean => c < 128 && NAME_CHARS[c] === 1;
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

/** Whether `s` holds `name` at `at`: a loop over a short name costs less than startsWith() here. */
function sameAt(s: string, at: number, name: string): boolean {
  if (at + name.length > s.length) return false;
  for (let k = 0; k < name.length; k += 1) if (s.charCodeAt(at + k) !== name.charCodeAt(k)) return false;
  return true;
}

/**
 * Whether two attributes in `s[from, end)` have the same name. Only for attributes UNREAD_TAG_END
 * has matched: names, `=` and quoted values, so each value ends at the next of its quote. With
 * fewer than two `=` there is nothing to compare (a value may hold `=`: then it just looks).
 */
function hasDuplicateName(s: string, from: number, end: number): boolean {
  const firstEquals = s.indexOf('=', from);
  if (firstEquals < 0 || firstEquals >= end) return false;
  const secondEquals = s.indexOf('=', firstEquals + 1);
  if (secondEquals < 0 || secondEquals >= end) return false;
  /** Start and length of each name so far. */
  const names: number[] = [];
  let i = from;
  for (;;) {
    while (isSpace(s.charCodeAt(i))) i += 1;
    // The tag's `/>` or `>`: every name has been seen.
    if (!isNameStart(s.charCodeAt(i))) return false;
    const start = i;
    while (isNameChar(s.charCodeAt(i))) i += 1;
    const length = i - start;
    for (let k = 0; k < names.length; k += 2) {
      if (names[k + 1] === length && sameRange(s, names[k] as number, start, length)) return true;
    }
    names.push(start, length);
    // Past the white space and `=` to the opening quote, then past the closing one.
    while (s.charCodeAt(i) !== 0x22 && s.charCodeAt(i) !== 0x27) i += 1;
    i = s.indexOf(s.charCodeAt(i) === 0x22 ? '"' : "'", i + 1) + 1;
  }
}

function sameRange(s: string, a: number, b: number, length: number): boolean {
  for (let k = 0; k < length; k += 1) if (s.charCodeAt(a + k) !== s.charCodeAt(b + k)) return false;
  return true;
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
    if (this.#open.length === 0) return this.#outsideRoot(s, from);
    // Nothing changes what the collector wants until the next markup: text it would drop (the
    // indentation between most elements) is checked but never made into strings.
    const keep = this.#events.wantsText?.() ?? true;
    let start = from;
    let i = from;
    for (;;) {
      ORDINARY_TEXT.lastIndex = i;
      ORDINARY_TEXT.test(s);
      i = ORDINARY_TEXT.lastIndex;
      if (i === s.length) {
        if (keep) this.#text += s.slice(start, s.length);
        return s.length;
      }
      const c = s.charCodeAt(i);
      if (c === LT) break;
      if (c === GT) {
        i += 1;
      } else if (c === CLOSE_BRACKET) {
        // A run of `]`: before `>` it would be the forbidden `]]>`; cut by the chunk's end, it is read again.
        let end = i + 1;
        while (end < s.length && s.charCodeAt(end) === CLOSE_BRACKET) end += 1;
        if (end === s.length) {
          if (keep) this.#text += s.slice(start, i);
          this.#tokenStart = i;
          throw INCOMPLETE;
        }
        if (end - i >= 2 && s.charCodeAt(end) === GT) notPlain();
        i = end;
      } else if (c === AMP) {
        if (keep) this.#text += s.slice(start, i);
        this.#tokenStart = i;
        const [value, end] = this.#entity(s, i);
        if (keep) this.#text += value;
        i = end;
        start = end;
      } else if (c >= 0xd800 && c <= 0xdbff) {
        const next = s.charCodeAt(i + 1);
        if (!(next >= 0xdc00 && next <= 0xdfff)) notPlain();
        i += 2;
      } else notPlain();
    }
    if (keep) this.#text += s.slice(start, i);
    return i;
  }

  /** Before and after the root only white space may stand (saxes refuses anything else there). */
  #outsideRoot(s: string, from: number): number {
    let i = from;
    while (i < s.length && s.charCodeAt(i) !== LT) {
      if (!isSpace(s.charCodeAt(i))) notPlain();
      i += 1;
    }
    return i;
  }

  /** Ends the text run at a `<`: the collector hears it as one event, as saxes sends it. */
  #flushText(): void {
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

  #skipSpace(s: string, from: number): number {
    let i = from;
    while (i < s.length && isSpace(s.charCodeAt(i))) i += 1;
    if (i >= s.length) throw INCOMPLETE;
    return i;
  }

  #startTag(s: string, at: number): number {
    if (this.#open.length === 0 && this.#sawRoot) notPlain();
    // Names are short: a character loop costs less here than a call into a regular expression.
    if (!isNameStart(s.charCodeAt(at + 1))) return this.#tagFailed(s, at + 1);
    let i = at + 2;
    while (isNameChar(s.charCodeAt(i))) i += 1;
    const name = s.slice(at + 1, i);
    if (this.#events.wantsAttributes?.(name) === false) {
      UNREAD_TAG_END.lastIndex = i;
      if (UNREAD_TAG_END.test(s)) {
        const end = UNREAD_TAG_END.lastIndex;
        if (hasDuplicateName(s, i, end)) notPlain();
        this.#opened(name, UNREAD, s.charCodeAt(end - 2) === SLASH);
        return end;
      }
      // A cut tag or anything unusual: the careful path below decides.
    }
    // A plain object, not saxes's Object.create(null) (a slow dictionary from the start): the
    // collector reads own attributes only, and a name the prototype would catch is left to saxes.
    const attributes: Record<string, string> = {};
    for (;;) {
      let next = i;
      while (isSpace(s.charCodeAt(next))) next += 1;
      const c = s.charCodeAt(next);
      if (c === GT || (c === SLASH && s.charCodeAt(next + 1) === GT)) {
        this.#opened(name, attributes, c === SLASH);
        return next + (c === SLASH ? 2 : 1);
      }
      PLAIN_ATTRIBUTE.lastIndex = i;
      const plain = PLAIN_ATTRIBUTE.exec(s);
      let attribute: string;
      let value: string;
      if (plain !== null) {
        attribute = plain[1] as string;
        value = plain[2] ?? (plain[3] as string);
        i = PLAIN_ATTRIBUTE.lastIndex;
      } else {
        ATTRIBUTE_START.lastIndex = i;
        const opening = ATTRIBUTE_START.exec(s);
        if (opening === null) return this.#tagFailed(s, i);
        attribute = opening[1] as string;
        [value, i] = this.#attributeValue(s, ATTRIBUTE_START.lastIndex, (opening[2] as string).charCodeAt(0));
      }
      if (attribute === '__proto__' || Object.hasOwn(attributes, attribute)) notPlain();
      attributes[attribute] = value;
    }
  }

  #opened(name: string, attributes: Record<string, string>, selfClosing: boolean): void {
    this.#sawRoot = true;
    this.#events.open(name, attributes);
    this.#open.push(name);
    if (selfClosing) this.#closeElement();
  }

  /**
   * The tag does not read as the subset's: with no `>` after `at` it may just continue in the
   * next chunk (every tag ends in one); otherwise it is outside the subset, or not XML.
   */
  #tagFailed(s: string, at: number): never {
    if (s.indexOf('>', at) < 0) throw INCOMPLETE;
    return notPlain();
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
    const name = this.#open[this.#open.length - 1];
    const nameEnd = at + 2 + (name?.length ?? 0);
    if (name === undefined || !sameAt(s, at + 2, name) || nameEnd >= s.length || isNameChar(s.charCodeAt(nameEnd))) {
      // Cut by the chunk's end, or not the element that is open (saxes says which).
      if (s.indexOf('>', at) < 0) throw INCOMPLETE;
      return notPlain();
    }
    const end = this.#skipSpace(s, nameEnd);
    if (s.charCodeAt(end) !== GT) notPlain();
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
