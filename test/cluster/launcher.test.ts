import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { liveProcessCount, runProcess, startCluster, type ClusterLauncher } from '../../toolkit/cluster/launcher.js';
import { makeRunDir } from '../../toolkit/cluster/run-dir.js';
import { getFreePort } from '../../testing/redis-server.js';
import { until } from './support.js';

const entry = fileURLToPath(new URL('./fixtures/echo-node.mjs', import.meta.url));

/** Running (not gone, not a zombie waiting to be reaped). */
const alive = (pid: number): boolean => existsSync(`/proc/${pid}/stat`) && procState(pid) !== 'Z';

/** Linux process state letter from /proc (T = stopped). */
const procState = (pid: number): string => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.charAt(0);


describe('cluster launcher', () => {
  let cluster: ClusterLauncher | undefined;
  afterEach(async () => {
    await cluster?.stopAll({ graceMs: 0 });
    cluster = undefined;
  });

  it('starts nodes with common and per-node environment and waits for AQ_READY', async () => {
    const run = makeRunDir('launcher-env');
    cluster = await startCluster({
      entry,
      runDir: run.path,
      redisUrl: 'redis://common:1',
      env: { EXTRA: 'common' },
      nodes: [{ id: 'a' }, { id: 'b', redisUrl: 'redis://proxy-b:2', httpPort: 4321, env: { EXTRA: 'mine' } }],
    });
    expect(cluster.nodes.map((n) => n.running)).toEqual([true, true]);
    expect(await cluster.node('a').waitForLine('ENV')).toBe('ENV NODE_ID=a REDIS_URL=redis://common:1 PORT= EXTRA=common');
    expect(await cluster.node('b').waitForLine(/^ENV/)).toBe('ENV NODE_ID=b REDIS_URL=redis://proxy-b:2 PORT=4321 EXTRA=mine');
    expect(() => cluster!.node('c')).toThrow(/unknown node "c"; nodes: a, b/);
  });

  it('SIGSTOP pauses, SIGCONT resumes, SIGKILL is observed and restart starts a new incarnation', async () => {
    const run = makeRunDir('launcher-signals');
    cluster = await startCluster({ entry, runDir: run.path, nodes: 1 });
    const node = cluster.nodes[0]!;
    expect(node.id).toBe('node-1');
    const firstPid = node.pid;

    node.kill('SIGSTOP');
    await until('stopped state', () => procState(firstPid) === 'T');
    expect(node.paused).toBe(true);
    node.kill('SIGCONT');
    await until('running state', () => procState(firstPid) !== 'T');
    expect(node.paused).toBe(false);

    node.kill('SIGKILL');
    expect(await node.waitExit()).toEqual({ code: null, signal: 'SIGKILL' });
    expect(node.running).toBe(false);

    await node.restart({ env: { EXTRA: 'second' } });
    expect(node.running).toBe(true);
    expect(node.generation).toBe(1);
    expect(node.pid).not.toBe(firstPid);
    expect(await node.waitForLine('ENV')).toContain('EXTRA=second');
    const log = readFileSync(node.stdoutPath, 'utf8');
    expect(log).toMatch(/generation 0[\s\S]*AQ_READY[\s\S]*generation 1[\s\S]*AQ_READY/);
  });

  it('stop() sends SIGTERM (after SIGCONT when paused) and the node exits gracefully', async () => {
    const run = makeRunDir('launcher-term');
    cluster = await startCluster({ entry, runDir: run.path, nodes: 2 });
    const [a, b] = cluster.nodes;
    b!.kill('SIGSTOP');
    const exits = await cluster.stopAll({ graceMs: 5_000 });
    expect(exits).toEqual([
      { code: 0, signal: null },
      { code: 0, signal: null },
    ]);
    expect(a!.stdout()).toContain('TERM received');
    expect(b!.stdout()).toContain('TERM received');
  });

  it('rejects unknown signals naming the accepted ones', async () => {
    const run = makeRunDir('launcher-bad-signal');
    cluster = await startCluster({ entry, runDir: run.path, nodes: 1 });
    expect(() => cluster!.nodes[0]!.kill('SIGHUP' as never)).toThrow(
      'kill: unsupported signal "SIGHUP"; accepted values: SIGKILL, SIGTERM, SIGSTOP, SIGCONT',
    );
  });

  it('fails startup with the output tail and leaves no process behind when a node dies before ready', async () => {
    const run = makeRunDir('launcher-fail');
    const before = liveProcessCount();
    await expect(
      startCluster({ entry, runDir: run.path, nodes: [{ id: 'ok' }, { id: 'bad', env: { FAIL_BEFORE_READY: 1 } }] }),
    ).rejects.toThrow(/bad: process exited \(code 3[\s\S]*boom: failing before ready/);
    expect(liveProcessCount()).toBe(before);
  });

  it('times out readiness with a clear error', async () => {
    const run = makeRunDir('launcher-timeout');
    await expect(
      startCluster({ entry, runDir: run.path, nodes: 1, readiness: { kind: 'stdout', marker: 'NEVER' }, readyTimeoutMs: 300 }),
    ).rejects.toThrow(/node-1: no matching stdout line within 300 ms while waiting for NEVER/);
    expect(liveProcessCount()).toBe(0);
  });

  it('waits for HTTP readiness on each node\'s port', async () => {
    const run = makeRunDir('launcher-http');
    const [p1, p2] = [await getFreePort(), await getFreePort()];
    const started = Date.now();
    cluster = await startCluster({
      entry,
      runDir: run.path,
      env: { HTTP_HEALTH: 1, HEALTHY_AFTER_MS: 300 },
      readiness: { kind: 'http', path: '/health' },
      nodes: [{ httpPort: p1 }, { httpPort: p2 }],
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    for (const port of [p1, p2]) expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
    await expect(
      startCluster({ entry, runDir: run.path, env: { HTTP_HEALTH: 1 }, readiness: { kind: 'http', path: '/health' }, nodes: [{ id: 'noport' }] }),
    ).rejects.toThrow('noport: HTTP readiness needs a port (NodeConfig.httpPort or readiness.port), got "undefined"');
  });

  it('children exit by themselves when the launching process is SIGKILLed (no orphans)', async () => {
    const run = makeRunDir('launcher-orphans');
    cluster = await startCluster({
      entry: fileURLToPath(new URL('./fixtures/launching-parent.mjs', import.meta.url)),
      runDir: run.path,
      env: { RUN_DIR: join(run.path, 'inner') },
      nodes: [{ id: 'parent' }],
      readiness: { kind: 'stdout', marker: 'PIDS' },
    });
    const parent = cluster.nodes[0]!;
    const pids = (await parent.waitForLine('PIDS')).split(' ').slice(1).map(Number);
    expect(pids).toHaveLength(2);
    expect(pids.map(alive)).toEqual([true, true]);
    parent.kill('SIGKILL');
    await parent.waitExit();
    await until('both children are gone', () => !pids.some(alive), 10_000);
  });

  it('rejects a bad node count', async () => {
    await expect(startCluster({ entry, runDir: makeRunDir('launcher-bad').path, nodes: 0 })).rejects.toThrow(
      'startCluster: nodes must be an integer >= 1 or a NodeConfig[], got 0',
    );
  });

  it('runProcess resolves on exit 0 and rejects with stderr on a failure', async () => {
    const run = makeRunDir('launcher-run');
    await expect(runProcess({ entry, runDir: run.path, id: 'p0', env: { EXIT_CODE: 0 } })).resolves.toMatchObject({ code: 0 });
    await expect(runProcess({ entry, runDir: run.path, id: 'p1', env: { EXIT_CODE: 7 } })).rejects.toThrow(
      /p1 exited with code 7[\s\S]*exiting on request/,
    );
  });
});
