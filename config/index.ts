export { loadConfig, ConfigError } from './load';
export type { AppConfig, DynamicsConfig, TemporalConfig, SyncConfig, OperationsConfig } from './load';
export { parseDuration } from './duration';
