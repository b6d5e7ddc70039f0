import { Redis } from 'ioredis';
import { parseClientList } from '../toolkit/sampling/redis-clients.js';
import { addConnectionSample, type ConnectionPeaks } from './metrics.js';

/**
 * Samples Redis' `CLIENT LIST` during a chaos run and keeps the peak number of connections per node (and the
 * peak number of live entity workers). Nodes reach
 * Redis through Toxiproxy, so a connection cannot be traced to its process by port: the module names its
 * connections `aq:<nodeId>:<kind>` (cmd, sub, hb, queues, workers) and those names are counted. The sampler's own
 * connection is named and left out; a sample that fails (Redis down, restarting) is skipped.
 */
export interface ConnectionSampler {
  /** Stops sampling and returns the peaks. */
  stop(): Promise<ConnectionPeaks>;
}

const SAMPLER_NAME = 'chaos-connection-sampler';

/**
 * `leasesKey`: the engine's lease set (`<keyPrefix>:leases`, one member per live entity worker, docs/engine.md);
 * its size is sampled too, as the number of entity workers alive at once.
 */
export function startConnectionSampler(redisUrl: string, nodeIds: readonly string[], leasesKey: string, intervalMs = 500): ConnectionSampler {
  const peaks: ConnectionPeaks = { samples: 0, peakPerNode: {}, kindsAtPeak: {}, peakUnnamed: 0 };
  // No offline queue: while Redis is down a sample fails at once instead of piling up behind the reconnect.
  const admin = new Redis(redisUrl, { connectionName: SAMPLER_NAME, enableOfflineQueue: false, maxRetriesPerRequest: 0, lazyConnect: true });
  admin.on('error', () => undefined);
  let stopped = false;
  let inFlight: Promise<void> = Promise.resolve();
  const sample = async (): Promise<void> => {
    try {
      if (admin.status === 'wait') await admin.connect();
      const clients = parseClientList((await admin.client('LIST')) as string).filter((c) => c.name !== SAMPLER_NAME);
      addConnectionSample(peaks, clients.map((c) => c.name), nodeIds);
      const live = await admin.zcard(leasesKey);
      peaks.peakEntityWorkers = Math.max(peaks.peakEntityWorkers ?? 0, live);
    } catch {
      // Redis unreachable for now: no sample.
    }
  };
  const timer = setInterval(() => {
    if (!stopped) inFlight = inFlight.then(sample);
  }, intervalMs);
  inFlight = sample();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await inFlight;
      admin.disconnect();
      return peaks;
    },
  };
}
