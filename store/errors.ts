export type StoreErrorCode =
  | 'STORE_URL_INVALID'
  | 'STORE_FILE_MISSING'
  | 'STORE_MIGRATION_FAILED'
  | 'STORE_LEAD_MISSING'
  | 'STORE_WRITER_UNAVAILABLE';

/** Store failures, checked by `name`/`code` strings. Messages never carry a database password. */
export class StoreError extends Error {
  override readonly name = 'StoreError';
  constructor(
    readonly code: StoreErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
