import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { Redis } from 'ioredis';

/** Redis `CLIENT LIST` parsing and attribution of connections to local processes (Linux /proc). */

export interface RedisClientInfo {
  id: string;
  addr: string;
  /** Local port of the client side of the connection. */
  port: number;
  name: string;
  cmd: string;
}

export function parseClientList(text: string): RedisClientInfo[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .map((line) => {
      const fields = new Map<string, string>();
      for (const part of line.split(' ')) {
        const eq = part.indexOf('=');
        if (eq > 0) fields.set(part.slice(0, eq), part.slice(eq + 1));
      }
      const addr = fields.get('addr') ?? '';
      return {
        id: fields.get('id') ?? '',
        addr,
        port: Number(addr.slice(addr.lastIndexOf(':') + 1)),
        name: fields.get('name') ?? '',
        cmd: fields.get('cmd') ?? '',
      };
    });
}

/** Client names with volatile parts (ids, base64 queue names) collapsed so that counts group well. */
export function clientKind(name: string): string {
  if (name === '') return '(unnamed)';
  const colon = name.indexOf(':');
  return colon > 0 ? `${name.slice(0, colon)}:*` : name;
}

export interface ConnectionGroup {
  owner: string;
  total: number;
  byName: Record<string, number>;
}

/** Groups clients by owner (`ownerOfPort`, default "unknown") and, within an owner, by client-name kind. */
export function groupClients(clients: readonly RedisClientInfo[], ownerOfPort: (port: number) => string | undefined): ConnectionGroup[] {
  const groups = new Map<string, ConnectionGroup>();
  for (const c of clients) {
    const owner = ownerOfPort(c.port) ?? 'unknown';
    const group = groups.get(owner) ?? { owner, total: 0, byName: {} };
    group.total += 1;
    const kind = clientKind(c.name);
    group.byName[kind] = (group.byName[kind] ?? 0) + 1;
    groups.set(owner, group);
  }
  return [...groups.values()].sort((a, b) => a.owner.localeCompare(b.owner));
}

/** Parses /proc/net/tcp{,6}: socket inode → local port, for connections whose remote port is `remotePort`. */
export function parseProcNetTcp(text: string, remotePort: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 10) continue;
    const local = cols[1]!;
    const remote = cols[2]!;
    if (parseInt(remote.slice(remote.lastIndexOf(':') + 1), 16) !== remotePort) continue;
    out.set(cols[9]!, parseInt(local.slice(local.lastIndexOf(':') + 1), 16));
  }
  return out;
}

/** Local ports of `pid`'s TCP connections to `remotePort` (Linux only; empty elsewhere or without access). */
export function localPortsOfPid(pid: number, remotePort: number): Set<number> {
  const ports = new Set<number>();
  let inodes: Map<string, number>;
  try {
    inodes = new Map([
      ...parseProcNetTcp(readFileSync('/proc/net/tcp', 'utf8'), remotePort),
      ...parseProcNetTcp(readFileSync('/proc/net/tcp6', 'utf8'), remotePort),
    ]);
  } catch {
    return ports;
  }
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return ports;
  }
  for (const fd of fds) {
    let target: string;
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue;
    }
    const m = /^socket:\[(\d+)\]$/.exec(target);
    const port = m ? inodes.get(m[1]!) : undefined;
    if (port !== undefined) ports.add(port);
  }
  return ports;
}

/** Maps local ports to process labels for `groupClients`. */
export function portOwners(processes: ReadonlyArray<{ label: string; pid: number }>, redisPort: number): (port: number) => string | undefined {
  const owners = new Map<number, string>();
  for (const p of processes) for (const port of localPortsOfPid(p.pid, redisPort)) owners.set(port, p.label);
  return (port) => owners.get(port);
}

/**
 * Redis connections of `processes` right now: CLIENT LIST over a short-lived admin connection named `adminName`
 * (left out of the groups), grouped by owner. `total` counts every client, the admin one included.
 */
export async function sampleConnections(
  redisUrl: string,
  processes: ReadonlyArray<{ label: string; pid: number }>,
  adminName: string,
): Promise<{ groups: ConnectionGroup[]; total: number }> {
  const admin = new Redis(redisUrl, { connectionName: adminName, lazyConnect: true });
  try {
    await admin.connect();
    const clients = parseClientList((await admin.client('LIST')) as string);
    const owners = portOwners(processes, Number(new URL(redisUrl).port || 6379));
    return { groups: groupClients(clients.filter((c) => c.name !== adminName), owners), total: clients.length };
  } finally {
    admin.disconnect();
  }
}

/** Resident set size of a process in bytes from /proc (undefined when unavailable). */
export function rssOfPid(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}
