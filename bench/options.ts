import { Command, InvalidArgumentError, Option } from 'commander';

export interface BenchOptions {
  opportunities: number;
  pageSize: number;
  store: 'sqlite' | 'postgres';
  latencyMs: number;
  changeRatio: number;
  out?: string;
}

function integer(min: number, max: number) {
  return (value: string): number => {
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < min || parsed > max)
      throw new InvalidArgumentError(`an integer from ${min} to ${max}`);
    return parsed;
  };
}

function ratio(value: string): number {
  const parsed = Number(value);
  if (!(parsed > 0 && parsed <= 1)) throw new InvalidArgumentError('a number in (0, 1]');
  return parsed;
}

/** `npm run bench -- --opportunities 10000 --store postgres` */
export function parseBenchOptions(argv: string[]): BenchOptions {
  const program = new Command('bench')
    .description('Full and incremental sync of a generated organisation, against the limit of its parts')
    .option(
      '--opportunities <n>',
      'opportunities in the generated organisation',
      integer(1, 10_000_000),
      100_000,
    )
    .option('--page-size <n>', 'SYNC_PAGE_SIZE (odata.maxpagesize)', integer(1, 5000), 5000)
    .addOption(
      new Option('--store <kind>', 'the Marketo store').choices(['sqlite', 'postgres']).default('sqlite'),
    )
    .option('--latency-ms <n>', 'emulator latency added to every Web API request', integer(0, 60_000), 0)
    .option('--change-ratio <r>', 'share of opportunities changed before the incremental sync', ratio, 0.01)
    .option('--out <file>', 'JSON result file (default bench/results/<store>-<n>-<timestamp>.json)');
  program.parse(argv);
  // commander prints usage and exits on a bad option; --store is checked by its choices.
  return program.opts<BenchOptions>();
}
