/**
 * `oppsync doctor`: checks a deployment before its first run, one line per check, and changes nothing anywhere
 * (it reads Dynamics, reads the store read-only, registers no search attribute and creates no schedule).
 */
import { notChecked, type Check } from './check';
import { checkColumns, COLUMN_CHECK_NAMES } from './columns';
import { checkConfiguration, type Configured } from './configuration';
import { checkEntra, syncIdentity } from './entra';
import { checkMarketo } from './marketo';
import { checkStore } from './store';
import { checkChangeTracking, checkReadAccess, TABLE_CHECK_NAMES } from './tables';
import { checkTemporal } from './temporal';

export type { Check } from './check';
export type { Configured } from './configuration';

export interface DoctorReport {
  ok: boolean;
  /** False when the configuration is invalid: nothing else was checked (exit code 2). */
  configured: boolean;
  checks: Check[];
}

/** Dynamics, in the order a run needs it: tokens, then the tables with the sync identity's token. */
async function dynamicsChecks({ config, dynamics }: Configured): Promise<Check[]> {
  const entra = await checkEntra(dynamics);
  const { client } = entra;
  if (client === undefined) {
    const because = entra.noClient ?? 'no token';
    return [
      ...entra.checks,
      ...[...TABLE_CHECK_NAMES, ...COLUMN_CHECK_NAMES].map((name) => notChecked(name, because)),
    ];
  }
  return [
    ...entra.checks,
    ...(await checkReadAccess(client, syncIdentity(dynamics))),
    ...(await checkChangeTracking(client)),
    ...(await checkColumns(client, config.sync)),
  ];
}

/** Runs every check; Dynamics, the store and Temporal are independent, so they are checked side by side. */
export async function runDoctor(load: () => Configured): Promise<DoctorReport> {
  const { check, configured } = checkConfiguration(load);
  if (configured === undefined) return { ok: false, configured: false, checks: [check] };
  const groups = await Promise.all([
    dynamicsChecks(configured),
    checkStore(configured.config.storeUrl),
    checkTemporal(configured.config.temporal),
    checkMarketo(configured.config, configured.marketo),
  ]);
  const checks = [check, ...groups.flat()];
  return { ok: checks.every((c) => c.status !== 'FAIL'), configured: true, checks };
}
