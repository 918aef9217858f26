export { loadConfig, ConfigError } from './load';
export type {
  AppConfig,
  DynamicsConfig,
  TemporalConfig,
  SyncConfig,
  MarketoConfig,
  OperationsConfig,
  PromotePolicy,
} from './load';
export { parseDuration } from './duration';
export { redactUrl } from './redact';
