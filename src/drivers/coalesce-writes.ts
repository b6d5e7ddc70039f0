import type { Socket } from 'node:net';
import type { RedisClient } from '../ports/redis.js';
import { isCluster } from './redis-client.js';

const PATCHED = Symbol('atomic-queues:coalesced');

/**
 * Sends every command a connection gets within one turn of the event loop in one socket write. The node's
 * shared connections carry the commands of hundreds of entity workers at once; ioredis writes each command
 * with its own `write` (a syscall, and a read on the Redis side). Corking the socket at the first write of a
 * turn and uncorking it on `process.nextTick` batches them, as ioredis' auto-pipelining would, but below
 * ioredis: commands, replies and the per-command script fallback (NOSCRIPT → EVAL) stay exactly as they were.
 * Applied to every socket the client opens (reconnects included). Cluster clients are left alone.
 */
export function coalesceWrites(client: RedisClient): void {
  if (isCluster(client)) return;
  const patch = () => {
    const stream = (client as unknown as { stream?: Socket & { [PATCHED]?: true } }).stream;
    if (!stream || stream[PATCHED]) return;
    stream[PATCHED] = true;
    const write = stream.write;
    let corked = false;
    stream.write = function (this: Socket, ...args: Parameters<Socket['write']>) {
      if (!corked) {
        corked = true;
        stream.cork();
        process.nextTick(() => {
          corked = false;
          stream.uncork();
        });
      }
      return write.apply(this, args);
    } as Socket['write'];
  };
  client.on('connect', patch);
  patch();
}
