import { DefaultLogger, Runtime, type LogEntry } from '@temporalio/worker';
import type { Logger } from '../shared/logger';

let installed = false;

/**
 * Sends the Temporal SDK's own logs (worker, workflow and activity contexts, with their run and activity ids)
 * through our JSON logger. The SDK Runtime is a process singleton, so this installs once.
 */
export function installRuntimeLogger(logger: Logger, level: string): void {
  if (installed) return;
  installed = true;
  const sdkLevel = (
    ['trace', 'debug', 'info', 'warn', 'error'].includes(level) ? level.toUpperCase() : 'WARN'
  ) as 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  const sdk = logger.child({ component: 'temporal-sdk' });
  Runtime.install({
    logger: new DefaultLogger(sdkLevel, (entry: LogEntry) => {
      const meta = { ...(entry.meta ?? {}) };
      const method = entry.level.toLowerCase() as 'trace' | 'debug' | 'info' | 'warn' | 'error';
      sdk[method](meta, entry.message);
    }),
  });
}
