import net from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createWorld, type World } from './world.js';

let w: World;
afterEach(async () => {
  vi.restoreAllMocks();
  await w?.close();
});

const notSupported = (feature: string) => new RegExp(`^${feature.replace(/[()/]/g, '\\$&')} is not supported by the in-memory backend$`);

describe('in-memory backend: unsupported features throw, naming the feature', () => {
  it('repeatable jobs and job schedulers', async () => {
    w = createWorld();
    const q = w.queue('sched');
    await expect(q.upsertJobScheduler('every-second', { every: 1000 })).rejects.toThrow(notSupported('job schedulers / repeatable jobs'));
    expect(await q.getJobSchedulersCount()).toBe(0);
  });

  it('metrics', async () => {
    w = createWorld();
    const q = w.queue('limits');
    expect(() => w.worker('limits', async () => {}, { metrics: { maxDataPoints: 10 } })).toThrow(notSupported('metrics'));
    await expect(q.getMetrics('completed')).rejects.toThrow(notSupported('metrics'));
  });
});

describe('in-memory backend: no network', () => {
  it('opens no socket while queues, workers and queue events run (connection options are ignored)', async () => {
    const connect = vi.spyOn(net.Socket.prototype, 'connect');
    const netConnect = vi.spyOn(net, 'connect');
    const createConnection = vi.spyOn(net, 'createConnection');
    w = createWorld();
    const q = w.queue('offline', { connection: { host: '203.0.113.1', port: 6390 } });
    const qe = w.queueEvents('offline', { connection: { host: '203.0.113.1', port: 6390 } });
    const done: string[] = [];
    w.worker('offline', async (job) => {
      done.push(job.name);
    }, { connection: { host: '203.0.113.1', port: 6390 } });
    await qe.waitUntilReady();
    await q.add('a', {});
    await w.clock.runForegroundTimers();
    await w.close();
    expect(done).toEqual(['a']);
    expect(connect).not.toHaveBeenCalled();
    expect(netConnect).not.toHaveBeenCalled();
    expect(createConnection).not.toHaveBeenCalled();
  });
});
