import { createSyncWorker, installWorkerRuntime } from '../../worker';
import {
  commandContext,
  configuredDynamics,
  configuredMarketo,
  exitOnSecondSignal,
  untilSignal,
} from '../context';

/**
 * A worker on the task queue until SIGINT/SIGTERM; in-flight activities get OPPSYNC_SHUTDOWN_GRACE to finish
 * before they are cancelled, and a second signal stops the process at once.
 */
export async function workerCommand(): Promise<number> {
  const { config, logger } = commandContext('worker');
  await installWorkerRuntime(logger, config);
  const dynamics = configuredDynamics(config.dynamics);
  const worker = await createSyncWorker({
    config,
    dynamics,
    marketo: configuredMarketo(config.marketo),
    logger,
  });
  const running = worker.run();
  logger.info(
    { taskQueue: config.temporal.taskQueue, namespace: config.temporal.namespace },
    'worker started',
  );
  const signal = await Promise.race([untilSignal(), running.then(() => undefined)]);
  if (signal !== undefined) {
    logger.info(
      { signal, graceMs: config.operations.shutdownGraceMs },
      'shutting down the worker: running activities may finish first (a second signal stops at once)',
    );
    exitOnSecondSignal(logger);
    worker.shutdown();
  }
  await running;
  logger.info('worker stopped');
  return 0;
}
