import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { resolveConfig, resolveWorkerDefaults, WORKER_DEFAULTS, type AtomicQueuesConfig } from '../../src/config/index.js';
import { AtomicQueuesConfigError, AtomicQueuesValidationError } from '../../src/errors.js';
import { argumentRules } from '../../src/validation.js';

const base: AtomicQueuesConfig = { redis: { url: 'redis://127.0.0.1:6379' } };
const withConfig = (patch: Record<string, unknown>) => ({ ...base, ...patch }) as AtomicQueuesConfig;

function configError(input: unknown): AtomicQueuesConfigError {
  try {
    resolveConfig(input as AtomicQueuesConfig);
  } catch (err) {
    expect(err).toBeInstanceOf(AtomicQueuesConfigError);
    return err as AtomicQueuesConfigError;
  }
  throw new Error('resolveConfig accepted an invalid config');
}

describe('resolveConfig defaults', () => {
  it('applies every documented default', () => {
    const c = resolveConfig(base);
    expect(c.workerDefaults).toEqual({
      concurrency: 1,
      stalledInterval: 1000,
      lockDuration: 30000,
      maxStalledCount: Number.MAX_SAFE_INTEGER,
      heartbeatTTL: 3,
      heartbeatInterval: 1000,
    });
    expect(c.enableCronManager).toBe(false);
    expect(c.cronInterval).toBe(5000);
    expect(c.keyPrefix).toBe('aq');
    expect(c.shutdownTimeoutMs).toBe(30000);
    expect(c.maxJobDataBytes).toBe(1024 * 1024);
    expect([c.redis.connectTimeoutMs, c.redis.commandTimeoutMs]).toEqual([5000, 5000]);
    expect(c.indexSweep).toEqual({ interval: 30000, batchSize: 500, entityRetentionMs: 3_600_000, missingJobGraceMs: 60000 });
    expect(c.queueDefaults.defaultJobOptions).toEqual({});
    expect(c.queueDefaults.eventsMaxLen).toBe(100);
    expect(resolveConfig({ ...base, queueDefaults: { eventsMaxLen: 0 } }).queueDefaults.eventsMaxLen).toBe(0);
    expect(c.nodeId).toMatch(new RegExp(`-${process.pid}-[0-9a-f]{6}$`));
    expect(resolveConfig(base).nodeId).not.toBe(c.nodeId);
  });

  it('keeps given values and merges worker defaults field by field', () => {
    const c = resolveConfig({
      redis: { host: 'h', port: 7000, password: 'p', db: 2, maxRetriesPerRequest: null, connectTimeoutMs: 800, commandTimeoutMs: 1200 },
      workerDefaults: { heartbeatTTL: 1, heartbeatInterval: 200 },
      queueDefaults: { defaultJobOptions: { attempts: 3, backoff: { type: 'exponential', delay: 10 }, removeOnComplete: 100, removeOnFail: true, priority: 5 } },
      enableCronManager: true,
      cronInterval: 250,
      keyPrefix: 'my-app',
      nodeId: 'node-a',
      shutdownTimeoutMs: 0,
      maxJobDataBytes: 4096,
      indexSweep: { interval: 0, entityRetentionMs: 0 },
    });
    expect(c.indexSweep).toEqual({ interval: 0, batchSize: 500, entityRetentionMs: 0, missingJobGraceMs: 60000 });
    expect(c.workerDefaults).toEqual({ ...WORKER_DEFAULTS, heartbeatTTL: 1, heartbeatInterval: 200 });
    expect(c.redis).toEqual({ host: 'h', port: 7000, password: 'p', db: 2, maxRetriesPerRequest: null, connectTimeoutMs: 800, commandTimeoutMs: 1200 });
    expect(c.maxJobDataBytes).toBe(4096);
    expect(c.queueDefaults.defaultJobOptions.backoff).toEqual({ type: 'exponential', delay: 10 });
    expect([c.enableCronManager, c.cronInterval, c.keyPrefix, c.nodeId, c.shutdownTimeoutMs]).toEqual([true, 250, 'my-app', 'node-a', 0]);
    expect(Object.isFrozen(c) && Object.isFrozen(c.workerDefaults)).toBe(true);
  });

  it('accepts an existing ioredis connection without connecting or taking it over', () => {
    const connection = new Redis({ lazyConnect: true });
    const c = resolveConfig({ redis: { connection } });
    expect(c.redis.connection).toBe(connection);
    expect(connection.status).toBe('wait');
  });
});

