/** Public types of the bundled Dataverse + Entra ID emulator (index.ts is the door). */

export type EntityName =
  | 'opportunity'
  | 'contact'
  | 'account'
  | 'connection'
  | 'connectionrole'
  | 'transactioncurrency'
  | 'organization';
export type TrackableEntity = 'opportunity' | 'contact' | 'account' | 'connection';

export interface Lookup {
  id: string;
  /** 'account' | 'contact' | 'opportunity' | 'systemuser' | 'connectionrole' | any other table. */
  logicalName: string;
}

export interface GenerateOptions {
  opportunities: number;
  seed?: number;
}

export interface ServiceProtectionLimits {
  requestsPerWindow: number;
  windowSeconds: number;
  concurrent: number;
}

export interface EmulatorOptions {
  /** Default 0 = a random free port; the host is always 127.0.0.1. */
  port?: number;
  tenantId?: string;
  clients?: { clientId: string; clientSecret: string }[];
  users?: { username: string; password: string }[];
  publicClientIds?: string[];
  tokenLifetimeSeconds?: number;
  dataset?: 'demo' | 'empty' | { generate: GenerateOptions };
  changeTracking?: Partial<Record<TrackableEntity, boolean>>;
  changeTokenTtlSeconds?: number;
  maxPageSize?: number;
  certDir?: string;
  latencyMs?: number;
  /** Service-protection limits per token subject (defaults: 6,000 requests / 300 s, 52 concurrent). */
  limits?: Partial<ServiceProtectionLimits>;
}

export interface EmulatorData {
  /** A copy of every row, in key order. */
  list(entity: EntityName): Record<string, unknown>[];
  /** The number of rows, without copying any (a list of a million rows is gigabytes). */
  count(entity: EntityName): number;
  get(entity: EntityName, id: string): Record<string, unknown> | undefined;
  create(entity: EntityName, record: Record<string, unknown>): string;
  update(entity: EntityName, id: string, patch: Record<string, unknown>): void;
  remove(entity: EntityName, id: string): void;
  connect(
    from: Lookup,
    to: Lookup,
    roleId: string | null,
    opts?: { reciprocalRoleId?: string | null; statecode?: 0 | 1 },
  ): string;
  setConnectionState(connectionId: string, statecode: 0 | 1): void;
  disconnect(connectionId: string): void;
  roleId(name: string): string;
}

export interface EmulatorFaults {
  latencyMs: number;
  throttle(opts: { ratio: number; retryAfterSeconds: number } | null): void;
  failNext(count: number, status?: number): void;
  /**
   * The next `count` requests that arrive on a connection kept alive from an earlier request are not answered:
   * the connection is closed, as a server closes an idle keep-alive connection just as the client reuses it.
   */
  dropNextOnReusedConnection(count: number): void;
  expireAllTokens(): void;
  revokeAllTokens(): void;
  expireChangeTokens(): void;
  corruptNextResponse(entitySet: string): void;
  rejectCredentials(on: boolean): void;
  /**
   * Takes the Read privilege on `entity` from every caller's security role (on) or gives it back (off): its
   * GETs, $batch parts included, answer 403 0x80040220 "… is missing prvRead<Table> privilege …".
   */
  denyRead(entity: EntityName, on: boolean): void;
  /**
   * Serves record `id` of `entity` with these columns as given, bypassing validation (undefined removes one):
   * raw rows that only another implementation would return, e.g. a malformed GUID or no key. null clears it.
   */
  serveColumns(entity: EntityName, id: string, columns: Record<string, unknown> | null): void;
}

export interface RequestLogEntry {
  /** When the request arrived. */
  at: number;
  /** When it was answered (unset for a $batch part: the emulator throttles a batch as a whole). */
  answeredAt?: number;
  method: string;
  path: string;
  /** A $batch part: the number of the $batch request it came in (its place in `requests`, counted from 1). */
  batch?: number;
  status: number;
  retryAfterMs?: number;
  tokenId?: string;
  /** Subject of the token (client id or username): "the same client" for earlyRetries. */
  client?: string;
  key: string;
}

export interface EmulatorStats {
  requests: number;
  tokenRequests: number;
  throttled: number;
  /** 401s answered because the token was expired by `expireAllTokens` or its lifetime. */
  expiredTokenRejections: number;
  /** 401s answered because the token was revoked by `revokeAllTokens`. */
  revokedTokenRejections: number;
  /** 5xx answered by `failNext`. */
  injectedFailures: number;
  /** Invalid JSON bodies served by `corruptNextResponse`. */
  corruptedResponses: number;
  /** 400s answered for expired change-tracking tokens. */
  expiredChangeTokenRejections: number;
  log: RequestLogEntry[];
  tokensIssued: string[];
  earlyRetries(): number;
  reset(): void;
}

export interface Emulator {
  url: string;
  authority: string;
  tenantId: string;
  caPem: string;
  caFile: string;
  data: EmulatorData;
  faults: EmulatorFaults;
  stats: EmulatorStats;
  close(): Promise<void>;
}
