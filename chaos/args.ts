import { PROFILE_NAMES, getProfile, type ProfileName } from './profile.js';
import { SCENARIO_NAMES, getScenario, type ScenarioName } from './scenarios.js';

/** Self-test variants: deliberately unsafe configurations the checks must catch. */
export type SelfTestName = 'concurrency-2';
export const SELF_TEST_NAMES: readonly SelfTestName[] = ['concurrency-2'];

export interface ChaosArgs {
  scenarios: ScenarioName[];
  profile: ProfileName;
  selfTests: SelfTestName[];
  /** Override of the profile's node count (>= 3). */
  nodes?: number;
  /** Directory of report.json / report.html (default chaos/). */
  outDir?: string;
  help: boolean;
}

export const USAGE = `usage: npm run chaos -- [--scenario <name>]... [--profile ci|full] [--self-test <name>|--no-self-test] [--nodes N] [--out <dir>]
  --scenario      run only these scenarios (repeatable or comma-separated); default: all of
                  ${SCENARIO_NAMES.join(', ')}
  --profile       ${PROFILE_NAMES.join(' | ')} (default full; ci keeps every scenario within ~30 s)
  --self-test     unsafe-configuration run that must report violations: ${SELF_TEST_NAMES.join(', ')}
                  (default: all when every scenario runs, none with --scenario)
  --no-self-test  skip the self-test
  --nodes         node processes, >= 3 (default from the profile)
  --out           directory for report.json and report.html (default chaos/)`;

function value(argv: readonly string[], i: number, flag: string): string {
  const v = argv[i + 1];
  if (v === undefined || v.startsWith('--')) throw new Error(`${flag} needs a value\n${USAGE}`);
  return v;
}

export function parseChaosArgs(argv: readonly string[]): ChaosArgs {
  const scenarios: ScenarioName[] = [];
  let selfTests: SelfTestName[] | undefined;
  let profile: ProfileName = 'full';
  let nodes: number | undefined;
  let outDir: string | undefined;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const take = () => inline ?? value(argv, i++, flag);
    switch (flag) {
      case '--scenario':
      case '-s':
        for (const name of take().split(',').filter(Boolean)) scenarios.push(getScenario(name).name);
        break;
      case '--profile':
        profile = getProfile(take()).name;
        break;
      case '--self-test': {
        const s = take();
        if (!(SELF_TEST_NAMES as readonly string[]).includes(s)) throw new Error(`--self-test "${s}" is unknown; accepted values: ${SELF_TEST_NAMES.join(', ')}`);
        selfTests = [...(selfTests ?? []), s as SelfTestName];
        break;
      }
      case '--no-self-test':
        selfTests = [];
        break;
      case '--nodes': {
        const raw = take();
        const n = Number(raw);
        if (!Number.isInteger(n) || n < 3) throw new Error(`--nodes "${raw}" is invalid; accepted values: an integer >= 3`);
        nodes = n;
        break;
      }
      case '--out':
        outDir = take();
        break;
      case '--help':
      case '-h':
        help = true;
        break;
      default:
        throw new Error(`unknown argument "${arg}"\n${USAGE}`);
    }
  }
  const all = scenarios.length === 0;
  return {
    scenarios: all ? [...SCENARIO_NAMES] : [...new Set(scenarios)],
    profile,
    selfTests: selfTests ?? (all ? [...SELF_TEST_NAMES] : []),
    nodes,
    outDir,
    help,
  };
}
