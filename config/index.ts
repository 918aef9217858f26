export { loadConfig, ConfigError, describeConfig } from './load';
export type { AppConfig, DynamicsConfig, TemporalConfig, SyncConfig } from './load';
export { parseDuration } from './duration';
