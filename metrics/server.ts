import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../logging';
import type { OppsyncMetrics, StoreReadings } from './oppsync-metrics';

export interface MetricsServerOptions {
  /** `host:port` to listen on (OPPSYNC_METRICS_ADDRESS). */
  address: string;
  metrics: OppsyncMetrics;
  /** Reads the store gauges; a failure leaves them out of that scrape. */
  readStore: () => Promise<StoreReadings>;
  /** Where the SDK core's own Prometheus exporter listens (loopback), when the runtime was installed with it. */
  sdkMetricsAddress?: string;
  logger: Logger;
}

export interface MetricsServer {
  /** The address it listens on (the port the system chose when the configured one was 0). */
  readonly address: string;
  close(): Promise<void>;
}

// A scrape that waits longer than this for the SDK's exporter serves oppsync's metrics alone.
const SDK_SCRAPE_TIMEOUT_MS = 2000;

/** `host:port` → host and port; `[::1]:9464` is the IPv6 form. */
function splitHostPort(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  return {
    host: address.slice(0, colon).replace(/^\[(.*)\]$/, '$1'),
    port: Number(address.slice(colon + 1)),
  };
}

async function sdkMetrics(address: string, logger: Logger): Promise<string> {
  try {
    const response = await fetch(`http://${address}/metrics`, {
      signal: AbortSignal.timeout(SDK_SCRAPE_TIMEOUT_MS),
    });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    return await response.text();
  } catch (error) {
    logger.warn({ err: error }, 'the Temporal SDK metrics could not be read; serving oppsync metrics alone');
    return '';
  }
}

/**
 * Serves `GET /metrics`: oppsync's metrics (prom-client) followed by the Temporal SDK core's, which core exports
 * on a loopback port of its own. One port for the operator to scrape; the two sets never share a name (core
 * prefixes its own with `temporal_`, prom-client's process metrics are `process_` and `nodejs_`).
 */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const { metrics, logger } = options;
  const log = logger.child({ component: 'metrics' });
  const server = http.createServer((request, response) => {
    const path = (request.url ?? '').split('?')[0];
    if (request.method !== 'GET' || path !== '/metrics') {
      response.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found: try /metrics\n');
      return;
    }
    void (async () => {
      const readings = await options.readStore().catch((error: unknown) => {
        log.warn({ err: error }, 'the store could not be read for the metrics');
        return undefined;
      });
      metrics.setStoreReadings(readings);
      const [own, sdk] = await Promise.all([
        metrics.metrics(),
        options.sdkMetricsAddress === undefined ? '' : sdkMetrics(options.sdkMetricsAddress, log),
      ]);
      const body = sdk === '' ? own : `${own.replace(/\n*$/, '\n')}${sdk}`;
      response.writeHead(200, { 'Content-Type': metrics.contentType }).end(body);
    })().catch((error: unknown) => {
      log.error({ err: error }, 'metrics scrape failed');
      if (!response.headersSent) response.writeHead(500, { 'Content-Type': 'text/plain' });
      response.end();
    });
  });
  const { host, port } = splitHostPort(options.address);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  const address = `${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}`;
  log.info({ address: `http://${address}/metrics` }, 'serving Prometheus metrics');
  return {
    address,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
