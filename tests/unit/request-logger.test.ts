import { Writable } from 'node:stream';
import Fastify, { LogController } from 'fastify';
import pino from 'pino';
import t from 'tap';
import { deferredRequestLogger } from '../../hub/http/request-logger.ts';

function capture(): { logger: pino.Logger; lines: () => Array<Record<string, unknown>> } {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { logger: pino({ level: 'info' }, sink), lines: () => chunks.join('').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>) };
}

t.test('the child is made on the first line, with the request bindings, and writes like a pino child', async (t) => {
  const { logger, lines } = capture();
  let children = 0;
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called below with its own `this`
  const child = logger.child;
  // A pino child inherits from its parent, so the counter must keep `this` for grandchildren.
  logger.child = function (this: pino.Logger, ...args: Parameters<typeof child>) {
    children += 1;
    return child.apply(this, args);
  } as typeof logger.child;
  const deferred = deferredRequestLogger(logger, { reqId: 'req-7' }, {});
  t.equal(children, 0, 'no child logger until the request logs');
  t.equal(deferred.level, 'info', 'the level is the parent\'s until then');
  deferred.debug('below the level');
  t.equal(children, 0, 'a line below the level makes no child either');
  deferred.warn({ inflight: 3 }, 'slow upstream');
  deferred.error('second line');
  t.equal(children, 1, 'one child, made once, for every later line');
  const written = lines();
  t.equal(written.length, 2, 'the debug line is filtered by the level, as a pino child would');
  t.match(written[0], { reqId: 'req-7', inflight: 3, msg: 'slow upstream', level: 40 });
  t.match(written[1], { reqId: 'req-7', msg: 'second line', level: 50 });
  deferred.child({ step: 'parse' }).info('nested');
  t.match(lines()[2], { reqId: 'req-7', step: 'parse', msg: 'nested' }, 'a child of it keeps both bindings');
});

t.test('a route\'s own level (an option of the child) decides, before and after the child is made', async (t) => {
  const { logger, lines } = capture();
  const deferred = deferredRequestLogger(logger, { reqId: 'req-9' }, { level: 'debug' });
  t.equal(deferred.level, 'debug');
  deferred.debug('route debugging');
  t.match(lines()[0], { reqId: 'req-9', msg: 'route debugging', level: 20 });
});

t.test('fastify accepts it as its child logger factory, and an error a route logs names its request', async (t) => {
  const { logger, lines } = capture();
  const app = Fastify({ loggerInstance: logger, childLoggerFactory: deferredRequestLogger, logController: new LogController({ disableRequestLogging: true }) });
  app.get('/logs', (request) => {
    request.log.warn('from the route');
    return { ok: true };
  });
  app.get('/quiet', () => ({ ok: true }));
  t.teardown(() => app.close());
  t.equal((await app.inject('/quiet')).statusCode, 200);
  t.equal(lines().length, 0, 'a request that does not log writes nothing');
  t.equal((await app.inject('/logs')).statusCode, 200);
  const [line] = lines();
  t.match(line, { msg: 'from the route', reqId: /^req-/ });
});
