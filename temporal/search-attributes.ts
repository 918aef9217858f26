import { temporal } from '@temporalio/proto';
import { SEARCH_ATTRIBUTE_TYPES } from '../workflows';

const { IndexedValueType } = temporal.api.enums.v1;
type IndexedValueType = temporal.api.enums.v1.IndexedValueType;

const INDEXED_TYPE: Record<'Keyword' | 'Int', IndexedValueType> = {
  Keyword: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  Int: IndexedValueType.INDEXED_VALUE_TYPE_INT,
};

const WANTED = Object.entries(SEARCH_ATTRIBUTE_TYPES);

/** The two operator calls this needs: a Connection's or a NativeConnection's operatorService has both. */
export interface SearchAttributeOperator {
  listSearchAttributes(request: {
    namespace: string;
  }): Promise<{ customAttributes?: Record<string, IndexedValueType> | null }>;
  addSearchAttributes(request: {
    namespace: string;
    searchAttributes: Record<string, IndexedValueType>;
  }): Promise<unknown>;
}

/** A namespace that lacks oppsync's search attributes and cannot be given them from here (exit code 2). */
export class SearchAttributesError extends Error {
  override readonly name = 'SearchAttributesError';
  constructor(
    /** What is wrong with the namespace. */
    readonly problem: string,
    /** What to run once to mend it. */
    readonly fix: string,
  ) {
    super(`${problem} ${fix}`);
  }
}

/** The commands an operator runs once to register the attributes (self-hosted or dev server; Temporal Cloud). */
export function registrationCommands(namespace: string, names: readonly string[]): string {
  const types = WANTED.filter(([name]) => names.includes(name));
  const cli = types.map(([name, type]) => `--name ${name} --type ${type}`).join(' ');
  const cloud = types.map(([name, type]) => `--search-attribute ${name}=${type}`).join(' ');
  return (
    `temporal operator search-attribute create --namespace ${namespace} ${cli}` +
    ` (Temporal Cloud: tcld namespace search-attributes add --namespace ${namespace} ${cloud})`
  );
}

function describeTypes(names: readonly string[]): string {
  return WANTED.filter(([name]) => names.includes(name))
    .map(([name, type]) => `${name} (${type})`)
    .join(', ');
}

async function listCustom(
  operator: SearchAttributeOperator,
  namespace: string,
): Promise<Record<string, IndexedValueType>> {
  const { customAttributes } = await operator.listSearchAttributes({ namespace });
  return customAttributes ?? {};
}

function reasonOf(error: unknown): string {
  const details = (error as { details?: unknown } | undefined)?.details;
  if (typeof details === 'string' && details !== '') return details;
  return error instanceof Error ? error.message : String(error);
}

/**
 * Makes sure the namespace has oppsync's custom search attributes before any run sets them: a workflow task
 * that upserts an unregistered attribute fails and is retried forever, so a run would hang. Missing ones are
 * registered when `register` is set and the server allows it (dev server, self-hosted cluster); otherwise, or
 * when one exists with another type, this throws a SearchAttributesError naming them and the command to run.
 * Returns the names it registered.
 */
export async function ensureSearchAttributes(
  operator: SearchAttributeOperator,
  namespace: string,
  options: { register: boolean; timeoutMs?: number },
): Promise<string[]> {
  const present = await listCustom(operator, namespace);
  const mistyped = WANTED.filter(
    ([name, type]) => present[name] !== undefined && present[name] !== INDEXED_TYPE[type],
  ).map(([name]) => name);
  if (mistyped.length > 0) {
    throw new SearchAttributesError(
      `Namespace ${namespace} has the search attributes ${mistyped.join(', ')} with another type than oppsync ` +
        `needs (${describeTypes(mistyped)}).`,
      `Remove them (temporal operator search-attribute remove ` +
        `--namespace ${namespace} ${mistyped.map((name) => `--name ${name}`).join(' ')}) and register them: ` +
        registrationCommands(namespace, mistyped),
    );
  }
  const missing = WANTED.filter(([name]) => present[name] === undefined).map(([name]) => name);
  if (missing.length === 0) return [];
  const refused = (reason: string): SearchAttributesError =>
    new SearchAttributesError(
      `Namespace ${namespace} has no search attributes ${describeTypes(missing)}, which every oppsync run ` +
        `sets; ${reason}.`,
      `Register them once with: ${registrationCommands(namespace, missing)}`,
    );
  if (!options.register) throw refused('they are registered by the worker at start, or by hand');
  try {
    await operator.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(
        WANTED.filter(([name]) => missing.includes(name)).map(([name, type]) => [name, INDEXED_TYPE[type]]),
      ),
    });
  } catch (error) {
    throw refused(`the server refused to register them (${reasonOf(error)})`);
  }
  // Registration can take a moment to reach every frontend: verify before any run relies on it.
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (;;) {
    const now = await listCustom(operator, namespace);
    if (missing.every((name) => now[name] !== undefined)) return missing;
    if (Date.now() > deadline) throw refused('the server accepted them but does not list them yet');
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
