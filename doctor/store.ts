import { readSchemaStatus, redactUrl } from '../store';
import { fail, notChecked, pass, reason, type Check } from './check';

const REACHABLE = 'store reachable';
const SCHEMA = 'store schema';

/** The store answers and has every migration this version ships, read without migrating anything. */
export async function checkStore(url: string): Promise<Check[]> {
  const where = redactUrl(url);
  let status;
  try {
    status = await readSchemaStatus(url);
  } catch (error) {
    const missing = (error as { code?: unknown }).code === 'STORE_FILE_MISSING';
    return [
      fail(
        REACHABLE,
        `${where}: ${reason(error)}`,
        missing
          ? 'run oppsync migrate, which creates it (the worker also does at start), or correct MARKETO_DB_URL'
          : 'check MARKETO_DB_URL and that the database server is up and lets this user connect',
      ),
      notChecked(SCHEMA, 'the store is not reachable'),
    ];
  }
  const reachable = pass(REACHABLE, where);
  if (status.unknown.length > 0) {
    return [
      reachable,
      fail(
        SCHEMA,
        `migrated by a newer oppsync: ${status.unknown.join(', ')} unknown to this version`,
        'run the oppsync version that migrated this store (or a later one)',
      ),
    ];
  }
  if (status.pending.length > 0) {
    return [
      reachable,
      fail(
        SCHEMA,
        `not migrated: ${status.pending.length} migration(s) to apply (${status.pending.join(', ')})`,
        'run oppsync migrate (the worker also migrates at start)',
      ),
    ];
  }
  return [reachable, pass(SCHEMA, `all ${status.applied.length} migration(s) applied`)];
}
