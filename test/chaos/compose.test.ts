import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { nodeAppEnv } from '../../toolkit/cluster/settings.js';
import { getProfile } from '../../chaos/profile.js';
import { proxyName } from '../../chaos/toxiproxy/proxies.js';
import { chaosNodeSettings, chaosProducerSettings, ENTITY_TYPE } from '../../chaos/wiring.js';

const file = (p: string) => fileURLToPath(new URL(`../../${p}`, import.meta.url));
const read = (p: string) => readFileSync(file(p), 'utf8');

interface Service {
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  depends_on?: string[];
  profiles?: string[];
}

const compose = parse(read('docker-compose.chaos.yml'), { merge: true }) as { services: Record<string, Service> };
const services = compose.services;
const nodeNames = Object.keys(services).filter((n) => /^node-\d+$/.test(n));
const toxiproxyConfig = JSON.parse(read('chaos/docker/toxiproxy.json')) as Array<{ name: string; listen: string; upstream: string; enabled: boolean }>;
const ci = getProfile('ci');

describe('docker-compose.chaos.yml', () => {
  it('has redis, toxiproxy and the same number of node services as the native CI profile (>= 3)', () => {
    expect(services.redis?.image).toMatch(/^redis:/);
    expect(services.toxiproxy).toBeDefined();
    expect(nodeNames.length).toBeGreaterThanOrEqual(3);
    expect(nodeNames).toEqual(Array.from({ length: ci.nodes }, (_, i) => `node-${i + 1}`));
  });

  it('runs the Toxiproxy version the install script builds, with the checked-in proxy config', () => {
    const script = read('scripts/install-toxiproxy.sh');
    const version = /TOXIPROXY_VERSION:-v([\d.]+)/.exec(script)?.[1];
    expect(version).toBe('2.12.0');
    expect(services.toxiproxy!.image).toBe(`ghcr.io/shopify/toxiproxy:${version}`);
    const cmd = services.toxiproxy!.command!;
    expect(cmd[cmd.indexOf('-config') + 1]).toBe('/config/toxiproxy.json');
    expect(services.toxiproxy!.volumes).toContain('./chaos/docker/toxiproxy.json:/config/toxiproxy.json:ro');
  });

  it('gives every node its own proxy (named as the native runner names it) to the same redis', () => {
    const ports = new Set<string>();
    for (const node of nodeNames) {
      const env = services[node]!.environment!;
      expect(env.NODE_ID).toBe(node);
      const url = new URL(env.REDIS_URL!);
      expect(url.hostname).toBe('toxiproxy');
      const proxy = toxiproxyConfig.find((p) => p.listen === `0.0.0.0:${url.port}`);
      expect(proxy, `no proxy listens on ${url.port} for ${node}`).toBeDefined();
      expect(proxy!.name).toBe(proxyName(node));
      expect(proxy!.upstream).toBe('redis:6379');
      expect(proxy!.enabled).toBe(true);
      ports.add(url.port);
    }
    expect(ports.size).toBe(nodeNames.length);
    expect(toxiproxyConfig).toHaveLength(nodeNames.length);
  });

  it('configures the nodes exactly like the native runner (CI profile), with a history file per node', () => {
    const expected = Object.fromEntries(
      Object.entries(nodeAppEnv(chaosNodeSettings(ci, 'chaos-docker')))
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, String(v)]),
    );
    for (const node of nodeNames) {
      const { NODE_ID, REDIS_URL, AQ_HISTORY_FILE, ...rest } = services[node]!.environment!;
      expect(rest).toEqual(expected);
      expect(AQ_HISTORY_FILE).toBe(`/app/chaos/.runs/docker/history-${node}.jsonl`);
      expect(NODE_ID && REDIS_URL).toBeTruthy();
      expect(services[node]!.command!.join(' ')).toContain('node dist/toolkit/cluster/node-app.js');
    }
  });

  it('has a producer that reaches redis directly, like the native runner', () => {
    const producer = services.producer!;
    expect(producer.command!.join(' ')).toContain('node dist/toolkit/cluster/producer.js');
    const env = producer.environment!;
    expect(env.REDIS_URL).toBe('redis://redis:6379');
    expect(env.AQ_KEY_PREFIX).toBe('chaos-docker');
    expect(env.AQ_ENTITY_TYPE).toBe(ENTITY_TYPE);
    expect(env.AQ_RECORD_FAILED_ADDS).toBe(chaosProducerSettings(ci, 'x', 1).recordFailedAdds ? '1' : '0');
    expect(Number(env.AQ_RATE)).toBe(ci.jobsPerSecond);
    expect(Number(env.AQ_ENTITY_COUNT)).toBe(ci.entities);
  });
});
