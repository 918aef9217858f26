import { stringify } from 'csv-stringify/sync';
import { MarketoStore, type SyncErrorListing } from '../../store';
import { commandContext, UsageError } from '../context';
import { formatTable } from '../table';

const COLUMNS = ['entity', 'record_id', 'error', 'first_seen_at', 'last_seen_at'] as const;

/** The open sync_errors (SPEC section 5): what could not be synced, why, and since when. */
export async function errorsCommand(options: { json?: boolean; csv?: boolean }): Promise<number> {
  if (options.json === true && options.csv === true) throw new UsageError('--json and --csv: choose one');
  const { config } = commandContext('errors');
  const store = await MarketoStore.open(config.storeUrl);
  let errors: SyncErrorListing[];
  try {
    errors = await store.openErrors();
  } finally {
    await store.close();
  }
  if (options.json === true) process.stdout.write(`${JSON.stringify(errors)}\n`);
  else if (options.csv === true)
    process.stdout.write(
      stringify(errors, { header: true, columns: [...COLUMNS], record_delimiter: 'unix' }),
    );
  else if (errors.length === 0) process.stdout.write('No open sync errors.\n');
  else {
    const rows = errors.map((e) => [e.entity, e.record_id, e.error, e.first_seen_at, e.last_seen_at]);
    process.stdout.write(formatTable(['entity', 'record', 'reason', 'first seen', 'last seen'], rows));
    process.stdout.write(`${errors.length} open sync error${errors.length === 1 ? '' : 's'}\n`);
  }
  return 0;
}
