/** Dataverse-shaped errors: `{"error":{"code":"0x…","message":"…"}}` with the HTTP status the service uses. */
import type { EntityDef } from './schema';

export const CODES = {
  queryError: '0x80060888',
  notFound: '0x80040217',
  requestsExceeded: '0x80072322',
  concurrencyExceeded: '0x80072326',
  changeTokenExpired: '0x80044352',
  changeTrackingDisabled: '0x80044353',
  privilegeDenied: '0x80040220',
  unexpected: '0x80040216',
} as const;

export class ODataError extends Error {
  override readonly name = 'ODataError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  body(): string {
    return JSON.stringify({ error: { code: this.code, message: this.message } });
  }
}

export function queryError(message: string): ODataError {
  return new ODataError(400, CODES.queryError, message);
}

export function propertyNotFound(property: string, logicalName: string): ODataError {
  return queryError(
    `Could not find a property named '${property}' on type 'Microsoft.Dynamics.CRM.${logicalName}'.`,
  );
}

/** 403 for a caller whose security roles lack the table's Read privilege, worded as Dataverse words it. */
export function privilegeDenied(def: EntityDef, userId: string): ODataError {
  return new ODataError(
    403,
    CODES.privilegeDenied,
    `Principal user (Id=${userId}, type=8, roleCount=1, privilegeCount=0, accessMode='0 Read-Write'), is ` +
      `missing prvRead${def.schemaName} privilege on OTC=${def.objectTypeCode} for entity ` +
      `'${def.logicalName}'. context.Caller=${userId}. Consider adding missed privilege to one of the ` +
      `principal (user/team) roles.`,
  );
}
