/**
 * The one facts upload every scenario sends: Foreman's `{"name", "facts"}` shape with a few
 * facts a real host reports, padded with one filler fact to a fixed JSON size so that the raw,
 * noop and hub scenarios move the same bytes.
 */
import { createEvent } from '../../contracts/events/create-event.ts';
import type { FactsUpload } from '../../contracts/events/facts-uploaded.ts';
import { encodeEvent } from '../../hub/bus/event-codec.ts';
import type { OutgoingMessage } from '../../hub/bus/transport.ts';
import { createTopology } from '../../contracts/topology.ts';

export const PAYLOAD_BYTES = 1024;

export function buildFactsUpload(index = 1, targetBytes = PAYLOAD_BYTES): { readonly upload: FactsUpload; readonly json: string } {
  const name = `bench-${index}.example.com`;
  const facts: Record<string, unknown> = {
    _type: 'foreman_facts',
    _timestamp: '2025-01-01 00:00:00 +0000',
    fqdn: name,
    hostname: `bench-${index}`,
    domain: 'example.com',
    operatingsystem: 'RedHat',
    operatingsystemrelease: '9.4',
    architecture: 'x86_64',
    ipaddress: '192.0.2.10',
    macaddress: '52:54:00:12:34:56',
    processorcount: 2,
    memorysize_mb: 3820,
    virtual: 'kvm',
    bench_padding: '',
  };
  const base = JSON.stringify({ name, facts }).length;
  facts.bench_padding = 'x'.repeat(Math.max(0, targetBytes - base));
  const upload: FactsUpload = { name, facts };
  return { upload, json: JSON.stringify(upload) };
}

/**
 * What the hub would publish for that upload (envelope in the body, CloudEvents properties), so
 * that the raw scenario puts the same message size and properties on the broker as the hub does.
 */
export function buildHubMessage(prefix: string, upload: FactsUpload): OutgoingMessage {
  const envelope = createEvent('facts.uploaded.v1', upload, { source: 'proxyhub/ingress/bench', subject: upload.name });
  return encodeEvent(envelope, createTopology(prefix).eventsExchange);
}