describe('resolveConfig rejects invalid config naming the field and the accepted values', () => {
  const cases: Array<[string, unknown, string, RegExp]> = [
    ['missing config', undefined, '(config)', /must be an object/],
    ['no redis', {}, 'redis', /url.*host.*connection/],
    ['empty redis', { redis: {} }, 'redis', /one of url, host, port or connection/],
    ['unknown top-level option', withConfig({ keyprefix: 'x' }), 'keyprefix', /accepted: redis, workerDefaults/],
    ['unknown redis option', { redis: { url: 'redis://x', ssl: true } }, 'redis.ssl', /accepted: host, port/],
    ['bad url scheme', { redis: { url: 'http://x' } }, 'redis.url', /'redis:\/\/' or 'rediss:\/\/'/],
    ['port out of range', { redis: { port: 70000 } }, 'redis.port', /\[1, 65535\]/],
    ['non-integer port', { redis: { port: 63.5 } }, 'redis.port', /integer/],
    ['db negative', { redis: { host: 'h', db: -1 } }, 'redis.db', /\[0, 9007199254740991\]/],
    ['maxRetriesPerRequest negative', { redis: { host: 'h', maxRetriesPerRequest: -1 } }, 'redis.maxRetriesPerRequest', /integer/],
    ['connection not ioredis', { redis: { connection: {} } }, 'redis.connection', /ioredis/],
    ['connection and url', { redis: { connection: new Redis({ lazyConnect: true }), url: 'redis://x' } }, 'redis', /either connection or url/],
    ['zero TTL', withConfig({ workerDefaults: { heartbeatTTL: 0 } }), 'workerDefaults.heartbeatTTL', /> 0/],
    ['negative TTL', withConfig({ workerDefaults: { heartbeatTTL: -3 } }), 'workerDefaults.heartbeatTTL', /> 0/],
    ['NaN TTL', withConfig({ workerDefaults: { heartbeatTTL: Number.NaN } }), 'workerDefaults.heartbeatTTL', /finite/],
    ['TTL below 1 ms', withConfig({ workerDefaults: { heartbeatTTL: 0.0005 } }), 'workerDefaults.heartbeatTTL', /whole number of milliseconds/],
    ['interval equal to TTL', withConfig({ workerDefaults: { heartbeatTTL: 1, heartbeatInterval: 1000 } }), 'workerDefaults.heartbeatInterval', /< heartbeatTTL \* 1000 \(= 1000 ms\)/],
    ['interval above default TTL', withConfig({ workerDefaults: { heartbeatInterval: 5000 } }), 'workerDefaults.heartbeatInterval', /= 3000 ms/],
    ['fractional interval', withConfig({ workerDefaults: { heartbeatInterval: 10.5 } }), 'workerDefaults.heartbeatInterval', /integer/],
    ['zero concurrency', withConfig({ workerDefaults: { concurrency: 0 } }), 'workerDefaults.concurrency', /integer in \[1,/],
    ['fractional lockDuration', withConfig({ workerDefaults: { lockDuration: 1.5 } }), 'workerDefaults.lockDuration', /integer/],
    ['negative maxStalledCount', withConfig({ workerDefaults: { maxStalledCount: -1 } }), 'workerDefaults.maxStalledCount', /\[0,/],
    ['string stalledInterval', withConfig({ workerDefaults: { stalledInterval: '1000' } }), 'workerDefaults.stalledInterval', /integer/],
    ['unknown worker option', withConfig({ workerDefaults: { ttl: 3 } }), 'workerDefaults.ttl', /accepted: concurrency/],
    ['unknown backoff type', withConfig({ queueDefaults: { defaultJobOptions: { backoff: { type: 'linear', delay: 1 } } } }), 'queueDefaults.defaultJobOptions.backoff.type', /'fixed' \| 'exponential'/],
    ['negative backoff delay', withConfig({ queueDefaults: { defaultJobOptions: { backoff: { type: 'fixed', delay: -1 } } } }), 'queueDefaults.defaultJobOptions.backoff.delay', /integer/],
    ['negative eventsMaxLen', withConfig({ queueDefaults: { eventsMaxLen: -1 } }), 'queueDefaults.eventsMaxLen', /integer/],
    ['fractional eventsMaxLen', withConfig({ queueDefaults: { eventsMaxLen: 2.5 } }), 'queueDefaults.eventsMaxLen', /integer/],
    ['zero attempts', withConfig({ queueDefaults: { defaultJobOptions: { attempts: 0 } } }), 'queueDefaults.defaultJobOptions.attempts', /\[1,/],
    ['fractional attempts', withConfig({ queueDefaults: { defaultJobOptions: { attempts: 2.5 } } }), 'queueDefaults.defaultJobOptions.attempts', /integer/],
    ['priority too high', withConfig({ queueDefaults: { defaultJobOptions: { priority: 3_000_000 } } }), 'queueDefaults.defaultJobOptions.priority', /2097152/],
    ['removeOnComplete string', withConfig({ queueDefaults: { defaultJobOptions: { removeOnComplete: 'yes' } } }), 'queueDefaults.defaultJobOptions.removeOnComplete', /integer/],
    ['unknown job option', withConfig({ queueDefaults: { defaultJobOptions: { lifo: true } } }), 'queueDefaults.defaultJobOptions.lifo', /accepted: removeOnComplete/],
    ['enableCronManager not boolean', withConfig({ enableCronManager: 'yes' }), 'enableCronManager', /true or false/],
    ['cronInterval zero', withConfig({ cronInterval: 0 }), 'cronInterval', /\[1,/],
    ['keyPrefix with colon', withConfig({ keyPrefix: 'a:b' }), 'keyPrefix', /':'/],
    ['keyPrefix with space', withConfig({ keyPrefix: 'a b' }), 'keyPrefix', /whitespace/],
    ['empty keyPrefix', withConfig({ keyPrefix: '' }), 'keyPrefix', /1-64/],
    ['nodeId with pipe', withConfig({ nodeId: 'a|b' }), 'nodeId', /'\|'/],
    ['negative shutdownTimeoutMs', withConfig({ shutdownTimeoutMs: -1 }), 'shutdownTimeoutMs', /\[0,/],
    ['zero connectTimeoutMs', { redis: { url: 'redis://x', connectTimeoutMs: 0 } }, 'redis.connectTimeoutMs', /integer in \[1,/],
    ['NaN commandTimeoutMs', { redis: { url: 'redis://x', commandTimeoutMs: Number.NaN } }, 'redis.commandTimeoutMs', /integer/],
    ['zero maxJobDataBytes', withConfig({ maxJobDataBytes: 0 }), 'maxJobDataBytes', /integer in \[1, 536870912\]/],
    ['maxJobDataBytes above Redis strings', withConfig({ maxJobDataBytes: 2 ** 30 }), 'maxJobDataBytes', /536870912/],
    ['indexSweep not an object', withConfig({ indexSweep: 5 }), 'indexSweep', /must be an object/],
    ['unknown indexSweep option', withConfig({ indexSweep: { retention: 1 } }), 'indexSweep.retention', /accepted: interval, batchSize, entityRetentionMs, missingJobGraceMs/],
    ['negative sweep interval', withConfig({ indexSweep: { interval: -1 } }), 'indexSweep.interval', /\[0,/],
    ['zero batchSize', withConfig({ indexSweep: { batchSize: 0 } }), 'indexSweep.batchSize', /\[1, 10000\]/],
    ['fractional retention', withConfig({ indexSweep: { entityRetentionMs: 1.5 } }), 'indexSweep.entityRetentionMs', /integer/],
    ['grace below a second', withConfig({ indexSweep: { missingJobGraceMs: 999 } }), 'indexSweep.missingJobGraceMs', /\[1000,/],
  ];
  it.each(cases)('%s', (_label, input, path, message) => {
    const err = configError(input);
    expect(err.path).toBe(path);
    expect(err.message).toMatch(message);
    expect(err.message).toContain(path);
  });

  it('never prints a password', () => {
    const err = configError({ redis: { host: 'h', password: 12345 } });
    expect(err.path).toBe('redis.password');
    expect(err.message).not.toContain('12345');
  });
});

describe('resolveConfig: the engine, limits and edge values', () => {
  it('applies the engine defaults and keeps given engine values', () => {
    expect(resolveConfig(base).engine).toEqual({ maxActiveEntitiesPerNode: 1000, idleReleaseMs: 2000, pollInterval: 1000, dispatch: true });
    const engine = { maxActiveEntitiesPerNode: 1_000_000, idleReleaseMs: 1, pollInterval: 10, dispatch: false };
    expect(resolveConfig(withConfig({ engine })).engine).toEqual(engine);
    expect(Object.isFrozen(resolveConfig(base).engine)).toBe(true);
  });

  it.each([
    ['engine not an object', withConfig({ engine: 'fast' }), 'engine', /must be an object/],
    ['unknown engine option', withConfig({ engine: { slots: 4 } }), 'engine.slots', /accepted: maxActiveEntitiesPerNode, idleReleaseMs, pollInterval, dispatch/],
    ['dispatch not boolean', withConfig({ engine: { dispatch: 'yes' } }), 'engine.dispatch', /true or false/],
    ['zero entities per node', withConfig({ engine: { maxActiveEntitiesPerNode: 0 } }), 'engine.maxActiveEntitiesPerNode', /\[1, 1000000\]/],
    ['too many entities per node', withConfig({ engine: { maxActiveEntitiesPerNode: 1_000_001 } }), 'engine.maxActiveEntitiesPerNode', /\[1, 1000000\]/],
    ['zero idleReleaseMs', withConfig({ engine: { idleReleaseMs: 0 } }), 'engine.idleReleaseMs', /\[1,/],
    ['pollInterval below 10 ms', withConfig({ engine: { pollInterval: 9 } }), 'engine.pollInterval', /\[10,/],
    ['redis.url not a URL', { redis: { url: 'redis://[' } }, 'redis.url', /valid URL/],
    ['redis not an object', { redis: 'redis://x' }, 'redis', /is required/],
    ['db negative (any index the server allows, none below 0)', { redis: { host: 'h', db: -1 } }, 'redis.db', /integer in \[0, /],
    ['connection without duplicate()', { redis: { connection: { status: 'ready' } } }, 'redis.connection', /no duplicate\(\) method/],
    ['connection and db', { redis: { connection: new Redis({ lazyConnect: true }), db: 0 } }, 'redis', /either connection/],
    ['backoff not an object', withConfig({ queueDefaults: { defaultJobOptions: { backoff: 5 } } }), 'queueDefaults.defaultJobOptions.backoff', /must be an object \{ type, delay \}/],
    ['unknown backoff option', withConfig({ queueDefaults: { defaultJobOptions: { backoff: { type: 'fixed', delay: 1, jitter: 1 } } } }), 'queueDefaults.defaultJobOptions.backoff.jitter', /accepted: type, delay/],
    ['negative removeOnFail', withConfig({ queueDefaults: { defaultJobOptions: { removeOnFail: -1 } } }), 'queueDefaults.defaultJobOptions.removeOnFail', /\[0,/],
    ['unknown queueDefaults option', withConfig({ queueDefaults: { jobOptions: {} } }), 'queueDefaults.jobOptions', /accepted: defaultJobOptions/],
    ['keyPrefix of 65 characters', withConfig({ keyPrefix: 'a'.repeat(65) }), 'keyPrefix', /1-64/],
    ['keyPrefix not a string', withConfig({ keyPrefix: 5 }), 'keyPrefix', /1-64/],
    ['nodeId of 129 characters', withConfig({ nodeId: 'n'.repeat(129) }), 'nodeId', /1-128/],
    ['nodeId with a tab', withConfig({ nodeId: 'a\tb' }), 'nodeId', /whitespace/],
    ['batchSize above 10000', withConfig({ indexSweep: { batchSize: 10_001 } }), 'indexSweep.batchSize', /\[1, 10000\]/],
    ['connection null', { redis: { connection: null } }, 'redis.connection', /ioredis Redis or Cluster instance/],
    ['connection a string', { redis: { connection: 'redis://h' } }, 'redis.connection', /ioredis Redis or Cluster instance/],
    ['empty url', { redis: { url: '' } }, 'redis.url', /non-empty string/],
    ['url with a prefix before redis://', { redis: { url: 'xredis://h' } }, 'redis.url', /must start with/],
    ['empty host', { redis: { host: '' } }, 'redis.host', /non-empty string/],
    ['password not a string', { redis: { host: 'h', password: 5 } }, 'redis.password', /must be a string \(got "\[redacted\]"\)/],
    ['queueDefaults not an object', withConfig({ queueDefaults: 5 }), 'queueDefaults', /must be an object/],
    ['nodeId not a string', withConfig({ nodeId: 5 }), 'nodeId', /1-128/],
  ])('%s', (_label, input, path, message) => {
    const err = configError(input);
    expect(err.path).toBe(path);
    expect(err.message).toMatch(message);
  });

  it('accepts the boundary values', () => {
    const c = resolveConfig({
      redis: { url: 'rediss://h:1', db: 15, maxRetriesPerRequest: 0 },
      keyPrefix: 'p'.repeat(64),
      nodeId: 'n'.repeat(128),
      maxJobDataBytes: 512 * 1024 * 1024,
      queueDefaults: { defaultJobOptions: { removeOnComplete: 0, removeOnFail: false, priority: 2_097_152, backoff: { type: 'fixed', delay: 0 } } },
      indexSweep: { batchSize: 10_000, missingJobGraceMs: 1000 },
      workerDefaults: { heartbeatTTL: 1.5, heartbeatInterval: 1499, maxStalledCount: 0 },
    });
    expect(c.redis).toMatchObject({ url: 'rediss://h:1', db: 15, maxRetriesPerRequest: 0 });
    expect(c.queueDefaults.defaultJobOptions).toEqual({ removeOnComplete: 0, removeOnFail: false, priority: 2_097_152, backoff: { type: 'fixed', delay: 0 } });
    expect([c.keyPrefix.length, c.nodeId.length, c.maxJobDataBytes]).toEqual([64, 128, 512 * 1024 * 1024]);
    expect([c.indexSweep.batchSize, c.indexSweep.missingJobGraceMs]).toEqual([10_000, 1000]);
    expect(c.workerDefaults).toMatchObject({ heartbeatTTL: 1.5, heartbeatInterval: 1499, maxStalledCount: 0 });
  });

  it('per-worker settings override the resolved module settings with the argument error class', () => {
    const module = resolveConfig(withConfig({ workerDefaults: { lockDuration: 5000 } })).workerDefaults;
    expect(resolveWorkerDefaults({ concurrency: 2 }, module, 'config', argumentRules)).toEqual({ ...module, concurrency: 2 });
    const err = (() => {
      try {
        resolveWorkerDefaults({ concurrency: 0 }, module, 'config', argumentRules);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(AtomicQueuesValidationError);
    expect((err as AtomicQueuesValidationError).argument).toBe('config.concurrency');
  });
});

describe('resolveConfig: what it keeps', () => {
  it('host alone or port alone is enough to connect', () => {
    expect(resolveConfig({ redis: { host: 'h' } }).redis.host).toBe('h');
    expect(resolveConfig({ redis: { port: 6380 } }).redis.port).toBe(6380);
  });

  it('sets no job option that was not given (no undefined keys reach BullMQ)', () => {
    expect(Object.keys(resolveConfig(base).queueDefaults.defaultJobOptions)).toEqual([]);
    const c = resolveConfig(withConfig({ queueDefaults: { defaultJobOptions: { attempts: 2 } } }));
    expect(Object.keys(c.queueDefaults.defaultJobOptions)).toEqual(['attempts']);
  });

  it('names the options given beside a connection', () => {
    const err = configError({ redis: { connection: new Redis({ lazyConnect: true }), host: 'h', port: 1 } });
    expect(err.value).toBe('connection,host,port');
  });
});
