import { Logger, type LoggerService } from '@nestjs/common';
import { AtomicQueuesConnectionError } from '../errors.js';
import type { RedisClient } from '../ports/redis.js';
import { isCluster } from './redis-client.js';

/** Redis address of a client for messages: `host:port` (or socket path / cluster nodes), never credentials. */
export function describeRedisAddress(client: RedisClient): string {
  if (isCluster(client)) {
    const nodes = (client as unknown as { startupNodes?: unknown[] }).startupNodes ?? [];
    const parts = nodes.map((n) => {
      if (typeof n === 'number') return `127.0.0.1:${n}`;
      if (typeof n === 'string') return n.replace(/^rediss?:\/\/([^@/]*@)?/, '');
      const node = n as { host?: string; port?: number };
      return `${node.host ?? '127.0.0.1'}:${node.port ?? 6379}`;
    });
    return `cluster ${parts.join(',')}`;
  }
  const o = client.options;
  if (o.path) return o.path;
  if (o.sentinels?.length) return `sentinel master ${o.name ?? '?'} (${o.sentinels.map((s) => `${s.host ?? '127.0.0.1'}:${s.port ?? 26379}`).join(',')})`;
  return `${o.host ?? '127.0.0.1'}:${o.port ?? 6379}`;
}

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ECONNABORTED']);

/** Errors that only say the connection is down (reported once by RedisConnectionWatch, not per retry). */
export function isConnectionError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && CONNECTION_CODES.has(code)) return true;
  return err.name === 'MaxRetriesPerRequestError' || /^(Connection is closed|Stream isn't writeable|connect ETIMEDOUT)/.test(err.message);
}

/** The server refused our credentials (wrong username/password, disabled user, or none given): retrying will not help. */
export function isAuthError(err: unknown): boolean {
  return err instanceof Error && /^(WRONGPASS|NOAUTH|NOPERM)\b|invalid (username-)?password/i.test(err.message);
}

interface Watched {
  readonly name: string;
  ready: boolean;
  /** Was ready (or the watch was), then lost its connection. */
  lost: boolean;
  lastError?: Error;
  readonly off: () => void;
}

/**
 * Connection state of the module's Redis connections, as one state for the logs and the adds: `up` once every
 * watched connection was ready, `down` while any of them lost its connection. Logs one line per change
 * (connected / lost with its cause / reconnected), never one per ioredis retry; the per-retry 'error' events are
 * absorbed here (a client without an 'error' listener prints each one). Bootstrap waits for `up` within
 * `redis.connectTimeoutMs`; adds wait at most `redis.commandTimeoutMs` for a lost connection to come back.
 */
export class RedisConnectionWatch {
  private readonly clients = new Map<RedisClient, Watched>();
  private readonly listeners = new Set<() => void>();
  private readonly reconnectListeners = new Set<() => void>();
  private connected = false;
  private down = false;
  private downSince = 0;
  private stopped = false;

  constructor(
    /** The address named in messages (see describeRedisAddress). */
    readonly address: string,
    private readonly timeouts: { readonly connectTimeoutMs: number; readonly commandTimeoutMs: number },
    private readonly logger: LoggerService = new Logger('AtomicQueues:Redis'),
  ) {}

  /** Follows a connection until it ends (or unwatch). `name` tells it apart in messages (`cmd`, `queues`…). */
  watch(client: RedisClient, name: string): void {
    if (this.clients.has(client)) return;
    const onReady = () => {
      entry.ready = true;
      entry.lost = false;
      entry.lastError = undefined;
      this.update();
    };
    const onClose = () => {
      if (entry.ready) entry.lost = true;
      entry.ready = false;
      this.update();
    };
    const onError = (err: Error) => {
      entry.lastError = err;
      // A connection opened after start-up that cannot connect counts as lost, like one that dropped.
      if (this.connected && !entry.ready) entry.lost = true;
      this.update();
    };
    const onEnd = () => this.unwatch(client);
    client.on('ready', onReady);
    client.on('close', onClose);
    client.on('error', onError);
    client.on('end', onEnd);
    const entry: Watched = {
      name,
      ready: client.status === 'ready',
      lost: false,
      off: () => {
        client.off('ready', onReady);
        client.off('close', onClose);
        client.off('error', onError);
        client.off('end', onEnd);
      },
    };
    this.clients.set(client, entry);
  }

  /** Stops following a connection (before closing it on purpose: a planned close is no lost connection). */
  unwatch(client: RedisClient): void {
    const entry = this.clients.get(client);
    if (!entry) return;
    this.clients.delete(client);
    entry.off();
    this.update();
  }

  /** Stops logging and forgets every connection (shutdown). */
  stop(): void {
    this.stopped = true;
    for (const client of [...this.clients.keys()]) this.unwatch(client);
  }

