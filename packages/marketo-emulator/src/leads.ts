/**
 * Sync Leads and Delete Leads (LEADS): results `{id, status}` in input order with no `seq`; the dedupe key is
 * the request's `lookupField` (default email).
 */
import { MarketoCallError, reasons, skipped } from './envelope';
import { checkFields, choice, inputOf, missingReference } from './input';
import { dependents, exists, keyOf, precheck, type WriteContext } from './objects';
import { COMPANY_LEVEL_LEAD_FIELDS, fieldOf, LEAD_KEY_FIELDS, type ObjectSchema } from './schema';
import type { SkipReason } from './types';
import { checkValue } from './values';

type Outcome = Record<string, unknown>;

/**
 * A field leads may be looked up by: `id`, `email`, or a custom string/email/integer field (S-MAPI's
 * filterType list; the emulator serves no cookies or social ids). Unknown → 1006, other standard → 1011.
 */
export function leadKeyField(schema: ObjectSchema, name: unknown, member: string): string {
  if (typeof name !== 'string' || name === '') throw new MarketoCallError('701', `${member} cannot be blank`);
  const field = fieldOf(schema, name);
  if (!field) throw new MarketoCallError('1006', `Field '${name}' not found`);
  const customKey = field.custom && ['string', 'email', 'integer'].includes(field.dataType);
  if (!LEAD_KEY_FIELDS.includes(name) && !customKey)
    throw new MarketoCallError('1011', `Field '${name}' not supported`);
  return name;
}

function syncOne(
  ctx: WriteContext,
  schema: ObjectSchema,
  raw: Record<string, unknown>,
  lookupField: string,
  action: string,
): Outcome | SkipReason {
  // LEADS: `id` is sent only with updateOnly; ERR: id with createOnly is 1003.
  const checked = checkFields(schema, raw, action === 'updateOnly' ? 'id' : undefined);
  if ('reason' in checked) return checked.reason;
  const values = checked.values;
  const matches = ctx.store.findBy('lead', lookupField, values[lookupField]);
  if (matches.length > 1) return reasons.multipleLeads();
  const existing = matches[0];
  if (existing && action === 'createOnly') return reasons.leadExists();
  if (!existing && action === 'updateOnly') return reasons.leadNotFound();
  // LEADS: company fields are written through Sync Companies, not on a lead linked to a company (1021).
  const company = 'externalCompanyId' in values ? values.externalCompanyId : existing?.externalCompanyId;
  if (company !== null && company !== undefined && COMPANY_LEVEL_LEAD_FIELDS.some((name) => name in values))
    return reasons.companyUpdate();
  const missing = missingReference(schema, values, exists(ctx.store));
  if (missing) return missing;
  delete values.id;
  if (existing) {
    ctx.store.update('lead', existing, values);
    return { id: existing.id, status: 'updated' };
  }
  return { id: ctx.store.insert('lead', values).id, status: 'created' };
}

export function syncLeads(ctx: WriteContext, body: unknown): Outcome[] {
  const schema = ctx.store.schema('lead');
  const input = inputOf(body, ['action', 'lookupField', 'partitionName', 'asyncProcessing']);
  const members = body as Record<string, unknown>;
  const action = choice(
    members,
    'action',
    ['createOrUpdate', 'createOnly', 'updateOnly', 'createDuplicate'],
    'createOrUpdate',
  );
  if (action === 'createDuplicate')
    throw new MarketoCallError(
      '1003',
      'Invalid data: createDuplicate is not served (its behaviour is undocumented)',
    );
  if (members.asyncProcessing !== undefined && members.asyncProcessing !== false)
    throw new MarketoCallError(
      '1003',
      'Invalid data: asyncProcessing is not served (its answer is undocumented)',
    );
  if (members.partitionName !== undefined && members.partitionName !== 'Default')
    throw new MarketoCallError('1003', 'Invalid data: the only partition is Default');
  const lookupField =
    members.lookupField === undefined ? 'email' : leadKeyField(schema, members.lookupField, 'lookupField');
  if (lookupField === 'id' && action !== 'updateOnly')
    throw new MarketoCallError('1003', 'Invalid data: lookupField id is valid only with action updateOnly');
  const seen = new Set<string>();
  return input.map((raw) => {
    const refused = precheck(ctx, 'lead', raw, false);
    if (refused) return skipped(refused);
    const record = raw as Record<string, unknown>;
    // S-MAPI: the lookupField must be present in each lead record (strict: 1002 when it is not).
    const key = keyOf(record, [lookupField]);
    if ('reason' in key) return skipped(key.reason);
    if (seen.has(key.key)) return skipped(reasons.duplicate());
    seen.add(key.key);
    const outcome = syncOne(ctx, schema, record, lookupField, action);
    return 'code' in outcome ? skipped(outcome as SkipReason) : outcome;
  });
}

function deleteOne(
  ctx: WriteContext,
  schema: ObjectSchema,
  raw: Record<string, unknown>,
): Outcome | SkipReason {
  for (const name of Object.keys(raw))
    if (name !== 'id')
      return fieldOf(schema, name)
        ? reasons.invalid('a delete record holds only id')
        : reasons.fieldNotFound(name);
  const checked = checkValue(
    fieldOf(schema, 'id') ?? { name: 'id', displayName: 'Id', dataType: 'integer', updateable: false },
    raw.id,
  );
  if (!checked.ok) return checked.reason;
  const existing = ctx.store.get('lead', checked.value);
  if (!existing) return reasons.notFound();
  const inUse = dependents(ctx.store, 'lead', existing);
  if (inUse) return reasons.inUse(inUse);
  ctx.store.remove('lead', existing);
  return { id: existing.id, status: 'deleted' };
}

export function deleteLeads(ctx: WriteContext, body: unknown): Outcome[] {
  const schema = ctx.store.schema('lead');
  const input = inputOf(body, []);
  const seen = new Set<string>();
  return input.map((raw) => {
    const refused = precheck(ctx, 'lead', raw, false);
    if (refused) return skipped(refused);
    const record = raw as Record<string, unknown>;
    const key = keyOf(record, ['id']);
    if ('reason' in key) return skipped(key.reason);
    if (seen.has(key.key)) return skipped(reasons.duplicate());
    seen.add(key.key);
    const outcome = deleteOne(ctx, schema, record);
    return 'code' in outcome ? skipped(outcome as SkipReason) : outcome;
  });
}
