import { existsSync } from 'node:fs';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { applyToxics, createNodeLinks, proxyName, type NodeLink } from '../../chaos/toxiproxy/proxies.js';
import { defaultToxiproxyBinary, startToxiproxy, type ToxiproxyServer } from '../../chaos/toxiproxy/server.js';
import { blackHoleToxic, latencyToxic, resetPeerToxic } from '../../chaos/toxiproxy/toxics.js';

// The real Toxiproxy server, installed by `bash scripts/install-toxiproxy.sh` (.ci/run does it before the tests).
const binary = defaultToxiproxyBinary();

async function timedPing(redis: Redis): Promise<number> {
  const t0 = performance.now();
  expect(await redis.ping()).toBe('PONG');
  return performance.now() - t0;
}

describe.skipIf(!existsSync(binary))(`real Toxiproxy (${binary})`, () => {
  let server: ToxiproxyServer;
  let links: NodeLink[];
  const clients: Redis[] = [];
  const client = (link: NodeLink) => {
    const redis = new Redis(link.redisUrl, { maxRetriesPerRequest: 1, commandTimeout: 1500, retryStrategy: () => 50 });
    redis.on('error', () => undefined);
    clients.push(redis);
    return redis;
  };

  beforeAll(async () => {
    server = await startToxiproxy();
    const upstream = new URL(inject('redisUrl'));
    links = await createNodeLinks(server.client, ['node-1', 'node-2', 'node-3'], `${upstream.hostname}:${upstream.port}`);
  });

  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await server?.stop();
  });

  it('runs v2.12.0 on a loopback port with one proxy per node', async () => {
    expect(server.version).toBe('2.12.0');
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(links.map((l) => l.proxyName)).toEqual(['redis_node_1', 'redis_node_2', 'redis_node_3']);
    expect(new Set(links.map((l) => l.redisUrl)).size).toBe(3);
    for (const link of links) expect(link.redisUrl).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
    expect(Object.keys(await server.client.getAll()).sort()).toEqual(links.map((l) => l.proxyName));
    expect(proxyName('a.b-c')).toBe('redis_a_b_c');
  });

  it('a latency toxic slows only the faulted node link, and removing it heals', async () => {
    const [a, b] = [client(links[0]!), client(links[1]!)];
    await Promise.all([timedPing(a), timedPing(b)]);
    // 300 ms each way: a round trip through the faulted link takes >= 600 ms, the others stay well below.
    const heal = await applyToxics(links[1]!, latencyToxic(300));
    expect(await timedPing(b)).toBeGreaterThanOrEqual(590);
    expect(await timedPing(a)).toBeLessThan(300);
    await heal();
    expect(await timedPing(b)).toBeLessThan(300);
  });

  it('a black hole stalls the node link without closing it until healed', async () => {
    const [a, c] = [client(links[0]!), client(links[2]!)];
    await Promise.all([timedPing(a), timedPing(c)]);
    const heal = await applyToxics(links[2]!, blackHoleToxic());
    await expect(c.ping()).rejects.toThrow(/timed out/i);
    expect(await timedPing(a)).toBeLessThan(300);
    await heal();
    const deadline = Date.now() + 5000;
    let ok = false;
    while (!ok && Date.now() < deadline) ok = await c.ping().then(() => true, () => false);
    expect(ok).toBe(true);
  });

  it('reset_peer resets the node connection (the client sees ECONNRESET)', async () => {
    const b = client(links[1]!);
    await timedPing(b);
    const errors: string[] = [];
    b.on('error', (e: NodeJS.ErrnoException) => errors.push(e.code ?? e.message));
    const heal = await applyToxics(links[1]!, resetPeerToxic(0));
    await b.ping().catch(() => undefined);
    const deadline = Date.now() + 3000;
    while (!errors.includes('ECONNRESET') && Date.now() < deadline) {
      await Promise.race([new Promise((r) => b.once('error', r)), new Promise((r) => setTimeout(r, 100))]);
    }
    await heal();
    expect(errors).toContain('ECONNRESET');
  });
});
