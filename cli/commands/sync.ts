import { jsonSummary, runSync, startSync } from '../../client';
import { connectClient } from '../../temporal';
import { ensureSearchAttributes } from '../../temporal';
import { dryRun } from '../../dry-run';
import { formatTable } from '../table';
import { commandContext, configuredDynamics, configuredMarketo, EXIT, UsageError } from '../context';

export interface SyncCommandOptions {
  full?: boolean;
  json?: boolean;
  wait?: boolean;
  dryRun?: boolean;
  partitions?: string;
}

export async function syncCommand(options: SyncCommandOptions): Promise<number> {
  const partitions = options.partitions === undefined ? undefined : Number(options.partitions);
  if (partitions !== undefined && (!Number.isInteger(partitions) || partitions < 1 || partitions > 64)) {
    throw new UsageError(`--partitions: must be a whole number from 1 to 64, got '${options.partitions}'`);
  }
  if (options.dryRun === true) return dryRunCommand(options);
  const { config } = commandContext('sync');
  const { client, connection } = await connectClient(config);
  try {
    // Never start a run that would hang on a namespace without the attributes it sets (exit 2 instead).
    await ensureSearchAttributes(connection.operatorService, config.temporal.namespace, { register: true });
    const taskQueue = config.temporal.taskQueue;
    if (options.wait === false) {
      const handle = await startSync(client, { taskQueue, full: options.full, partitions });
      const started = { workflowId: handle.workflowId, runId: handle.firstExecutionRunId, status: 'RUNNING' };
      process.stdout.write(
        options.json === true ? `${JSON.stringify(started)}\n` : `Started ${handle.workflowId}\n`,
      );
      return EXIT.ok;
    }
    const outcome = await runSync(client, {
      taskQueue,
      full: options.full,
      partitions,
      onWaiting: (holder) =>
        process.stderr.write(
          `oppsync: another run (${holder.split('/')[0]}) is writing; this run waits for it to finish\n`,
        ),
    });
    if (options.json === true) {
      const json = {
        ...jsonSummary(outcome.summary),
        ...(outcome.error === undefined ? {} : { error: outcome.error }),
      };
      process.stdout.write(`${JSON.stringify(json)}\n`);
    } else {
      const s = outcome.summary;
      process.stdout.write(
        `${s.status} ${s.mode} sync ${s.workflowId}: ${s.pages} pages, ${s.opportunitiesUpserted} opportunities written, ` +
          `${s.opportunitiesDeleted} deleted, ${s.rolesUpserted} roles written, ${s.rolesDeleted} removed, ` +
          `${s.leadsUpserted} leads, ${s.companiesUpserted} companies, ${s.syncErrors} sync errors, ` +
          `${s.dynamicsRequests} Dynamics requests\n`,
      );
      if (outcome.error !== undefined) process.stderr.write(`oppsync: the run failed: ${outcome.error}\n`);
    }
    return outcome.summary.status === 'COMPLETED' ? EXIT.ok : EXIT.runFailed;
  } finally {
    await connection.close();
  }
}

/** `--dry-run`: the run's reads and decisions in this process, into a copy of the store; nothing is written. */
async function dryRunCommand(options: SyncCommandOptions): Promise<number> {
  if (options.wait === false || options.partitions !== undefined)
    throw new UsageError('--dry-run runs here and now: it takes neither --no-wait nor --partitions');
  const { config, logger } = commandContext('sync');
  const report = await dryRun({
    config,
    dynamics: configuredDynamics(config.dynamics),
    marketo: configuredMarketo(config.marketo),
    logger,
    full: options.full,
  });
  if (options.json === true) {
    process.stdout.write(`${JSON.stringify(report)}\n`);
    return EXIT.ok;
  }
  const rows = Object.entries(report.changes).map(([table, change]) => [
    table,
    String(change.created.length),
    String(change.updated.length),
    String(change.deleted.length),
  ]);
  process.stdout.write(
    `Dry run (${report.mode}, ${report.dynamicsRequests} Dynamics requests): nothing was written.\n` +
      formatTable(['table', 'create', 'update', 'delete'], rows) +
      (report.marketo === undefined
        ? ''
        : `\nMarketo (${config.marketo.restUrl ?? ''}): what the push would send\n` +
          formatTable(
            ['step', 'create', 'update', 'delete'],
            Object.entries(report.marketo).map(([step, n]) => [
              step,
              String(n.create),
              String(n.update),
              String(n.delete),
            ]),
          )),
  );
  return EXIT.ok;
}
