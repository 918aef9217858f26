import { SingleBar, Presets } from 'cli-progress';
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { connectClient } from '../../temporal';
import { opportunitySync } from '../../workflows';
import type { SyncProgress, SyncSummary } from '../../workflows';
import { decodeChangeState } from '../../activities';
import { MarketoStore } from '../../store';
import { createMarketoDestination } from '../../marketo';
import { PUSH_STEPS } from '../../workflows';
import { commandContext, configuredMarketo } from '../context';
import { formatTable } from '../table';

/** `MM/dd/yyyy HH:mm:ss` (UTC) at the end of a delta token: the moment up to which the table's changes were read. */
function deltaTokenTime(link: string): string {
  const token = decodeURIComponent(/[?&]\$deltatoken=([^&]*)/.exec(link)?.[1] ?? '');
  const match = /!(\d{2})\/(\d{2})\/(\d{4}) (\d{2}:\d{2}:\d{2})$/.exec(token);
  return match === null ? '(in the token)' : `${match[3]}-${match[1]}-${match[2]}T${match[4]}Z`;
}

/** One row per table with saved change state: how its changes are read, and up to when they were seen. */
function changeRows(state: Record<string, { value: string; updatedAt: string }>): string[][] {
  return Object.entries(state).flatMap(([key, { value }]) => {
    if (!key.startsWith('changes:')) return [];
    const decoded = decodeChangeState(value);
    if (decoded === undefined) return [[key.slice('changes:'.length), 'unreadable', value]];
    return [
      decoded.kind === 'delta'
        ? [key.slice('changes:'.length), 'change tracking', deltaTokenTime(decoded.link)]
        : [key.slice('changes:'.length), 'modifiedon watermark', decoded.since],
    ];
  });
}

interface RunStatus {
  workflowId: string;
  runId: string;
  status: string;
  startedAt: string;
  closedAt: string | null;
  durationSeconds: number | null;
  summary: SyncSummary | null;
  progress: SyncProgress | null;
}

async function runStatus(client: Client, execution: WorkflowExecutionInfo): Promise<RunStatus> {
  const memo = execution.memo?.summary as SyncSummary | undefined;
  let progress: SyncProgress | null = null;
  if (execution.status.name === 'RUNNING') {
    progress = await client.workflow
      .getHandle(execution.workflowId, execution.runId)
      .query<SyncProgress>('progress')
      .catch(() => null);
  }
  const closed = execution.closeTime ?? null;
  return {
    workflowId: execution.workflowId,
    runId: execution.runId,
    status: execution.status.name,
    startedAt: execution.startTime.toISOString(),
    closedAt: closed?.toISOString() ?? null,
    durationSeconds:
      closed === null ? null : Math.round((closed.getTime() - execution.startTime.getTime()) / 100) / 10,
    summary: memo ?? null,
    progress,
  };
}

