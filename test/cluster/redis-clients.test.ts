import { Redis } from 'ioredis';
import { describe, expect, inject, it } from 'vitest';
import { clientKind, groupClients, parseClientList, parseProcNetTcp, portOwners } from '../../toolkit/sampling/redis-clients.js';

const SAMPLE = [
  'id=3 addr=127.0.0.1:50001 laddr=127.0.0.1:6379 fd=8 name=bull:bG9hZA== age=1 cmd=bzpopmin',
  'id=4 addr=127.0.0.1:50002 laddr=127.0.0.1:6379 fd=9 name= age=1 cmd=client|list',
  'id=5 addr=[::1]:50003 laddr=[::1]:6379 fd=10 name=aq-app age=1 cmd=get',
].join('\n');

describe('CLIENT LIST parsing', () => {
  it('reads address, port, name and command', () => {
    const clients = parseClientList(SAMPLE);
    expect(clients.map((c) => [c.id, c.port, c.name, c.cmd])).toEqual([
      ['3', 50001, 'bull:bG9hZA==', 'bzpopmin'],
      ['4', 50002, '', 'client|list'],
      ['5', 50003, 'aq-app', 'get'],
    ]);
  });

  it('groups by owner and by client-name kind', () => {
    const groups = groupClients(parseClientList(SAMPLE), (port) => (port === 50001 || port === 50003 ? 'node-1' : undefined));
    expect(groups).toEqual([
      { owner: 'node-1', total: 2, byName: { 'bull:*': 1, 'aq-app': 1 } },
      { owner: 'unknown', total: 1, byName: { '(unnamed)': 1 } },
    ]);
    expect(clientKind('')).toBe('(unnamed)');
  });

  it('parses /proc/net/tcp rows for one remote port', () => {
    const text = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 0100007F:C351 0100007F:18EB 01 00000000:00000000 00:00000000 00000000     0        0 111 1 0',
      '   1: 0100007F:C352 0100007F:0050 01 00000000:00000000 00:00000000 00000000     0        0 222 1 0',
    ].join('\n');
    expect([...parseProcNetTcp(text, 6379)]).toEqual([['111', 50001]]);
  });
});

describe('attribution of live connections', () => {
  it('finds this process as the owner of its own Redis connection', async () => {
    const url = new URL(inject('redisUrl'));
    const redis = new Redis(inject('redisUrl'), { connectionName: 'aq-attribution-test' });
    try {
      await redis.ping();
      const mine = parseClientList(await redis.client('LIST') as string).filter((c) => c.name === 'aq-attribution-test');
      expect(mine).toHaveLength(1);
      const owner = portOwners([{ label: 'me', pid: process.pid }], Number(url.port || 6379));
      expect(owner(mine[0]!.port)).toBe('me');
      expect(owner(1)).toBeUndefined();
    } finally {
      redis.disconnect();
    }
  });
});
