// Streaming ARF → Foreman JSON: the body is hashed, bunzipped and parsed
// chunk by chunk; the decompressed document is never held whole, and no DOM
// is built (smart_proxy_openscap forks a child per upload precisely because
// its DOM approach balloons memory). The XML goes through a fast scanner of
// the plain XML oscap writes (arf-xml-scanner.ts); a document outside it is
// parsed again, from its compressed bytes, by saxes, which has the last word.
import { createHash } from 'node:crypto';
import { StringDecoder } from 'node:string_decoder';
import { SaxesParser } from 'saxes';
import type { ArfContext, ArfReport, XmlEvents } from './arf-types.ts';
import { FastXmlScanner } from './arf-xml-scanner.ts';
import { ArfCollector } from './arf-collector.ts';
import { isProxyhubError, type ProxyhubError } from '../../contracts/errors.ts';
import { arfUnparseable } from './arf-errors.ts';
import { buildReport } from './arf-report.ts';
import { Bunzip2Decoder } from '../../hub/codec/bzip2/decoder.ts';

export { MAX_ARF_REPORT_BYTES } from './arf-report.ts';
export type { ArfContext, ArfFix, ArfLog, ArfMetrics, ArfReference, ArfReport } from './arf-types.ts';

type Body = NodeJS.ReadableStream | AsyncIterable<Buffer>;

/**
 * Real ARF reports decompress to a few MB (a full RHEL STIG data stream with results, tens of
 * MB). Past this a body is a decompression bomb: refused before the XML parser's text buffers
 * can take the worker's memory.
 */
export const MAX_ARF_XML_BYTES = 256 * 1024 * 1024;

export interface ArfLimits {
  /** Decompressed XML, counted as it is decoded. @defaultValue MAX_ARF_XML_BYTES (256 MiB) */
  readonly maxXmlBytes?: number;
  /** JSON of the report built for Foreman, counted as it is built. @defaultValue MAX_ARF_REPORT_BYTES (64 MiB) */
  readonly maxReportBytes?: number;
}

export async function parseArf(bzip2Body: Body, context: ArfContext, limits: ArfLimits = {}): Promise<ArfReport> {
  const maxXmlBytes = limits.maxXmlBytes ?? MAX_ARF_XML_BYTES;
  const hash = createHash('sha256');
  // Kept for a second pass with saxes, should the fast scanner find the XML outside its subset:
  // the compressed body only (the worker holds it anyway, as the delivery), never the XML.
  const received: Buffer[] = [];
  let pass = createPass(maxXmlBytes, true);
  // Set inside attempt()'s closures, which TypeScript's narrowing does not follow.
  let failure = null as ProxyhubError | null;
  const attempt = (step: () => void): void => {
    try {
      step();
    } catch (err) {
      // The decoder (hub/codec/bzip2) and the XML side fail with their own catalog errors, whose
      // messages say which; anything else is about the bzip2 data.
      failure = isProxyhubError(err) ? err : arfUnparseable('ARF body is not valid bzip2 data', err);
    }
  };

  for await (const chunk of bzip2Body as AsyncIterable<Buffer | string>) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    hash.update(bytes);
    received.push(bytes);
    // After a failure keep draining instead of abandoning the stream: for an
    // HTTP request body, destroying it mid-upload would reset the connection
    // before the caller can answer the client.
    if (failure === null) attempt(() => pass.push(bytes));
  }
  if (failure === null) attempt(() => pass.end());
  if (failure === null && pass.needsSaxes()) {
    pass = createPass(maxXmlBytes, false);
    for (const bytes of received) if (failure === null) attempt(() => pass.push(bytes));
    if (failure === null) attempt(() => pass.end());
  }
  if (failure !== null) throw failure;
  if (!pass.collector.sawTestResult) {
    throw arfUnparseable('XML has no XCCDF TestResult: not an ARF report');
  }
  return buildReport(pass.collector, hash.digest('hex'), context, limits.maxReportBytes);
}

interface Pass {
  readonly collector: ArfCollector;
  push(bytes: Buffer): void;
  /** Throws the first failure: bzip2, the XML bound, an empty body, XML saxes refuses. */
  end(): void;
  /** The fast scanner gave up on this document (it stopped there): run it again with saxes. */
  needsSaxes(): boolean;
}

/**
 * One decompression and parse of the body, into a fresh collector: through the fast scanner
 * (which stops at the first thing outside its subset, errors included) or through saxes.
 */
function createPass(maxXmlBytes: number, fast: boolean): Pass {
  const collector = new ArfCollector();
  const xml: { write(text: string): void; close(): void } = fast ? new FastXmlScanner(collector) : createXmlParser(collector);
  const decoder = new StringDecoder('utf8');
  let gaveUp = false;
  let xmlBytes = 0;
  const writeXml = (write: () => void): void => {
    if (gaveUp) return;
    try {
      write();
    } catch (err) {
      // Whatever the scanner trips on, saxes decides, from the start (its messages are the errors).
      if (fast) gaveUp = true;
      else throw arfUnparseable('ARF body is not well-formed XML', err);
    }
  };
  // Decoded bytes arrive in ≤64 KiB slices, synchronously from push()/end(),
  // so the XML parser keeps pace with the input without extra buffering.
  const bunzip = new Bunzip2Decoder((bytes) => {
    xmlBytes += bytes.length;
    if (xmlBytes > maxXmlBytes) throw arfUnparseable(`ARF report decompresses to more than ${Math.round(maxXmlBytes / 1024 / 1024)} MiB of XML`);
    writeXml(() => xml.write(decoder.write(bytes)));
  });
  return {
    collector,
    push: (bytes) => {
      if (!gaveUp) bunzip.push(bytes);
    },
    end: () => {
      if (gaveUp) return;
      bunzip.end();
      if (xmlBytes === 0) throw arfUnparseable('ARF body decompresses to nothing');
      writeXml(() => {
        xml.write(decoder.end());
        xml.close();
      });
    },
    needsSaxes: () => gaveUp,
  };
}

/** Namespace processing is off: names are matched by local part (as
 * openscap_parser does after remove_namespaces!), which also tolerates
 * undeclared prefixes the way libxml2 does. Well-formedness is still checked. */
function createXmlParser(collector: XmlEvents): SaxesParser<{ xmlns: false }> {
  const xml = new SaxesParser<{ xmlns: false }>({ xmlns: false });
  xml.on('opentag', (tag) => collector.open(tag.name, tag.attributes));
  xml.on('closetag', () => collector.close());
  xml.on('text', (text) => collector.text(text));
  xml.on('cdata', (text) => collector.text(text));
  xml.on('comment', (text) => collector.otherNode(text));
  xml.on('processinginstruction', (pi) => collector.otherNode(pi.body));
  return xml;
}
