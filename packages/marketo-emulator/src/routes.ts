/** The REST resources under /rest/v1 and what each answers, by method (anything else under /rest is 610). */
import { describeLead, describeLead2, describeObject } from './describe';
import { deleteLeads, syncLeads } from './leads';
import { deleteObjects, syncObjects, type CrmObject, type WriteContext } from './objects';
import { leadById, queryLeads, queryObjects, type ReadAnswer, type ReadRequest } from './reads';

export interface Route {
  pattern: RegExp;
  /** GET (and, with `postQuery`, POST ?_method=GET). */
  read?: (request: ReadRequest, match: RegExpExecArray) => ReadAnswer;
  /** POST with a JSON body. */
  write?: (body: unknown) => unknown[];
  /** Accepts POST ?_method=GET with a form (or JSON) body, for long or compound queries (LDB). */
  postQuery?: boolean;
}

export type Resolved =
  | { kind: 'read'; route: Route; match: RegExpExecArray; viaPost: boolean }
  | { kind: 'write'; route: Route }
  | { kind: 'wrongMethod' }
  | { kind: 'notFound' };

export function createRoutes(ctx: WriteContext): Route[] {
  const { store } = ctx;
  const object = (base: string, name: CrmObject): Route[] => [
    {
      pattern: new RegExp(`^/rest/v1/${base}\\.json$`),
      read: (request) => queryObjects(store, name, request),
      write: (body) => syncObjects(ctx, name, body),
      postQuery: true,
    },
    {
      pattern: new RegExp(`^/rest/v1/${base}/delete\\.json$`),
      write: (body) => deleteObjects(ctx, name, body),
    },
    {
      pattern: new RegExp(`^/rest/v1/${base}/describe\\.json$`),
      read: () => ({ result: [describeObject(store.schema(name), store.schemas)] }),
    },
  ];
  return [
    ...object('companies', 'company'),
    ...object('opportunities', 'opportunity'),
    ...object('opportunities/roles', 'role'),
    {
      pattern: /^\/rest\/v1\/leads\.json$/,
      read: (request) => queryLeads(store, request),
      write: (body) => syncLeads(ctx, body),
      postQuery: true,
    },
    { pattern: /^\/rest\/v1\/leads\/delete\.json$/, write: (body) => deleteLeads(ctx, body) },
    {
      pattern: /^\/rest\/v1\/leads\/describe\.json$/,
      read: () => ({ result: describeLead(store.schema('lead')) }),
    },
    {
      pattern: /^\/rest\/v1\/leads\/describe2\.json$/,
      read: () => ({ result: [describeLead2(store.schema('lead'))] }),
    },
    {
      pattern: /^\/rest\/v1\/lead\/(\d+)\.json$/,
      read: (request, match) => leadById(store, match[1] ?? '', request),
    },
  ];
}

/** Which handler a call reaches; a known resource asked with the wrong method is 605 (ERR). */
export function resolve(routes: Route[], method: string, path: string, query: URLSearchParams): Resolved {
  for (const route of routes) {
    const match = route.pattern.exec(path);
    if (!match) continue;
    if (method === 'GET')
      return route.read ? { kind: 'read', route, match, viaPost: false } : { kind: 'wrongMethod' };
    if (method !== 'POST') return { kind: 'wrongMethod' };
    if (query.get('_method') === 'GET')
      return route.postQuery ? { kind: 'read', route, match, viaPost: true } : { kind: 'wrongMethod' };
    return route.write ? { kind: 'write', route } : { kind: 'wrongMethod' };
  }
  return { kind: 'notFound' };
}
