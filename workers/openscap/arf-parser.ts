// Streaming ARF → Foreman JSON: the body is hashed, bunzipped and SAX-parsed
// chunk by chunk; neither the compressed nor the decompressed document is
// ever held whole, and no DOM is built (smart_proxy_openscap forks a child
// per upload precisely because its DOM approach balloons memory).
import { createHash } from 'node:crypto';
import { StringDecoder } from 'node:string_decoder';
import { SaxesParser } from 'saxes';
import type { ArfContext, ArfReport } from './arf-types.ts';
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
  const collector = new ArfCollector();
  const xml = createXmlParser(collector);
  const decoder = new StringDecoder('utf8');
  let xmlBytes = 0;
  const writeXml = (text: string): void => {
    try {
      xml.write(text);
    } catch (err) {
      throw arfUnparseable('ARF body is not well-formed XML', err);
    }
  };
  // Decoded bytes arrive in ≤64 KiB slices, synchronously from push()/end(),
  // so the XML parser keeps pace with the input without extra buffering.
  const bunzip = new Bunzip2Decoder((bytes) => {
    xmlBytes += bytes.length;
    if (xmlBytes > maxXmlBytes) throw arfUnparseable(`ARF report decompresses to more than ${Math.round(maxXmlBytes / 1024 / 1024)} MiB of XML`);
    writeXml(decoder.write(bytes));
  });
  let failure: ProxyhubError | null = null;
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
    // After a failure keep draining instead of abandoning the stream: for an
    // HTTP request body, destroying it mid-upload would reset the connection
    // before the caller can answer the client.
    if (failure === null) attempt(() => bunzip.push(bytes));
  }
  if (failure === null) attempt(() => bunzip.end());
  if (failure === null && xmlBytes === 0) failure = arfUnparseable('ARF body decompresses to nothing');
  if (failure === null) {
    attempt(() => {
      writeXml(decoder.end());
      try {
        xml.close();
      } catch (err) {
        throw arfUnparseable('ARF body is not well-formed XML', err);
      }
    });
  }
  if (failure !== null) throw failure;
  if (!collector.sawTestResult) {
    throw arfUnparseable('XML has no XCCDF TestResult: not an ARF report');
  }
  return buildReport(collector, hash.digest('hex'), context, limits.maxReportBytes);
}

/** Namespace processing is off: names are matched by local part (as
 * openscap_parser does after remove_namespaces!), which also tolerates
 * undeclared prefixes the way libxml2 does. Well-formedness is still checked. */
function createXmlParser(collector: ArfCollector): SaxesParser<{ xmlns: false }> {
  const xml = new SaxesParser<{ xmlns: false }>({ xmlns: false });
  xml.on('opentag', (tag) => collector.open(tag.name, tag.attributes));
  xml.on('closetag', () => collector.close());
  xml.on('text', (text) => collector.text(text));
  xml.on('cdata', (text) => collector.text(text));
  xml.on('comment', (text) => collector.otherNode(text));
  xml.on('processinginstruction', (pi) => collector.otherNode(pi.body));
  return xml;
}