  /** Calls `listener` after each reconnection (the server may have restarted and lost its data). */
  onReconnected(listener: () => void): () => void {
    this.reconnectListeners.add(listener);
    return () => this.reconnectListeners.delete(listener);
  }

  /** True while a watched connection is lost. */
  get isDown(): boolean {
    return this.down;
  }

  /**
   * Resolves once every watched connection is ready; otherwise rejects after `redis.connectTimeoutMs` with one
   * AtomicQueuesConnectionError naming the address and the last connection error, at once when the server
   * refused the credentials.
   */
  async waitConnected(): Promise<void> {
    const ms = this.timeouts.connectTimeoutMs;
    const refused = () => [...this.clients.values()].find((e) => !e.ready && isAuthError(e.lastError))?.lastError;
    const allReady = () => [...this.clients.values()].every((e) => e.ready);
    await this.waitUntil(() => allReady() || refused() !== undefined, ms, () => {
      const pending = [...this.clients.values()].filter((e) => !e.ready);
      const cause = pending.find((e) => e.lastError)?.lastError;
      return new AtomicQueuesConnectionError(
        this.address,
        `not reachable within ${ms} ms (redis.connectTimeoutMs)${cause ? '' : ` (connections still pending: ${pending.map((e) => e.name).join(', ')})`}`,
        cause,
      );
    });
    const authError = refused();
    if (authError) {
      throw new AtomicQueuesConnectionError(this.address, 'the server refused the credentials (check redis.username and redis.password: the ACL user, its password, and that it is enabled)', authError);
    }
    if (!this.connected) {
      this.connected = true;
      this.logger.log(`connected to Redis at ${this.address}`);
    }
  }

  /**
   * Runs an operation that needs Redis (`what` names it in errors). While the connection is down it first waits
   * up to `redis.commandTimeoutMs` for it to come back (then fails, nothing sent); if the connection goes down
   * during the operation and stays down that long, the call fails too, instead of waiting for ever in ioredis'
   * offline queue. Either way: AtomicQueuesConnectionError, as for connection errors of the operation itself.
   */
  async guard<T>(what: string, op: () => Promise<T>): Promise<T> {
    const ms = this.timeouts.commandTimeoutMs;
    if (this.down) {
      await this.waitUntil(() => !this.down, ms, () =>
        new AtomicQueuesConnectionError(this.address, `${what} failed: the connection stayed down for ${ms} ms (redis.commandTimeoutMs); nothing was sent`, this.lastCause()),
      );
    }
    return new Promise<T>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const check = () => {
        if (this.down && !timer) {
          timer = setTimeout(() => {
            finish();
            reject(
              new AtomicQueuesConnectionError(
                this.address,
                `${what} failed: the connection went down during the call and stayed down for ${ms} ms (redis.commandTimeoutMs); it may still complete when the connection comes back (retry with the same opts.jobId to add the job once)`,
                this.lastCause(),
              ),
            );
          }, ms);
        } else if (!this.down && timer) {
          clearTimeout(timer);
          timer = undefined;
        }
      };
      const finish = () => {
        this.listeners.delete(check);
        if (timer) clearTimeout(timer);
      };
      this.listeners.add(check);
      check();
      op().then(
        (value) => {
          finish();
          resolve(value);
        },
        (err: unknown) => {
          finish();
          reject(isConnectionError(err) ? new AtomicQueuesConnectionError(this.address, `${what} failed`, err) : err);
        },
      );
    });
  }

  private lastCause(): Error | undefined {
    const entries = [...this.clients.values()];
    return (entries.find((e) => e.lost && e.lastError) ?? entries.find((e) => e.lastError))?.lastError;
  }

  private update(): void {
    const lost = [...this.clients.values()].find((e) => e.lost);
    if (lost && !this.down) {
      this.down = true;
      this.downSince = Date.now();
      if (!this.stopped) {
        const cause = lost.lastError && !lost.ready ? lost.lastError.message : 'connection closed';
        this.logger.warn(`connection to Redis at ${this.address} lost (${cause}); reconnecting, adds wait up to ${this.timeouts.commandTimeoutMs} ms (redis.commandTimeoutMs)`);
      }
    } else if (!lost && this.down) {
      this.down = false;
      if (!this.stopped) this.logger.log(`reconnected to Redis at ${this.address} after ${Date.now() - this.downSince} ms`);
      for (const listener of [...this.reconnectListeners]) listener();
    }
    for (const listener of [...this.listeners]) listener();
  }

  private waitUntil(done: () => boolean, timeoutMs: number, onTimeout: () => Error): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!done()) return;
        this.listeners.delete(check);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.listeners.delete(check);
        reject(onTimeout());
      }, Math.max(0, timeoutMs));
      this.listeners.add(check);
    });
  }
}
