import { startApp } from './bootstrap.js';
import { loadAppConfig } from './config.js';

/**
 * Entry point of one node: `node dist/examples/order-processing/main.js`.
 * Env: REDIS_URL, PORT, NODE_ID, AQ_KEY_PREFIX, AQ_HISTORY_FILE, AQ_CRON_INTERVAL_MS, AQ_STEP_DELAY_MS, AQ_DASHBOARD_QUEUES.
 * Prints `AQ_READY <url>` once it accepts requests (the cluster launcher waits for that line).
 */
const config = loadAppConfig();

// Started by a launcher that holds our stdin: exit when it goes away, so no node outlives its run.
if (process.env.AQ_PARENT_PIPE === '1') {
  const quit = () => process.exit(137);
  process.stdin.on('end', quit).on('close', quit).on('error', quit).resume();
  process.stdin.unref();
}

startApp(config).then(
  ({ url }) => console.log(`AQ_READY ${url} node=${config.nodeId}`),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
