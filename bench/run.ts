/**
 * `npm run bench -- <benchmark> [options]` (scripts/run.mjs has made sure RabbitMQ and Redis run).
 *
 *   ingress   hub ingress vs raw broker publishing and a no-op HTTP server
 *
 * Options: --duration <s> (10), --warmup <s> (3), --connections <n> (50), --window <n> (1000),
 * --transport amqp091 (the only one so far; a column in the results so AMQP 1.0 can join).
 * The broker is PROXYHUB_AMQP_URL, as for the hub itself.
 */
import { parseArgs } from 'node:util';
import { runIngressBench } from './ingress.ts';
import { transports, type BenchOptions, type Transport } from './lib/types.ts';

const USAGE = 'usage: npm run bench -- ingress [--duration 10] [--warmup 3] [--connections 50] [--window 1000] [--transport amqp091]';

function positiveNumber(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0) throw new Error(`--${name} must be a positive number, not "${value}"`);
  return parsed;
}

function parseTransport(value: string | undefined): Transport {
  const transport = value ?? 'amqp091';
  if (!(transports as readonly string[]).includes(transport)) throw new Error(`--transport must be one of ${transports.join(', ')}, not "${transport}"`);
  return transport as Transport;
}

function parseOptions(args: readonly string[]): { readonly benchmark: string | undefined; readonly options: BenchOptions } {
  const { values, positionals } = parseArgs({
    args: [...args],
    allowPositionals: true,
    options: {
      duration: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      window: { type: 'string' },
      transport: { type: 'string' },
    },
  });
  return {
    benchmark: positionals[0],
    options: {
      transport: parseTransport(values.transport),
      durationSec: positiveNumber('duration', values.duration, 10),
      warmupSec: positiveNumber('warmup', values.warmup, 3),
      connections: Math.round(positiveNumber('connections', values.connections, 50)),
      rawWindow: Math.round(positiveNumber('window', values.window, 1000)),
      // The one setting shared with the hub; the bench passes it on to the hub it starts.
      amqpUrl: process.env.PROXYHUB_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
    },
  };
}

async function main(args: readonly string[]): Promise<number> {
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions(args);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  switch (parsed.benchmark) {
    case 'ingress':
      try {
        await runIngressBench(parsed.options);
        return 0;
      } catch (error) {
        // One readable line (plus the hub's output, when it was the hub that failed).
        process.stderr.write(`bench ingress failed: ${error instanceof Error ? error.message : String(error)}\n`);
        return 1;
      }
    default:
      process.stderr.write(`${parsed.benchmark === undefined ? 'no benchmark given' : `unknown benchmark "${parsed.benchmark}"`}\n${USAGE}\n`);
      return 2;
  }
}

process.exitCode = await main(process.argv.slice(2));
