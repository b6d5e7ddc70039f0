import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { coalesceWrites } from '../../src/drivers/coalesce-writes.js';
import { LuaScript } from '../../src/redis/lua-script.js';

/** Counts the writes that reach the socket's transport (one per syscall batch) on a connected client. */
function countTransportWrites(client: Redis): () => number {
  const socket = (client as unknown as { stream: Socket & { _write: Function; _writev?: Function } }).stream;
  let writes = 0;
  const single = socket._write;
  const vector = socket._writev;
  socket._write = function (this: unknown, ...args: unknown[]) {
    writes += 1;
    return single.apply(this, args);
  };
  if (vector) {
    socket._writev = function (this: unknown, ...args: unknown[]) {
      writes += 1;
      return vector.apply(this, args);
    };
  }
  return () => writes;
}

const clients: Redis[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.disconnect();
});

async function connected(): Promise<Redis> {
  const client = new Redis(inject('redisUrl'), { lazyConnect: true });
  clients.push(client);
  await client.connect();
  return client;
}

describe('coalesceWrites: one socket write per turn of the event loop', () => {
  it('sends the commands of one turn together and answers each with its own reply', async () => {
    const plain = await connected();
    const batched = await connected();
    coalesceWrites(batched);
    const plainWrites = countTransportWrites(plain);
    const batchedWrites = countTransportWrites(batched);
    const key = `cw:${randomBytes(4).toString('hex')}`;
    await plain.set(key, 'v');
    const n = 50;
    const [a, b] = await Promise.all([
      Promise.all(Array.from({ length: n }, (_, i) => plain.echo(`p${i}`))),
      Promise.all(Array.from({ length: n }, (_, i) => batched.echo(`b${i}`))),
    ]);
    expect(a).toEqual(Array.from({ length: n }, (_, i) => `p${i}`));
    expect(b).toEqual(Array.from({ length: n }, (_, i) => `b${i}`));
    expect(plainWrites()).toBeGreaterThanOrEqual(n); // one write per command (plus the SET)
    expect(batchedWrites()).toBe(1);
    await plain.del(key);
  });

  it('keeps the script fallback per command: a script unknown to the server still runs (NOSCRIPT → EVAL) for every call of the turn', async () => {
    const client = await connected();
    coalesceWrites(client);
    const script = new LuaScript('cw-test', `return ARGV[1] .. '${randomBytes(6).toString('hex')}'`, 0);
    const suffix = script.source.match(/'(\w+)'/)![1];
    const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => script.run<string>(client, [], [`r${i}-`])));
    expect(replies).toEqual(Array.from({ length: 20 }, (_, i) => `r${i}-${suffix}`));
  });

  it('patches the new socket after a reconnect', async () => {
    const client = await connected();
    coalesceWrites(client);
    const first = (client as unknown as { stream: Socket }).stream;
    await client.disconnect(true);
    await new Promise<void>((resolve) => client.once('ready', () => resolve()));
    expect((client as unknown as { stream: Socket }).stream).not.toBe(first);
    const writes = countTransportWrites(client);
    expect(await Promise.all([client.echo('x'), client.echo('y'), client.echo('z')])).toEqual(['x', 'y', 'z']);
    expect(writes()).toBe(1);
  });
});
