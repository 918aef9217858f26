import { Command, InvalidArgumentError, Option } from 'commander';

export interface BenchOptions {
  opportunities: number;
  pageSize: number;
  store: 'sqlite' | 'postgres';
  latencyMs: number;
  changeRatio: number;
  /** Partition counts: instead of the full + incremental measurement, one partitioned full sync per count. */
  partitions?: number[];
  /** Worker processes for the partitioned runs. */
  workers: number;
  /** A Temporal server to run on (the cluster of scripts/temporal-cluster.sh) instead of a dev server. */
  temporalAddress?: string;
  /** The emulator enforces Dataverse's service-protection limits (6,000 requests / 5 min, 52 concurrent). */
  serviceProtection: boolean;
  /** SYNC_READ_AHEAD for the worker: read the next page while the current one is written. */
  readAhead: boolean;
  /** Full syncs against their limit, each with a fresh store and worker (the machine's speed drifts). */
  repeat: number;
  /** Also push into the Marketo emulator after each run and measure the push (bench/marketo.ts). */
  marketo: boolean;
  /** Marketo emulator latency added to every REST call (with `--marketo`). */
  marketoLatencyMs: number;
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

function partitionList(value: string): number[] {
  const counts = value.split(',').map((part) => Number(part.trim()));
  if (counts.length === 0 || counts.some((count) => !Number.isInteger(count) || count < 1 || count > 64))
    throw new InvalidArgumentError('a comma-separated list of integers from 1 to 64, e.g. 1,2,4');
  return counts;
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
    .option(
      '--partitions <list>',
      'instead of full + incremental: a partitioned full sync per count (e.g. 1,2,4), each into a fresh store',
      partitionList,
    )
    .option('--workers <n>', 'worker processes for the --partitions runs', integer(1, 8), 2)
    .option(
      '--temporal-address <host:port>',
      'run on this Temporal server (scripts/temporal-cluster.sh start: 127.0.0.1:7333) instead of a dev server',
    )
    .option(
      '--service-protection',
      "the emulator enforces Dataverse's limits (6,000 requests / 5 min, 52 concurrent); default: unlimited",
      false,
    )
    .option('--no-read-ahead', 'run the worker with SYNC_READ_AHEAD=false (pages read one at a time)')
    .option(
      '--repeat <n>',
      'full syncs against their limit, each with a fresh store and worker; the table adds every ratio and their median',
      integer(1, 20),
      1,
    )
    .option('--marketo', 'also push each run into the Marketo emulator and measure the push', false)
    .option(
      '--marketo-latency-ms <n>',
      'Marketo emulator latency added to every REST call (with --marketo)',
      integer(0, 60_000),
      150,
    )
    .option(
      '--out <file>',
      'JSON result file (default bench/results/<store>-<n>[-marketo]-<timestamp>.json, partitions-… with --partitions)',
    );
  program.parse(argv);
  // commander prints usage and exits on a bad option; --store is checked by its choices.
  const options = program.opts<BenchOptions>();
  if (options.marketo && options.partitions !== undefined)
    program.error('--marketo measures the full + incremental syncs; it does not go with --partitions');
  return options;
}
