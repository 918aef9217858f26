import { ensureSchedule, runSync } from '../../client';
import { connectClient } from '../../temporal';
import { createSyncWorker, installWorkerRuntime } from '../../worker';
import { commandContext, exitOnSecondSignal, untilSignal } from '../context';
import { startEmbedded } from '../embedded';

/**
 * The demo on embedded defaults: Temporal dev server, bundled emulator, SQLite store, a worker, the schedule,
 * and a first run right away. Ctrl-C stops everything it started.
 */
export async function devCommand(): Promise<number> {
  const { config: configured, logger } = commandContext('dev');
  await installWorkerRuntime(logger, configured);
  const embedded = await startEmbedded(configured, logger);
  const { config } = embedded;
  try {
    // On its own dev server the demo's worker is the only one: each start makes its build current, so a demo
    // restarted with changed workflow code takes new runs at once.
    const promote = embedded.devServer === undefined ? undefined : 'always';
    const worker = await createSyncWorker({
      config,
      dynamics: embedded.dynamics,
      marketo: embedded.marketo,
      logger,
      promote,
    });
    const running = worker.run();
    const { client, connection } = await connectClient(config);
    try {
      const taskQueue = config.temporal.taskQueue;
      await ensureSchedule(client, { taskQueue, every: config.sync.interval });
      const ui = embedded.devServer?.uiUrl;
      process.stdout.write(`Temporal UI: ${ui ?? `(your cluster at ${config.temporal.address})`}\n`);
      const outcome = await runSync(client, { taskQueue });
      const s = outcome.summary;
      process.stdout.write(
        `First run ${s.status}: ${s.opportunitiesUpserted} opportunities, ${s.rolesUpserted} roles, ` +
          `${s.leadsUpserted} leads, ${s.companiesUpserted} companies into ${config.storeUrl}\n`,
      );
      if (ui !== undefined) {
        process.stdout.write(
          `See it at ${ui}/namespaces/${config.temporal.namespace}/workflows/${s.workflowId}\n`,
        );
      }
      const pushed = embedded.marketoEmulator;
      if (s.marketo !== undefined)
        process.stdout.write(
          `Pushed to Marketo${pushed === undefined ? '' : ' (the bundled emulator)'}: ${s.marketo.accepted} records in ${s.marketo.calls} calls` +
            `${s.marketo.skipped > 0 ? `, ${s.marketo.skipped} skipped (oppsync errors)` : ''}\n`,
        );
      if (pushed !== undefined)
        process.stdout.write(
          `What Marketo holds now: ${pushed.url}/_emulator/data/opportunities (also companies, leads, roles; ` +
            `curl -k, or NODE_EXTRA_CA_CERTS=${pushed.caFile})\n`,
        );
      if (outcome.error !== undefined)
        process.stderr.write(`oppsync: the first run failed: ${outcome.error}\n`);
      process.stdout.write(
        `The schedule 'opportunity-sync' runs every ${config.sync.interval}. Ctrl-C stops the demo.\n`,
      );
      const signal = await Promise.race([untilSignal(), running.then(() => undefined)]);
      logger.info({ signal }, 'stopping the demo (a second signal stops at once)');
      if (signal !== undefined) exitOnSecondSignal(logger);
    } finally {
      await connection.close();
      worker.shutdown();
      await running;
    }
    return 0;
  } finally {
    await embedded.stop();
  }
}
