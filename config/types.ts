/** The configuration oppsync runs with, as loadConfig reads it from the environment (SPEC section 4). */
export interface DynamicsConfig {
  /** undefined: use the bundled emulator (demo and tests only). */
  readonly url?: string;
  readonly tenantId?: string;
  readonly clientId?: string;
  readonly clientSecret?: string;
  readonly username?: string;
  readonly password?: string;
  readonly authority?: string;
}

export interface TemporalConfig {
  readonly address: string;
  /** True when TEMPORAL_ADDRESS was set: `oppsync dev` then uses that cluster instead of a dev server. */
  readonly addressFromEnv: boolean;
  readonly namespace: string;
  readonly taskQueue: string;
  readonly tls?: {
    readonly clientCertPath?: string;
    readonly clientKeyPath?: string;
    readonly serverRootCaPath?: string;
    readonly serverName?: string;
  };
  readonly apiKey?: string;
}

export interface SyncConfig {
  readonly intervalMs: number;
  readonly interval: string;
  readonly pageSize: number;
  readonly opportunityFields: readonly string[];
  readonly filterAttribute?: string;
  /** Read the next opportunity page while the current one is written (default; the worker holds one more page). */
  readonly readAhead: boolean;
}

/**
 * Whether a starting worker makes its build the deployment's current version (OPPSYNC_PROMOTE): 'first' only when
 * the deployment has none yet (a first deploy), 'always' at every start, 'never' (the operator promotes).
 */
export type PromotePolicy = 'first' | 'always' | 'never';

/** How the processes are run and watched (SPEC section 5; README "Operating it"). */
export interface OperationsConfig {
  /** `host:port` where the worker serves Prometheus metrics (OPPSYNC_METRICS_ADDRESS); undefined: off. */
  readonly metricsAddress?: string;
  /** LOG_FORMAT; undefined: readable lines on a terminal, JSON lines otherwise. */
  readonly logFormat?: 'json' | 'pretty';
  /** Worker versioning: the deployment (OPPSYNC_DEPLOYMENT_NAME) and this build of it (OPPSYNC_BUILD_ID). */
  readonly deploymentName: string;
  /** undefined: derived from the workflow code itself, so changed workflow code is always a new build. */
  readonly buildId?: string;
  readonly promote: PromotePolicy;
  /** OPPSYNC_SHUTDOWN_GRACE: how long SIGTERM lets running activities finish before they are cancelled. */
  readonly shutdownGraceMs: number;
  /** OPPSYNC_CODEC_TOKEN: the bearer token the codec server demands of every caller. */
  readonly codecToken?: string;
  /** OPPSYNC_CODEC_ORIGINS: the Temporal UI origins the codec server answers (CORS). */
  readonly codecOrigins: readonly string[];
}

/** SPEC section 7: the Marketo REST destination, on when MARKETO_REST_URL is set. */
export interface MarketoConfig {
  /** Instance base, e.g. https://123-ABC-456.mktorest.com; undefined: no push (`oppsync dev`: the emulator). */
  readonly restUrl?: string;
  readonly clientId?: string;
  readonly clientSecret?: string;
  /** The lead field Sync Leads dedupes on: `email`, or a custom string field that is sent the contact's id. */
  readonly leadLookupField: string;
  /** Selected custom opportunity columns (SYNC_OPPORTUNITY_FIELDS) and the Marketo field each is sent as. */
  readonly opportunityFieldMap: readonly { readonly column: string; readonly field: string }[];
  readonly maxCallsPer20s: number;
  readonly maxConcurrent: number;
  readonly dailyQuota: number;
}

export interface AppConfig {
  readonly dynamics: DynamicsConfig;
  readonly marketo: MarketoConfig;
  readonly storeUrl: string;
  readonly temporal: TemporalConfig;
  readonly sync: SyncConfig;
  /** AES-256-GCM key for Temporal payloads (base64, 32 bytes); undefined leaves payloads unencrypted. */
  readonly payloadKey?: Buffer;
  readonly payloadKeyId: string;
  readonly logLevel: string;
  readonly operations: OperationsConfig;
}
