/** Public types of the bundled Marketo REST API emulator (index.ts is the door). */

export type MarketoObject = 'company' | 'lead' | 'opportunity' | 'role';

/** A stored record as a plain object: its Marketo id, `createdAt`/`updatedAt` and every value written. */
export type MarketoRecord = Record<string, unknown>;

export interface SkipReason {
  code: string;
  message: string;
}

export interface MarketoLimits {
  maxCallsPer20s: number;
  maxConcurrent: number;
  dailyQuota: number;
}

export interface CustomFieldOption {
  name: string;
  dataType: string;
  length?: number;
}

export interface MarketoEmulatorOptions {
  /** 0 (default) = a random free port; the host is always 127.0.0.1, over HTTPS with a self-signed cert. */
  port?: number;
  certDir?: string;
  clientId?: string;
  clientSecret?: string;
  /** Default 3600; `expires_in` counts down and the same token is returned while it is valid. */
  tokenLifetimeSeconds?: number;
  /** Added to every admitted REST call (not the token endpoint) while it counts as in flight. */
  latencyMs?: number;
  /** Default 100: a call that would make more arrivals than this in the rate window answers 606. */
  maxCallsPer20s?: number;
  /** Default 10: a call arriving while this many execute answers 615. */
  maxConcurrent?: number;
  /** Default 50000: calls per day (00:00 at UTC−6); 607 when used up. */
  dailyQuota?: number;
  /** FOR TESTS ONLY: length of the sliding rate window, default 20000 (Marketo's 20 s). */
  rateWindowMs?: number;
  /** Default false: on, writes to companies, opportunities and roles are skipped with 1018. */
  nativeCrmSync?: boolean;
  /** Custom lead fields; default [{ name: 'dynamicsContactId', dataType: 'string', length: 255 }]. */
  leadFields?: { name: string; dataType: 'string' | 'email' | 'integer'; length?: number }[];
  /** Custom opportunity fields; default none. */
  opportunityFields?: CustomFieldOption[];
  /** Standard opportunity fields left out of the describe (and so refused with 1006). */
  omitOpportunityFields?: string[];
}

export interface MarketoEmulatorData {
  companies(): MarketoRecord[];
  leads(): MarketoRecord[];
  opportunities(): MarketoRecord[];
  roles(): MarketoRecord[];
  clear(): void;
}

export interface FailNextOptions {
  /** Answer this HTTP status (e.g. 502) with a non-JSON body. */
  httpStatus?: number;
  /** Answer HTTP 200 `success:false` with this response-level code (default '611' when neither is given). */
  code?: string;
}

export type SkipPredicate = (record: MarketoRecord) => SkipReason | undefined;

export interface MarketoEmulatorFaults {
  latencyMs: number;
  setLimits(limits: Partial<MarketoLimits>): void;
  /** A new quota day: used calls back to 0. */
  resetQuota(): void;
  setNativeCrmSync(on: boolean): void;
  /** Every issued token expires now: its next use answers 602, later uses 601. */
  expireTokens(): void;
  /** Lifetime of tokens issued from now on. */
  setTokenLifetime(seconds: number): void;
  /** The next `count` authenticated REST calls fail as told and execute nothing. */
  failNext(count: number, options?: FailNextOptions): void;
  /** Records the predicate names are skipped with its reason; undefined clears it. */
  skipRecords(object: MarketoObject, predicate: SkipPredicate | undefined): void;
  /** On: every authenticated REST call answers 603. */
  denyAccess(on: boolean): void;
}

export interface MarketoLogEntry {
  /** Arrival, ms since the epoch. */
  at: number;
  answeredAt: number;
  method: string;
  path: string;
  httpStatus: number;
  /** Response-level error code, if any. */
  code?: string;
  /** Length of the body's `input` array (0 when there is none). */
  records: number;
  /** Request body size. */
  bytes: number;
}

export interface MarketoEmulatorStats {
  /** REST calls received (token endpoint and control calls excluded). */
  calls: number;
  tokenRequests: number;
  /** One entry per REST call, in order of answer. */
  log: MarketoLogEntry[];
  /** The most call arrivals in any sliding window of `windowMs` (default 20000), from the log. */
  maxCallsInAnyWindow(windowMs?: number): number;
  /** The most REST calls being handled at once (arrival to answer, refused ones included). */
  maxConcurrentSeen(): number;
  /** Calls that arrived less than `minWaitMs` (default 1000) after a 606 or 615 was answered. */
  earlyCalls(minWaitMs?: number): number;
  reset(): void;
}

export interface MarketoEmulator {
  /** https://127.0.0.1:<port>; token at <url>/identity/oauth/token, REST under <url>/rest/v1/. */
  url: string;
  caPem: string;
  caFile: string;
  clientId: string;
  clientSecret: string;
  data: MarketoEmulatorData;
  faults: MarketoEmulatorFaults;
  stats: MarketoEmulatorStats;
  close(): Promise<void>;
}
