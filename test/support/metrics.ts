import fs from 'node:fs';

/** One sample of the Prometheus text exposition format: `name{label="value",…} value`. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A scrape, parsed: its samples and the metric families its `# TYPE` lines declare (name → type). */
export interface Scrape {
  samples: Sample[];
  types: Map<string, string>;
  /** Families declared more than once (an exposition Prometheus rejects). */
  redeclared: string[];
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

function parseValue(text: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  return Number(text);
}

/**
 * Parses the text format (version 0.0.4) as prom-client and the SDK core's exporter write it. No kept npm
 * package parses it (prom-client only writes it), and the format is a line grammar: names, labels, values.
 */
export function parseExposition(text: string): Scrape {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  const redeclared: string[] = [];
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '') continue;
    if (trimmed.startsWith('#')) {
      const type = /^# TYPE (\S+) (\S+)$/.exec(trimmed);
      if (type !== null) {
        const [, name = '', kind = ''] = type;
        if (types.has(name)) redeclared.push(name);
        types.set(name, kind);
      }
      continue;
    }
    const match = SAMPLE.exec(trimmed);
    if (match === null) throw new Error(`not a sample line: ${trimmed}`);
    const [, name = '', labelText = '', value = ''] = match;
    const labels: Record<string, string> = {};
    for (const [, key = '', raw = ''] of labelText.matchAll(LABEL))
      labels[key] = raw.replace(/\\n/g, '\n').replace(/\\(["\\])/g, '$1');
    samples.push({ name, labels, value: parseValue(value) });
  }
  return { samples, types, redeclared };
}

/** The value of the one sample of `name` whose labels include `labels`; undefined when there is none. */
export function valueOf(
  scrape: Scrape,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const found = scrape.samples.filter(
    (sample) =>
      sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
  );
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return found[0]?.value;
}

/** Every metric name a scrape serves: its families and their sample names (`_bucket`, `_sum`, `_count`, …). */
export function servedNames(scrape: Scrape): Set<string> {
  return new Set([...scrape.types.keys(), ...scrape.samples.map((sample) => sample.name)]);
}

export async function scrape(address: string): Promise<Scrape> {
  const response = await fetch(`http://${address}/metrics`);
  if (!response.ok) throw new Error(`GET /metrics: HTTP ${response.status}`);
  return parseExposition(await response.text());
}

/**
 * The TCP ports a process listens on (Linux): its socket inodes matched against /proc/net/tcp{,6} LISTEN rows.
 */
export function listeningPorts(pid: number): number[] {
  const inodes = new Set<string>();
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      const target = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      if (inode !== undefined) inodes.add(inode);
    } catch {
      // closed meanwhile
    }
  }
  const ports: number[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!fs.existsSync(table)) continue;
    for (const row of fs.readFileSync(table, 'utf8').split('\n').slice(1)) {
      const columns = row.trim().split(/\s+/);
      const [, local = '', , state = ''] = columns;
      // State 0A is LISTEN; column 10 is the socket's inode.
      if (state === '0A' && inodes.has(columns[9] ?? '')) ports.push(parseInt(local.split(':')[1] ?? '', 16));
    }
  }
  return ports.sort((a, b) => a - b);
}
