/**
 * Runs `cleanup` (stop the private redis-server, the cluster) when the process gets SIGINT/SIGTERM, then exits
 * with 130/143. Returns a function that removes the handlers.
 */
export function cleanupOnSignals(cleanup: () => Promise<unknown>): () => void {
  const handler = (signal: NodeJS.Signals) => {
    void cleanup()
      .catch(() => undefined)
      .finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}
