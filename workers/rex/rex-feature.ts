/**
 * The rex worker: BullMQ workers for host jobs, batches and callbacks; the SSH key pair and
 * known_hosts; in pull-mqtt mode one MQTT connection; and the answerer of the ingress's
 * host-facing requests. `start`/`close` in that order and its reverse.
 */
import { join } from 'node:path';
import type { Topology } from '../../contracts/topology.ts';
import type { RexMode, RexResult } from '../../contracts/rex/job.ts';
import type { Logger } from '../../hub/log/logger.ts';
import { RexJobStore } from '../../hub/jobs/rex-job-store.ts';
import { createRexWorkers } from '../../hub/jobs/rex-workers.ts';
import type { Consumer, Publisher } from '../../hub/bus/transport.ts';
import { HOST_REPLY_TYPE } from '../../contracts/rex/host-rpc.ts';
import type { ForemanClient } from '../runtime/foreman-client.ts';
import { createRpcServer } from '../runtime/rpc-server.ts';
import { createHostRequestAnswerer } from './host-requests.ts';
import { createCallbackSender, createLifecycle } from './job-lifecycle.ts';
import { KnownHosts } from './known-hosts.ts';
import { createMqttNotifier, type MqttTlsFiles, type PullNotifier } from './mqtt-notifier.ts';
import { runPullJob, type PullSettings } from './pull-job.ts';
import { runSshJob, WORKER_DIED_REASON } from './ssh-job.ts';
import { loadOrCreateKeyPair } from './ssh-keys.ts';
import type { Tracing } from '../../hub/telemetry/trace-context.ts';
import type { RedisTarget } from '../../hub/jobs/redis-target.ts';

export interface RexFeatureOptions {
  /** Each host request a hop of the pull client's trace. @defaultValue none */
  readonly tracing?: Tracing | undefined;
  readonly topology: Topology;
  readonly redis: RedisTarget;
  readonly mqttUrl: string;
  readonly mqttTls?: MqttTlsFiles;
  readonly publisher: Publisher;
  readonly consumer: Consumer;
  readonly foreman: ForemanClient;
  readonly logger: Logger;
  readonly instanceId: string;
  readonly dataDir: string;
  readonly sshKey: string | undefined;
  readonly rpcPrefetch: number;
  readonly shutdownGraceMs: number;
  readonly settings: {
    readonly mode: RexMode;
    readonly concurrency: number;
    readonly globalConcurrency: number;
    readonly lockMs: number;
    readonly keepFinishedSeconds: number;
    readonly maxOutputBytes: number;
    readonly callbackBackoffMaxMs: number;
    readonly connectTimeoutMs: number;
    readonly sshCaPublicKey: string | undefined;
    readonly pull: PullSettings;
  };
}

export interface RexFeature {
  start(): Promise<void>;
  close(): Promise<void>;
  /** For readiness: the job store's Redis connection as ioredis sees it (`ready` when usable). */
  readonly redisStatus: string;
}

const unusedNotifier: PullNotifier = {
  start: async () => undefined,
  notify: async () => {
    throw new Error('pull-mqtt notification in ssh mode');
  },
  close: async () => undefined,
};

export function createRexFeature(options: RexFeatureOptions): RexFeature {
  const { settings, logger } = options;
  const store = new RexJobStore({ redis: options.redis, topology: options.topology, logger, keepFinishedSeconds: settings.keepFinishedSeconds, maxOutputBytes: settings.maxOutputBytes });
  const lifecycle = createLifecycle({ store, publisher: options.publisher, eventsExchange: options.topology.eventsExchange, source: `proxyhub/worker/rex/${options.instanceId}`, logger });
  const notifier = settings.mode === 'pull-mqtt' ? createMqttNotifier({ url: options.mqttUrl, ...(options.mqttTls === undefined ? {} : { tls: options.mqttTls }), clientId: `proxyhub-${options.topology.prefix}-${options.instanceId}`.slice(0, 128), logger }) : unusedNotifier;
  const knownHosts = new KnownHosts(join(options.dataDir, 'ssh', 'known_hosts'));
  const closers: Array<() => Promise<void>> = [];

  return {
    get redisStatus() {
      return store.redisStatus;
    },
    async start() {
      const keys = await loadOrCreateKeyPair({ keyPath: options.sshKey, dataDir: options.dataDir });
      await store.start();
      closers.push(() => store.close());
      await store.setGlobalConcurrency(settings.globalConcurrency);
      await notifier.start();
      closers.push(() => notifier.close());
      const runningHere = new Map<string, Promise<RexResult>>();
      const workers = createRexWorkers(
        store,
        { redis: options.redis, logger, concurrency: settings.concurrency, lockDurationMs: settings.lockMs, callbackBackoffMaxMs: settings.callbackBackoffMaxMs, shutdownGraceMs: options.shutdownGraceMs },
        {
          // The mode is the proxy's, as `:mode:` in remote_execution_ssh.yml.
          process: (job) => (settings.mode === 'ssh' ? runSshJob(job, { store, lifecycle, keys, knownHosts, connectTimeoutMs: settings.connectTimeoutMs, runningHere }) : runPullJob(job, { store, lifecycle, notifier, settings: settings.pull })),
          sendCallback: createCallbackSender(store, options.foreman, logger),
          onFailed: async (_planId, data, reason) => {
            const view = await store.job(data.planId);
            if (view?.progress?.state === 'finished') return;
            await lifecycle.finish(data, view?.progress, { exitStatus: 'EXCEPTION', code: 'PROXYHUB_REX_WORKER_DIED', reason: `${WORKER_DIED_REASON} (${reason})` });
          },
        },
      );
      await workers.start();
      closers.push(() => workers.close());
      const hostRequests = createRpcServer({
        consumer: options.consumer,
        publisher: options.publisher,
        queue: options.topology.rpcQueue('rex'),
        prefetch: options.rpcPrefetch,
        logger,
        replyType: HOST_REPLY_TYPE,
        tracing: options.tracing,
        answer: createHostRequestAnswerer({ store, lifecycle, publicKey: keys.publicKey, caPublicKeyPath: settings.sshCaPublicKey, logger }),
      });
      await hostRequests.start();
      closers.push(() => hostRequests.close());
      logger.info({ mode: settings.mode, key: keys.path, concurrency: settings.concurrency }, 'rex worker started');
    },
    async close() {
      for (const close of closers.reverse()) await close().catch((error: unknown) => logger.warn({ err: String(error) }, 'rex close step failed'));
    },
  };
}