/** Follows a running sync with a progress bar until it ends. */
async function followProgress(client: Client, run: RunStatus): Promise<void> {
  const handle = client.workflow.getHandle(run.workflowId);
  const bar = new SingleBar(
    {
      format:
        'sync {bar} {pages} pages | {value} opportunities | {rate}/s | phase {phase} | eta {eta_formatted}',
      hideCursor: true,
    },
    Presets.shades_classic,
  );
  let started = false;
  for (;;) {
    const progress = await handle.query<SyncProgress>('progress').catch(() => null);
    const described = await handle.describe();
    if (progress !== null) {
      const done = progress.counts.opportunitiesUpserted + progress.counts.opportunitiesDeleted;
      const seconds = Math.max(1, (Date.now() - Date.parse(progress.startedAt)) / 1000);
      const total = Math.max(done, 1);
      const payload = {
        pages: progress.counts.pages,
        rate: Math.round(done / seconds),
        phase: progress.phase,
      };
      if (!started) {
        bar.start(total, done, payload);
        started = true;
      } else {
        bar.setTotal(Math.max(total, done));
        bar.update(done, payload);
      }
    }
    if (described.status.name !== 'RUNNING') break;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  if (started) bar.stop();
}

/** The push's state when MARKETO_REST_URL is set: last push per step, what is pending, calls used today. */
async function pushStatus(config: ReturnType<typeof commandContext>['config'], store: MarketoStore) {
  const connection = configuredMarketo(config.marketo);
  if (connection === undefined) return undefined;
  const destination = createMarketoDestination({ connection, config: config.marketo, store });
  const quota = await destination.usage();
  const lastPush: Partial<
    Record<(typeof PUSH_STEPS)[number], { at: string; sent: number; skipped: number }>
  > = {};
  for (const step of PUSH_STEPS) {
    const saved = await store.state.get(`marketo-push:${step}`);
    if (saved !== undefined)
      lastPush[step] = JSON.parse(saved) as { at: string; sent: number; skipped: number };
  }
  return {
    url: connection.url,
    paused: quota.exhausted,
    quota,
    lastPush,
    pending: await destination.pending(false),
  };
}

export async function statusCommand(options: {
  json?: boolean;
  follow?: boolean;
  limit?: string;
}): Promise<number> {
  const { config } = commandContext('status');
  const { client, connection } = await connectClient(config);
  const store = await MarketoStore.open(config.storeUrl);
  try {
    const runs: RunStatus[] = [];
    const limit = Number(options.limit ?? 10);
    for await (const execution of client.workflow.list({
      query: `WorkflowType = '${opportunitySync.name}'`,
    })) {
      runs.push(await runStatus(client, execution));
      if (runs.length >= limit) break;
    }
    await store.migrate();
    const changeState = await store.state.all();
    const openSyncErrors = await store.openErrorCount();
    const marketo = await pushStatus(config, store);
    const status = { runs, changeState, openSyncErrors, ...(marketo !== undefined ? { marketo } : {}) };
    if (options.json === true) {
      process.stdout.write(`${JSON.stringify(status)}\n`);
      return 0;
    }
    const running = runs.find((run) => run.status === 'RUNNING');
    if (running !== undefined && options.follow !== false && process.stdout.isTTY)
      await followProgress(client, running);
    for (const run of runs) {
      const s = run.summary ?? run.progress?.counts;
      const counts =
        s === undefined || s === null
          ? ''
          : ` pages=${s.pages} opportunities=${s.opportunitiesUpserted} deleted=${s.opportunitiesDeleted} roles=${s.rolesUpserted} syncErrors=${s.syncErrors}`;
      const took = run.durationSeconds === null ? '' : ` ${run.durationSeconds}s`;
      process.stdout.write(`${run.startedAt} ${run.status.padEnd(10)} ${run.workflowId}${took}${counts}\n`);
    }
    process.stdout.write(
      `\nChange state\n${formatTable(['table', 'mode', 'last change seen'], changeRows(changeState))}`,
    );
    if (marketo !== undefined) {
      const rows = PUSH_STEPS.map((step) => {
        const last = marketo.lastPush[step];
        const pending = marketo.pending[step];
        return [
          step,
          String(last?.sent ?? 0),
          String(last?.skipped ?? 0),
          String(pending.create + pending.update + pending.delete),
          last?.at ?? 'never',
        ];
      });
      process.stdout.write(
        `\nMarketo push (${marketo.url})${marketo.paused ? ': PAUSED, daily quota reached (the next run after the reset goes on)' : ''}\n` +
          formatTable(['step', 'sent last push', 'skipped', 'pending', 'last push'], rows) +
          `Calls today (${marketo.quota.day}, CST): ${marketo.quota.used} of ${marketo.quota.limit}\n`,
      );
    }
    process.stdout.write(
      `\nOpen sync errors: ${openSyncErrors}${openSyncErrors > 0 ? ' (oppsync errors)' : ''}\n`,
    );
    return 0;
  } finally {
    await store.close();
    await connection.close();
  }
}
