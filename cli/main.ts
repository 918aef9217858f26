import { Command, CommanderError, Option } from 'commander';
import { reportFailure, EXIT } from './context';
import type { CodecServerCommandOptions } from './commands/codec-server';

/*
 * Each command's module is loaded only when that command runs: a worker then never loads the emulator (its
 * certificate and token code), the dev server's helpers or the progress bars, about 18 MiB of its resident
 * memory.
 */

function program(setExit: (code: number) => void): Command {
  const run =
    <A extends unknown[]>(action: (...args: A) => Promise<number>) =>
    async (...args: A): Promise<void> => {
      setExit(await action(...args));
    };
  const cli = new Command('oppsync')
    .description(
      'Keeps a Marketo store in step with the opportunities of a Dynamics 365 organisation, on Temporal.',
    )
    .exitOverride()
    .showHelpAfterError();
  cli
    .command('dev')
    .description(
      'the demo on embedded defaults: Temporal dev server, bundled emulator, SQLite store, worker, schedule',
    )
    .action(run(async () => (await import('./commands/dev')).devCommand()));
  cli
    .command('worker')
    .description('run a worker until SIGINT/SIGTERM')
    .action(run(async () => (await import('./commands/worker')).workerCommand()));
  cli
    .command('sync')
    .description('start one run now and, by default, wait for it and print its summary')
    .option('--full', 'ignore saved change state and read everything')
    .option('--json', 'print the summary as JSON')
    .option('--no-wait', 'return as soon as the run has started')
    .option(
      '--dry-run',
      'read Dynamics as a run would and report per table what it would create, update and delete; write nothing',
    )
    .option(
      '--partitions <n>',
      'a full sync split into n key ranges run in parallel by every worker (backfill)',
    )
    .action(
      run(
        async (options: {
          full?: boolean;
          json?: boolean;
          wait?: boolean;
          dryRun?: boolean;
          partitions?: string;
        }) => (await import('./commands/sync')).syncCommand(options),
      ),
    );
  cli
    .command('schedule')
    .description("manage the Temporal Schedule 'opportunity-sync'")
    .addArgument(cli.createArgument('<action>', 'create|update|describe|pause|unpause|trigger|delete'))
    .option('--every <interval>', 'interval, e.g. 5m (default SYNC_INTERVAL)')
    .option('--json', 'print JSON on one line')
    .action(
      run(async (action: string, options: { every?: string; json?: boolean }) =>
        (await import('./commands/schedule')).scheduleCommand(action, options),
      ),
    );
  cli
    .command('status')
    .description('last runs, their counts, change state, open sync errors (live progress for a running sync)')
    .option('--json', 'print JSON')
    .option('--no-follow', 'do not follow a running sync')
    .addOption(new Option('--limit <n>', 'runs to show').default('10'))
    .action(
      run(async (options: { json?: boolean; follow?: boolean; limit?: string }) =>
        (await import('./commands/status')).statusCommand(options),
      ),
    );
  cli
    .command('errors')
    .description('the open sync errors: entity, record id, reason, first and last seen')
    .option('--json', 'print JSON')
    .option('--csv', 'print CSV with a header line')
    .action(
      run(async (options: { json?: boolean; csv?: boolean }) =>
        (await import('./commands/errors')).errorsCommand(options),
      ),
    );
  cli
    .command('migrate')
    .description('create or upgrade the store schema')
    .action(run(async () => (await import('./commands/migrate')).migrateCommand()));
  cli
    .command('doctor')
    .description(
      'check a deployment before its first run: configuration, Entra ID, table access, change tracking, ' +
        'columns, store, Temporal, search attributes, schedule (changes nothing)',
    )
    .option('--json', 'print { ok, checks } as JSON on one line')
    .action(
      run(async (options: { json?: boolean }) => (await import('./commands/doctor')).doctorCommand(options)),
    );
  cli
    .command('emulator')
    .description('run the bundled Dynamics emulator alone')
    .option('--port <port>', 'https port (default: a free one)')
    .action(
      run(async (options: { port?: string }) =>
        (await import('./commands/emulator')).emulatorCommand(options),
      ),
    );
  cli
    .command('marketo-emulator')
    .description('run the bundled Marketo REST emulator alone')
    .option('--port <port>', 'https port (default: a free one)')
    .action(
      run(async (options: { port?: string }) =>
        (await import('./commands/marketo-emulator')).marketoEmulatorCommand(options),
      ),
    );
  cli
    .command('codec-server')
    .description('serve the payload codec (OPPSYNC_PAYLOAD_KEY) so the Temporal UI shows decrypted payloads')
    .option('--port <port>', 'http port', '8888')
    .option('--host <host>', 'address to listen on (other than loopback only with OPPSYNC_CODEC_TOKEN)')
    .option('--origin <origin...>', 'Temporal UI origins allowed (default OPPSYNC_CODEC_ORIGINS)')
    .action(
      run(async (options: CodecServerCommandOptions) =>
        (await import('./commands/codec-server')).codecServerCommand(options),
      ),
    );
  return cli;
}

export async function runCli(argv: string[]): Promise<number> {
  let code: number = EXIT.ok;
  try {
    await program((c) => (code = c)).parseAsync(argv);
    return code;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    return reportFailure(error);
  }
}

export function main(argv: string[]): void {
  runCli(argv).then(
    (code) => process.exit(code),
    (error: unknown) => process.exit(reportFailure(error)),
  );
}
