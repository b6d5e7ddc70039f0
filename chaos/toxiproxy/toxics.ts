import type { ICreateToxicBody, ToxicAttributeTypes } from 'toxiproxy-node-client';

/**
 * Toxic definitions used by the chaos scenarios. Each builder validates its arguments (a clear error names the
 * field, the value and what is accepted) and returns the toxiproxy-node-client bodies to add to one proxy, on
 * both streams unless said otherwise, so a fault hits requests (node → Redis) and replies (Redis → node).
 *
 * `reset_peer` is built from its `type` string: toxiproxy-node-client 4.1.0 declares `ResetPeer` but does not
 * re-export it.
 */
export type ToxicStream = 'upstream' | 'downstream';
export const TOXIC_STREAMS: readonly ToxicStream[] = ['upstream', 'downstream'];

export type ToxicBody = ICreateToxicBody<ToxicAttributeTypes | { timeout: number }>;

function checkNumber(toxic: string, field: string, value: number, min: number, integer = true): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
    const kind = integer ? 'an integer' : 'a number';
    throw new Error(`${toxic} toxic: ${field}=${String(value)} is invalid; accepted values: ${kind} >= ${min}`);
  }
}

function checkStreams(toxic: string, streams: readonly ToxicStream[]): void {
  if (streams.length === 0) throw new Error(`${toxic} toxic: streams must not be empty; accepted values: ${TOXIC_STREAMS.join(', ')}`);
  for (const s of streams) {
    if (!TOXIC_STREAMS.includes(s)) {
      throw new Error(`${toxic} toxic: stream="${String(s)}" is invalid; accepted values: ${TOXIC_STREAMS.join(', ')}`);
    }
  }
}

function onStreams<T extends object>(type: ToxicBody['type'], attributes: T, streams: readonly ToxicStream[]): ToxicBody[] {
  checkStreams(type, streams);
  return streams.map((stream) => ({
    name: `chaos_${type}_${stream}`,
    type,
    stream,
    toxicity: 1,
    attributes: attributes as unknown as ToxicBody['attributes'],
  }));
}

const BOTH: readonly ToxicStream[] = TOXIC_STREAMS;

/** Adds `latencyMs ± jitterMs` to every chunk (both streams: a round trip costs about twice latencyMs). */
export function latencyToxic(latencyMs: number, jitterMs = 0, streams: readonly ToxicStream[] = BOTH): ToxicBody[] {
  checkNumber('latency', 'latency', latencyMs, 1);
  checkNumber('latency', 'jitter', jitterMs, 0);
  if (jitterMs > latencyMs) throw new Error(`latency toxic: jitter=${jitterMs} must not exceed latency=${latencyMs}`);
  return onStreams('latency', { latency: latencyMs, jitter: jitterMs }, streams);
}

/** TCP RST on every connection after `timeoutMs` of life (0 = as soon as data flows); reconnects get reset too. */
export function resetPeerToxic(timeoutMs: number, streams: readonly ToxicStream[] = ['upstream']): ToxicBody[] {
  checkNumber('reset_peer', 'timeout', timeoutMs, 0);
  return onStreams('reset_peer', { timeout: timeoutMs }, streams);
}

/** Black hole: the `timeout` toxic with 0 drops all data and never closes the socket (zombie TCP) until removed. */
export function blackHoleToxic(streams: readonly ToxicStream[] = BOTH): ToxicBody[] {
  return onStreams('timeout', { timeout: 0 }, streams);
}

/** Caps throughput at `rateKBps` KB/s. */
export function bandwidthToxic(rateKBps: number, streams: readonly ToxicStream[] = BOTH): ToxicBody[] {
  checkNumber('bandwidth', 'rate', rateKBps, 1);
  return onStreams('bandwidth', { rate: rateKBps }, streams);
}

/** Chops data into pieces of about `averageSize ± sizeVariation` bytes, `delayUs` microseconds apart. */
export function slicerToxic(
  averageSize: number,
  sizeVariation: number,
  delayUs: number,
  streams: readonly ToxicStream[] = BOTH,
): ToxicBody[] {
  checkNumber('slicer', 'average_size', averageSize, 1);
  checkNumber('slicer', 'size_variation', sizeVariation, 0);
  checkNumber('slicer', 'delay', delayUs, 0);
  if (sizeVariation >= averageSize) {
    throw new Error(`slicer toxic: size_variation=${sizeVariation} must be smaller than average_size=${averageSize}`);
  }
  return onStreams('slicer', { average_size: averageSize, size_variation: sizeVariation, delay: delayUs }, streams);
}
