/**
 * The four objects' describes: fields, keys and references. The docs publish few opportunity field types; the
 * ones marked "emulator's choice" are guesses an instance's own describe would settle (README).
 */
import type { MarketoEmulatorOptions, MarketoObject } from './types';

export interface FieldDef {
  name: string;
  displayName: string;
  dataType: string;
  length?: number;
  updateable: boolean;
  /** Set by Marketo only (ids, timestamps): never accepted in input, except an idField as an update key. */
  system?: boolean;
  custom?: boolean;
}

/** A field on one object that must name an existing record of another. */
export interface Reference {
  field: string;
  object: MarketoObject;
  by: string;
}

export interface ObjectSchema {
  object: MarketoObject;
  name: string;
  displayName: string;
  pluralName: string;
  idField: string;
  dedupeFields: string[];
  searchableFields: string[][];
  fields: FieldDef[];
  /** Fields that may never be null (opportunity `name`). */
  required: string[];
  references: Reference[];
}

const f = (name: string, dataType: string, length?: number, extra: Partial<FieldDef> = {}): FieldDef => ({
  name,
  displayName: name.charAt(0).toUpperCase() + name.slice(1).replace(/([A-Z])/g, ' $1'),
  dataType,
  ...(length === undefined ? {} : { length }),
  updateable: true,
  ...extra,
});
const key = { updateable: false };
const system = { updateable: false, system: true };
const timestamps = (): FieldDef[] => [
  f('createdAt', 'datetime', undefined, system),
  f('updatedAt', 'datetime', undefined, system),
];

/** Lead fields that belong to the lead's company: 1021 on a lead linked to a company (README). */
export const COMPANY_LEVEL_LEAD_FIELDS = [
  'company', 'site', 'website', 'mainPhone', 'industry', 'annualRevenue', 'numberOfEmployees',
  'billingStreet', 'billingCity', 'billingState', 'billingPostalCode', 'billingCountry', 'sicCode',
]; // prettier-ignore

/** Standard lead fields that Sync Leads' lookupField and the filterType may use (LEADS, S-MAPI). */
export const LEAD_KEY_FIELDS = ['id', 'email'];

function companySchema(): ObjectSchema {
  return {
    object: 'company',
    name: 'Company',
    displayName: 'Company',
    pluralName: 'Companies',
    idField: 'id',
    dedupeFields: ['externalCompanyId'],
    searchableFields: [['externalCompanyId'], ['id'], ['company']],
    fields: [
      f('id', 'integer', undefined, system),
      f('externalCompanyId', 'string', 100, key),
      f('company', 'string', 255),
      f('website', 'url', 255),
      f('industry', 'string', 255),
      f('site', 'string', 255),
      f('mainPhone', 'string', 255),
      f('annualRevenue', 'currency'),
      f('numberOfEmployees', 'integer'),
      f('sicCode', 'string', 40),
      f('billingStreet', 'string', 255),
      f('billingCity', 'string', 255),
      f('billingState', 'string', 255),
      f('billingPostalCode', 'string', 255),
      f('billingCountry', 'string', 255),
      ...timestamps(),
    ],
    required: [],
    references: [],
  };
}

export function leadSchema(options: MarketoEmulatorOptions): ObjectSchema {
  const custom = options.leadFields ?? [{ name: 'dynamicsContactId', dataType: 'string', length: 255 }];
  const names = ['firstName', 'lastName', 'middleName', 'salutation', 'title', 'phone', 'mobilePhone'];
  const more = ['address', 'city', 'state', 'postalCode', 'country', 'department', 'leadSource'];
  return {
    object: 'lead',
    name: 'API Lead',
    displayName: 'Lead',
    pluralName: 'Leads',
    idField: 'id',
    dedupeFields: ['email'],
    searchableFields: [['email'], ['id'], ...custom.map((c) => [c.name])],
    fields: [
      f('id', 'integer', undefined, system),
      f('email', 'email', 255),
      ...[...names, ...more].map((name) => f(name, 'string', 255)),
      f('externalCompanyId', 'string', 100),
      ...companySchema().fields.filter((field) => COMPANY_LEVEL_LEAD_FIELDS.includes(field.name)),
      ...custom.map((c) =>
        f(c.name, c.dataType, c.length ?? (c.dataType === 'integer' ? undefined : 255), { custom: true }),
      ),
      ...timestamps(),
    ],
    required: [],
    references: [{ field: 'externalCompanyId', object: 'company', by: 'externalCompanyId' }],
  };
}

function opportunitySchema(options: MarketoEmulatorOptions): ObjectSchema {
  const omit = new Set(options.omitOpportunityFields ?? []);
  const custom = (options.opportunityFields ?? []).map((c) =>
    f(c.name, c.dataType, c.length, { custom: true }),
  );
  const standard = [
    f('externalOpportunityId', 'string', 50, key),
    f('name', 'string', 255),
    f('description', 'string', 2000),
    f('type', 'string', 255),
    f('stage', 'string', 255),
    f('amount', 'currency'),
    f('closeDate', 'date'), // emulator's choice
    f('isClosed', 'boolean'), // emulator's choice
    f('isWon', 'boolean'), // emulator's choice
    f('probability', 'integer'), // emulator's choice
    f('externalCompanyId', 'string', 100),
    f('externalCreatedDate', 'datetime'),
  ].filter((field) => !omit.has(field.name));
  return {
    object: 'opportunity',
    name: 'opportunity',
    displayName: 'Opportunity',
    pluralName: 'Opportunities',
    idField: 'marketoGUID',
    dedupeFields: ['externalOpportunityId'],
    // Only string or integer custom fields are searchable (OPP).
    searchableFields: [
      ['externalOpportunityId'],
      ['marketoGUID'],
      ...custom.filter((c) => c.dataType === 'string' || c.dataType === 'integer').map((c) => [c.name]),
    ],
    fields: [f('marketoGUID', 'string', 36, system), ...standard, ...custom, ...timestamps()],
    required: omit.has('name') ? [] : ['name'],
    references: omit.has('externalCompanyId')
      ? []
      : [{ field: 'externalCompanyId', object: 'company', by: 'externalCompanyId' }],
  };
}

function roleSchema(): ObjectSchema {
  return {
    object: 'role',
    name: 'opportunityRole',
    displayName: 'Opportunity Role',
    pluralName: 'Opportunity Roles',
    idField: 'marketoGUID',
    dedupeFields: ['externalOpportunityId', 'leadId', 'role'],
    searchableFields: [
      ['externalOpportunityId', 'leadId', 'role'],
      ['marketoGUID'],
      ['leadId'],
      ['externalOpportunityId'],
    ],
    fields: [
      f('marketoGUID', 'string', 36, system),
      f('externalOpportunityId', 'string', 50, key),
      f('leadId', 'integer', undefined, key),
      f('role', 'string', 50, key),
      f('isPrimary', 'boolean'),
      f('externalCreatedDate', 'datetime'),
      ...timestamps(),
    ],
    required: [],
    references: [
      { field: 'externalOpportunityId', object: 'opportunity', by: 'externalOpportunityId' },
      { field: 'leadId', object: 'lead', by: 'id' },
    ],
  };
}

export type Schemas = Record<MarketoObject, ObjectSchema>;

export function buildSchemas(options: MarketoEmulatorOptions): Schemas {
  return {
    company: companySchema(),
    lead: leadSchema(options),
    opportunity: opportunitySchema(options),
    role: roleSchema(),
  };
}

export function fieldOf(schema: ObjectSchema, name: string): FieldDef | undefined {
  return schema.fields.find((field) => field.name === name);
}
