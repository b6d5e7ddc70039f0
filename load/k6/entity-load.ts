/**
 * k6 load script for the order-processing example app (`examples/order-processing`), TypeScript run natively
 * by k6 >= 0.57 (`k6 run load/k6/entity-load.ts`). Two scenarios, one after the other:
 *   many_entities  constant-arrival-rate over ENTITIES entities (each VU owns a disjoint slice of them)
 *   hot_entity     per-vu-iterations: each VU hammers its own hot entity with back-to-back jobs
 * Every job carries its entity's sequence number, so the app's job history (AQ_HISTORY_FILE) can be checked
 * for FIFO / single-worker / lost jobs afterwards with `npm run load:verify`.
 *
 * Env: BASE_URLS (comma-separated, default http://127.0.0.1:3000), PROFILE (smoke|standard|stress),
 * ENTITIES, RATE, DURATION_S, HOT_VUS, HOT_ITERATIONS, RUN_ID, SUMMARY_FILE (default load/results/k6-summary.json).
 */
import { check } from 'k6';
import exec from 'k6/execution';
import http from 'k6/http';
import { Counter, Trend } from 'k6/metrics';
import type { Options } from 'k6/options';
import { EntityCursor } from '../lib/entities.ts';
import { LOAD_ENTITY_TYPE, entityJobBody, entityJobPath, producerJobId } from '../lib/payload.ts';
import { METRICS, k6Scenarios, k6Thresholds, limitsFor, resolveProfile, type LoadProfile } from '../lib/scenarios.ts';
import { summaryText, type K6SummaryData } from '../lib/k6-summary.ts';

function envInt(name: string, fallback: number): number {
  const raw = __ENV[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return value;
}

const profileName = __ENV.PROFILE ?? 'smoke';
const base = resolveProfile(profileName);
const profile: LoadProfile = {
  ...base,
  entities: envInt('ENTITIES', base.entities),
  rate: envInt('RATE', base.rate),
  durationS: envInt('DURATION_S', base.durationS),
  hotVus: envInt('HOT_VUS', base.hotVus),
  hotIterations: envInt('HOT_ITERATIONS', base.hotIterations),
};
const scenarios = k6Scenarios(profile);
const baseUrls = (__ENV.BASE_URLS ?? 'http://127.0.0.1:3000').split(',').map((u) => u.replace(/\/$/, ''));
const owners = Math.max(scenarios.many_entities.maxVUs, scenarios.hot_entity.vus);

export const options: Options = {
  scenarios,
  thresholds: k6Thresholds(limitsFor(profileName)),
  summaryTrendStats: ['min', 'med', 'p(95)', 'p(99)', 'max'],
};

const enqueueLatency = new Trend(METRICS.enqueueLatency, true);
const rejected = new Counter(METRICS.rejected);

export function setup(): { runId: string } {
  return { runId: __ENV.RUN_ID ?? `k6${Date.now().toString(36)}` };
}

let cursor: EntityCursor | undefined;

function post(entityId: string, seq: number, owner: number): void {
  const url = baseUrls[owner % baseUrls.length] + entityJobPath(LOAD_ENTITY_TYPE, entityId);
  const body = JSON.stringify(entityJobBody(seq, Date.now(), profile.padBytes, producerJobId(entityId, seq)));
  const res = http.post(url, body, { headers: { 'Content-Type': 'application/json' }, tags: { name: 'enqueue' } });
  enqueueLatency.add(res.timings.duration);
  const ok = check(res, { 'enqueue accepted (201)': (r) => r.status === 201 });
  if (!ok) rejected.add(1, { status: String(res.status) });
}

function owner(): number {
  const id = exec.vu.idInTest;
  if (id > owners) throw new Error(`VU ${id} exceeds the ${owners} entity owners; raise maxVUs/HOT_VUS consistently`);
  return id - 1;
}

export function manyEntities(data: { runId: string }): void {
  const me = owner();
  cursor ??= new EntityCursor({ prefix: `${data.runId}-e`, entities: profile.entities, owners }, me);
  const job = cursor.next();
  if (job) post(job.entityId, job.seq, me);
}

export function hotEntity(data: { runId: string }): void {
  const me = owner();
  post(`${data.runId}-hot${me}`, exec.vu.iterationInScenario, me);
}

export function handleSummary(data: K6SummaryData): Record<string, string> {
  return {
    [__ENV.SUMMARY_FILE ?? 'load/results/k6-summary.json']: JSON.stringify(data, null, 2),
    stdout: summaryText(data, [METRICS.enqueueLatency, METRICS.rejected, 'http_req_failed', 'iterations']),
  };
}
