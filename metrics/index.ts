/** The worker's Prometheus metrics (OPPSYNC_METRICS_ADDRESS): oppsync's own and the Temporal SDK's, on one port. */
export { OppsyncMetrics, readStoreGauges, type StoreReadings } from './oppsync-metrics';
export { startMetricsServer, type MetricsServer, type MetricsServerOptions } from './server';
