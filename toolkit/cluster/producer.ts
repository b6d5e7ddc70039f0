import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AtomicQueuesModule, QueueManagerService } from '@nestjs/atomic-queues';
import { EnqueueLog } from '@nestjs/atomic-queues/testing';
import { exitWithParent } from './env.js';
import { entityIdOf, readProducerSettings, type ProducerSettings } from './settings.js';

/**
 * Producer process: adds `jobsPerEntity` jobs to each of its entities, interleaved (seq 0 of every entity, then
 * seq 1, …), with job data `{ entityType, entityId, seq }`. Adds of one entity are strictly sequential (each is
 * acknowledged before the next); adds of different entities run concurrently with AQ_RATE=0, one at a time with a
 * rate. Every acknowledged add is logged to the EnqueueLog JSONL. With AQ_DURATION_MS it stops early, before the first
 * add due after that long (each entity's sequence stays gapless: a seq is never skipped, only the tail is cut).
 * Prints `AQ_PRODUCED <count>` and exits 0 when done.
 */
async function produce(s: ProducerSettings, queues: QueueManagerService, log: EnqueueLog): Promise<number> {
  const entities = Array.from({ length: s.entityCount }, (_, i) => entityIdOf(s.entityOffset + i, s.entityIdPrefix));
  const opts = {
    attempts: s.attempts,
    ...(s.backoffMs > 0 ? { backoff: { type: 'fixed' as const, delay: s.backoffMs } } : {}),
    ...(s.removeOnComplete ? { removeOnComplete: true } : {}),
  };
  const started = Date.now();
  const timeUp = () => s.durationMs > 0 && Date.now() - started >= s.durationMs;
  let added = 0;
  const add = async (entityId: string, seq: number): Promise<void> => {
    const data = { entityType: s.entityType, entityId, seq };
    const jobId = `${entityId}.${seq}`;
    const entry = { entityType: s.entityType, entityId, jobId, jobName: s.jobName, seq };
    try {
      await queues.addEntityJob(s.entityType, entityId, s.jobName, data, { ...opts, jobId });
    } catch (error) {
      if (!s.recordFailedAdds) throw error;
      // Outcome unknown (timeout, connection loss): the job may or may not exist (Jepsen's :info).
      log.record({ ...entry, at: Date.now(), status: 'unknown' });
      console.error(`add ${jobId} failed: ${(error as Error).message}`);
      return;
    }
    log.record({ ...entry, at: Date.now() });
    added++;
  };
  for (let seq = 0; seq < s.jobsPerEntity && !timeUp(); seq++) {
    if (s.ratePerSecond === 0) {
      await Promise.all(entities.map((entityId) => add(entityId, seq)));
      continue;
    }
    for (const entityId of entities) {
      const due = started + (added * 1000) / s.ratePerSecond;
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
      if (timeUp()) break;
      await add(entityId, seq);
    }
  }
  return added;
}

async function main(): Promise<void> {
  exitWithParent();
  const s = readProducerSettings();

  @Module({
    imports: [AtomicQueuesModule.forRoot({ redis: { url: s.redisUrl }, keyPrefix: s.keyPrefix, nodeId: s.producerId })],
  })
  class ProducerModule {}

  const app = await NestFactory.createApplicationContext(ProducerModule, { logger: ['error', 'warn'] });
  const log = new EnqueueLog(s.enqueueFile);
  try {
    const added = await produce(s, app.get(QueueManagerService), log);
    console.log(`AQ_PRODUCED ${added}`);
  } finally {
    log.close();
    await app.close();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(1);
});
