export { loadConfig, ConfigError, DEFAULT_UI_ORIGINS } from './load';
export { projectRoot, temporalCliPath } from './paths';
export type {
  AppConfig,
  DynamicsConfig,
  TemporalConfig,
  SyncConfig,
  MarketoConfig,
  OperationsConfig,
  PromotePolicy,
} from './types';
export { parseDuration } from './duration';
