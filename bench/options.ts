import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

/** Command-line options of `npm run bench` (see bench.ts). */

export const PARTS = ['p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7', 'p8'] as const;
export type Part = (typeof PARTS)[number];
export const DEFAULT_PARTS: Part[] = ['p1', 'p2', 'p3', 'p4'];

function partList(flag: string, raw: string | undefined): Part[] {
  if (raw === undefined) return [];
  const parts = raw.split(',').map((p) => p.trim().toLowerCase()).filter(Boolean);
  const bad = parts.filter((p) => !(PARTS as readonly string[]).includes(p));
  if (parts.length === 0 || bad.length > 0) throw new Error(`--${flag} takes a comma-separated list of ${PARTS.join(', ')}, got "${raw}"`);
  return parts as Part[];
}

/** The bench's command line (`args` without node and the script); throws naming the option that is wrong. */
export function benchOptions(args: string[]) {
  const { values } = parseArgs({
    args,
    options: {
      quick: { type: 'boolean', default: false },
      out: { type: 'string', default: 'load/results/bench.json' },
      'cron-interval': { type: 'string', default: '250' },
      'heartbeat-ttl': { type: 'string' },
      rounds: { type: 'string', default: '3' },
      only: { type: 'string' },
      with: { type: 'string' },
      'p6-entities': { type: 'string' },
      'p2-entities': { type: 'string' },
    },
  });
  const ttlRaw = values['heartbeat-ttl'];
  const heartbeatTTL = ttlRaw === undefined ? undefined : Number(ttlRaw);
  if (heartbeatTTL !== undefined && !(Number.isInteger(heartbeatTTL) && heartbeatTTL >= 2)) {
    throw new Error(`--heartbeat-ttl must be an integer >= 2 (seconds), got "${ttlRaw}"`);
  }
  const cronInterval = Number(values['cron-interval']);
  if (!Number.isInteger(cronInterval) || cronInterval < 10) {
    throw new Error(`--cron-interval must be an integer >= 10 (ms), got "${values['cron-interval']}"`);
  }
  const rounds = Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 20) throw new Error(`--rounds must be an integer from 1 to 20, got "${values.rounds}"`);
  if (values.only !== undefined && values.with !== undefined) throw new Error('--only and --with exclude each other: --only lists every part to run');
  const only = partList('only', values.only);
  const parts = new Set<Part>(only.length > 0 ? only : [...DEFAULT_PARTS, ...partList('with', values.with)]);
  if (parts.has('p3')) parts.add('p2'); // P3 is measured during P2
  const p6Raw = values['p6-entities'];
  const p6Entities = p6Raw === undefined ? undefined : Number(p6Raw);
  if (p6Entities !== undefined && !(Number.isInteger(p6Entities) && p6Entities >= 1 && p6Entities <= 50_000)) {
    throw new Error(`--p6-entities must be an integer from 1 to 50000, got "${p6Raw}"`);
  }
  const p2Raw = values['p2-entities'];
  const p2Entities = p2Raw === undefined ? undefined : Number(p2Raw);
  if (p2Entities !== undefined && !(Number.isInteger(p2Entities) && p2Entities >= 1 && p2Entities <= 20_000)) {
    throw new Error(`--p2-entities must be an integer from 1 to 20000 (P2 keeps its job total and spreads it over that many entities), got "${p2Raw}"`);
  }
  return { quick: values.quick!, out: resolve(values.out!), cronInterval, heartbeatTTL, rounds, parts, p6Entities, p2Entities };
}

export type BenchOptions = ReturnType<typeof benchOptions>;
