import type { Proxy, Toxic, Toxiproxy } from 'toxiproxy-node-client';
import type { ToxicBody } from './toxics.js';

/**
 * One Toxiproxy proxy per node, all to the same Redis, so one node's link can be faulted while the others work.
 * Names follow `proxyName(nodeId)`, as chaos/docker/toxiproxy.json does (checked by test/chaos/compose.test.ts).
 */
export interface NodeLink {
  readonly nodeId: string;
  readonly proxyName: string;
  /** `redis://127.0.0.1:<listen port>`: the REDIS_URL the node uses. */
  readonly redisUrl: string;
  readonly proxy: Proxy;
}

export const proxyName = (nodeId: string): string => `redis_${nodeId.replace(/[^A-Za-z0-9_]/g, '_')}`;

/** Creates (replacing same-named leftovers) one proxy per node on an ephemeral loopback port. */
export async function createNodeLinks(client: Toxiproxy, nodeIds: readonly string[], upstream: string): Promise<NodeLink[]> {
  const existing = await client.getAll();
  const links: NodeLink[] = [];
  for (const nodeId of nodeIds) {
    const name = proxyName(nodeId);
    await existing[name]?.remove();
    const proxy = await client.createProxy({ name, listen: '127.0.0.1:0', upstream, enabled: true });
    links.push({ nodeId, proxyName: name, redisUrl: `redis://${proxy.listen}`, proxy });
  }
  return links;
}

/** Adds every toxic to the link; returns a heal function that removes exactly those toxics. */
export async function applyToxics(link: NodeLink, toxics: readonly ToxicBody[]): Promise<() => Promise<void>> {
  const added: Toxic<unknown>[] = [];
  for (const body of toxics) added.push(await link.proxy.addToxic(body));
  return async () => {
    for (const toxic of added) await toxic.remove();
  };
}

export async function removeNodeLinks(links: readonly NodeLink[]): Promise<void> {
  for (const link of links) await link.proxy.remove().catch(() => undefined);
}
