import { DynamicsClient, isDynamicsError, type DynamicsAuthConfig } from '../dynamics';
import { fail, pass, reason, skip, type Check } from './check';

// Preflight requests should answer in seconds; a hung endpoint is a finding, not a wait of minutes.
export const DOCTOR_TIMEOUT_MS = 30_000;

const FLOWS = {
  clientCredentials: {
    name: 'Entra ID client credentials',
    credentialsFix:
      'check DYNAMICS_TENANT_ID, DYNAMICS_CLIENT_ID and DYNAMICS_CLIENT_SECRET against the app registration ' +
      '(Entra ID > App registrations > Certificates & secrets: secrets expire; use the secret Value, not its ID)',
  },
  usernamePassword: {
    name: 'Entra ID username/password',
    credentialsFix:
      'check DYNAMICS_USERNAME and DYNAMICS_PASSWORD; the app registration must allow public client flows ' +
      '(Authentication > Allow public client flows) and the account must not require MFA, which this flow cannot answer',
  },
} as const;

type Flow = keyof typeof FLOWS;

function fixFor(flow: Flow, error: unknown): string {
  const code = isDynamicsError(error) ? error.code : undefined;
  if (code === 'BAD_CREDENTIALS') return FLOWS[flow].credentialsFix;
  if (code === 'NETWORK')
    return (
      'check that this machine reaches the authority over https (DYNAMICS_AUTHORITY, default ' +
      'https://login.microsoftonline.com/<tenant>; a proxy; NODE_EXTRA_CA_CERTS for a private CA)'
    );
  return 'Entra ID refused for now (throttled or failing): run oppsync doctor again in a minute';
}

async function checkFlow(
  flow: Flow,
  auth: DynamicsAuthConfig,
): Promise<{ check: Check; client?: DynamicsClient }> {
  const name = FLOWS[flow].name;
  // One flow at a time: the client takes the secret when it has one, so each check gets only its own credentials.
  const only =
    flow === 'clientCredentials'
      ? { ...auth, username: undefined, password: undefined }
      : { ...auth, clientSecret: undefined };
  try {
    const client = new DynamicsClient({ ...only, pageSize: 1, timeoutMs: DOCTOR_TIMEOUT_MS });
    await client.authenticate();
    const as = flow === 'usernamePassword' ? ` as ${auth.username}` : '';
    return { check: pass(name, `token for ${auth.url}/.default${as}`), client };
  } catch (error) {
    return { check: fail(name, reason(error), fixFor(flow, error)) };
  }
}

export interface EntraResult {
  checks: Check[];
  /** A client on the flow the worker uses (client credentials when a secret is set), when its token came. */
  client?: DynamicsClient;
  /** Why the Web API checks cannot run when there is no client. */
  noClient?: string;
}

/** Each configured flow acquires a token; a flow that is not configured does not apply (SKIP). */
export async function checkEntra(auth: DynamicsAuthConfig): Promise<EntraResult> {
  const credentials =
    auth.clientSecret === undefined
      ? { check: skip(FLOWS.clientCredentials.name, 'not configured: DYNAMICS_CLIENT_SECRET is unset') }
      : await checkFlow('clientCredentials', auth);
  const user =
    auth.username === undefined
      ? { check: skip(FLOWS.usernamePassword.name, 'not configured: DYNAMICS_USERNAME is unset') }
      : await checkFlow('usernamePassword', auth);
  const syncFlow: Flow = auth.clientSecret !== undefined ? 'clientCredentials' : 'usernamePassword';
  const used = syncFlow === 'clientCredentials' ? credentials : user;
  return {
    checks: [credentials.check, user.check],
    ...(used.client !== undefined
      ? { client: used.client }
      : { noClient: `no token (${FLOWS[syncFlow].name} failed)` }),
  };
}

/** Who needs the privileges: the identity of the flow the worker uses. */
export function syncIdentity(auth: DynamicsAuthConfig): string {
  return auth.clientSecret !== undefined
    ? `the application user of client ${auth.clientId}`
    : `the user ${auth.username ?? ''}`;
}
