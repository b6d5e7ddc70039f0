import type { Redis } from 'ioredis';
import { median } from '../report/stats.js';

/**
 * How far a sample of BullMQ event streams (`<prefix>:<queue>:events`) has filled: a stream capped with
 * `MAXLEN ~ n` grows until its first trim, then stays bounded (Redis trims whole stream nodes, so its memory is
 * a sawtooth between about n entries and n plus one node). Until most streams were trimmed once, Redis memory is
 * still filling by design.
 */
export interface EventStreamsSample {
  /** Streams asked about. */
  sampled: number;
  /** Of those, streams that have been trimmed at least once (`entries-added` > `length`). */
  trimmed: number;
  /** Median `length` (0 for a stream that does not exist yet). */
  medianLength: number;
}

/** Reads `XINFO STREAM` of every key in one pipeline. Needs Redis 7 (`entries-added`). */
export async function sampleEventStreams(redis: Redis, keys: readonly string[]): Promise<EventStreamsSample> {
  if (keys.length === 0) throw new Error('sampleEventStreams: no stream keys to sample');
  const pipeline = redis.pipeline();
  for (const key of keys) pipeline.xinfo('STREAM', key);
  const replies = await pipeline.exec();
  if (!replies) throw new Error('sampleEventStreams: the pipeline returned nothing (connection closed?)');
  const lengths: number[] = [];
  let trimmed = 0;
  replies.forEach(([error, value], i) => {
    if (error) {
      if (/no such key/i.test(error.message)) return void lengths.push(0);
      throw new Error(`sampleEventStreams: XINFO STREAM ${keys[i]} failed: ${error.message}`);
    }
    const fields = new Map<string, unknown>();
    const flat = value as unknown[];
    for (let f = 0; f + 1 < flat.length; f += 2) fields.set(String(flat[f]), flat[f + 1]);
    const length = Number(fields.get('length'));
    const added = fields.get('entries-added');
    if (added === undefined) throw new Error(`sampleEventStreams: XINFO STREAM ${keys[i]} has no entries-added (Redis 7 or later is needed)`);
    lengths.push(length);
    if (Number(added) > length) trimmed++;
  });
  return { sampled: keys.length, trimmed, medianLength: median(lengths) };
}
