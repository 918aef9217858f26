/** Resolves property names and paths used in $filter/$orderby/In to typed accessors over stored rows. */
import { propertyNotFound } from './errors';
import type { AttributeType, EntityDef } from './schema';
import { isLookup, type OrgStore, type Row } from './store';

export interface PropertyRef {
  /** Value type; a lookup read as `_x_value` is a guid. */
  type: AttributeType;
  /** Logical name of the attribute at the end of the path (a lookup's logical name for `_x_value`). */
  attribute: string;
  /** Entity that holds the attribute (the first one for plain properties). */
  entity: string;
  /** True when the path is a plain attribute of the queried entity (indexes apply). */
  direct: boolean;
  get(row: Row): unknown;
}

/** `_customerid_value` → `customerid` when that is a lookup of the entity. */
export function lookupOfValueName(def: EntityDef, name: string): string | undefined {
  if (!name.startsWith('_') || !name.endsWith('_value')) return undefined;
  const attribute = name.slice(1, -'_value'.length);
  return def.attributes[attribute]?.type === 'lookup' ? attribute : undefined;
}

function attributeAccessor(
  def: EntityDef,
  name: string,
  allowLogicalLookup: boolean,
): Omit<PropertyRef, 'direct'> {
  const lookupName =
    lookupOfValueName(def, name) ?? (allowLogicalLookup ? lookupName2(def, name) : undefined);
  if (lookupName) {
    return {
      type: 'guid',
      attribute: lookupName,
      entity: def.logicalName,
      get: (row) => {
        const value = row[lookupName];
        return isLookup(value) ? value.id : null;
      },
    };
  }
  const attr = def.attributes[name];
  if (!attr || attr.type === 'lookup') throw propertyNotFound(name, def.logicalName);
  return { type: attr.type, attribute: name, entity: def.logicalName, get: (row) => row[name] ?? null };
}

function lookupName2(def: EntityDef, name: string): string | undefined {
  return def.attributes[name]?.type === 'lookup' ? name : undefined;
}

/**
 * `name`, `_x_value`, or a path through single-valued navigation properties (`record2roleid/category`).
 * `allowLogicalLookup` accepts a lookup's logical name (In's PropertyName takes logical names).
 */
export function resolveProperty(
  store: OrgStore,
  def: EntityDef,
  path: string,
  allowLogicalLookup = false,
): PropertyRef {
  const segments = path.split('/');
  if (segments.length === 1) return { ...attributeAccessor(def, path, allowLogicalLookup), direct: true };
  let current = def;
  const hops: { attribute: string; target: string }[] = [];
  for (const segment of segments.slice(0, -1)) {
    const nav = current.navigation[segment];
    if (!nav) throw propertyNotFound(segment, current.logicalName);
    hops.push(nav);
    current = store.def(nav.target);
  }
  const last = attributeAccessor(current, segments[segments.length - 1] ?? '', allowLogicalLookup);
  return {
    ...last,
    direct: false,
    get: (row) => {
      let at: Row | undefined = row;
      for (const hop of hops) {
        const value: unknown = at[hop.attribute];
        if (!isLookup(value) || value.logicalName !== hop.target) return null;
        at = store.row(hop.target, value.id);
        if (!at) return null;
      }
      return last.get(at);
    },
  };
}
