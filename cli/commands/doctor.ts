import { runDoctor, type Check } from '../../doctor';
import { commandContext, configuredDynamics, configuredMarketo, EXIT } from '../context';

function line(check: Check): string {
  const fix = check.fix === undefined ? '' : ` — fix: ${check.fix}`;
  return `${check.status}  ${check.name}  ${check.detail}${fix}`;
}

/**
 * Checks the deployment and prints one line per check (or `{ ok, checks }` as JSON). Exit 0 when no check
 * fails, 1 when one does, 2 when the configuration is invalid (then it is the only line).
 */
export async function doctorCommand(options: { json?: boolean }): Promise<number> {
  const report = await runDoctor(() => {
    const { config } = commandContext('doctor');
    return {
      config,
      dynamics: configuredDynamics(config.dynamics),
      marketo: configuredMarketo(config.marketo),
    };
  });
  process.stdout.write(
    options.json === true
      ? `${JSON.stringify({ ok: report.ok, checks: report.checks })}\n`
      : `${report.checks.map(line).join('\n')}\n`,
  );
  if (!report.configured) return EXIT.usage;
  return report.ok ? EXIT.ok : EXIT.runFailed;
}
