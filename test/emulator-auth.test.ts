import { ConfidentialClientApplication, PublicClientApplication } from '@azure/msal-node';
import { EMULATOR_DEFAULTS, startEmulator, type Emulator } from '@oppsync/dataverse-emulator';
import {
  clientToken,
  emulatorNetworkClient,
  httpRequest,
  webGet,
  type ODataErrorBody,
} from './emulator-http';

describe('emulator: Entra ID token endpoint and bearer tokens', () => {
  let emulator: Emulator;

  beforeAll(async () => {
    emulator = await startEmulator({
      clients: [{ clientId: 'app-1', clientSecret: 's3cret-value' }],
      users: [{ username: 'ann@contoso.example', password: 'pa55word' }],
      publicClientIds: ['public-app'],
    });
  });
  afterAll(() => emulator.close());
  afterEach(() => emulator.faults.rejectCredentials(false));

  const host = (): string => new URL(emulator.url).host;

  function confidentialApp(secret: string): ConfidentialClientApplication {
    return new ConfidentialClientApplication({
      auth: {
        clientId: 'app-1',
        clientSecret: secret,
        authority: emulator.authority,
        knownAuthorities: [host()],
      },
      system: { networkClient: emulatorNetworkClient(emulator) },
    });
  }

  function publicApp(): PublicClientApplication {
    return new PublicClientApplication({
      auth: { clientId: 'public-app', authority: emulator.authority, knownAuthorities: [host()] },
      system: { networkClient: emulatorNetworkClient(emulator) },
    });
  }

  it('issues a client-credentials token through real msal-node that the Web API accepts', async () => {
    const result = await confidentialApp('s3cret-value').acquireTokenByClientCredential({
      scopes: [`${emulator.url}/.default`],
    });
    expect(result?.accessToken).toBeTruthy();
    expect(emulator.stats.tokensIssued).toContain(result?.accessToken);
    const reply = await webGet(emulator, result?.accessToken ?? '', 'opportunities?$select=name');
    expect(reply.status).toBe(200);
    expect(reply.json.value.length).toBe(emulator.data.list('opportunity').length);
  });

  it('issues a username/password (ROPC) token through real msal-node', async () => {
    const result = await publicApp().acquireTokenByUsernamePassword({
      scopes: [`${emulator.url}/.default`],
      username: 'ann@contoso.example',
      password: 'pa55word',
    });
    expect(result?.account?.username).toBe('ann@contoso.example');
    expect(result?.account?.tenantId).toBe(emulator.tenantId);
    const reply = await webGet<{ UserId: string }>(emulator, result?.accessToken ?? '', 'WhoAmI');
    expect(reply.status).toBe(200);
    expect(reply.json.UserId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers a wrong client secret with 401 invalid_client AADSTS7000215, without echoing the secret', async () => {
    const attempt = confidentialApp('wrong-secret').acquireTokenByClientCredential({
      scopes: [`${emulator.url}/.default`],
    });
    await expect(attempt).rejects.toMatchObject({ errorCode: 'invalid_client' });
    const raw = await httpRequest(
      emulator,
      'POST',
      `/${emulator.tenantId}/oauth2/v2.0/token`,
      { 'Content-Type': 'application/x-www-form-urlencoded' },
      new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: 'app-1',
        client_secret: 'wrong-secret',
        scope: `${emulator.url}/.default`,
      }).toString(),
    );
    expect(raw.status).toBe(401);
    const body = JSON.parse(raw.text) as { error: string; error_description: string; error_codes: number[] };
    expect(body.error).toBe('invalid_client');
    expect(body.error_codes).toEqual([7000215]);
    expect(body.error_description).toMatch(/^AADSTS7000215:/);
    expect(raw.text).not.toContain('wrong-secret');
  });

  it('answers a wrong password with 400 invalid_grant AADSTS50126', async () => {
    const attempt = publicApp().acquireTokenByUsernamePassword({
      scopes: [`${emulator.url}/.default`],
      username: 'ann@contoso.example',
      password: 'nope',
    });
    await expect(attempt).rejects.toMatchObject({ errorCode: 'invalid_grant' });
    await expect(attempt).rejects.toThrow(/AADSTS50126/);
  });

  it('rejects every client while rejectCredentials is on', async () => {
    emulator.faults.rejectCredentials(true);
    await expect(
      confidentialApp('s3cret-value').acquireTokenByClientCredential({
        scopes: [`${emulator.url}/.default`],
      }),
    ).rejects.toMatchObject({ errorCode: 'invalid_client' });
  });

  it('refuses a token for another resource', async () => {
    const raw = await httpRequest(
      emulator,
      'POST',
      `/${emulator.tenantId}/oauth2/v2.0/token`,
      { 'Content-Type': 'application/x-www-form-urlencoded' },
      new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: 'app-1',
        client_secret: 's3cret-value',
        scope: 'https://other.crm.dynamics.com/.default',
      }).toString(),
    );
    expect(raw.status).toBe(400);
    expect((JSON.parse(raw.text) as { error_codes: number[] }).error_codes).toEqual([500011]);
  });

  it('answers 401 with WWW-Authenticate and no body when the token is missing or unknown', async () => {
    for (const token of ['', 'not-a-token']) {
      const reply = await webGet(emulator, token, 'opportunities');
      expect(reply.status).toBe(401);
      expect(reply.headers['www-authenticate']).toContain(
        `Bearer authorization_uri=${emulator.authority}/oauth2/authorize`,
      );
      expect(reply.text).toBe('');
    }
  });

  it('answers 401 for every issued token after expireAllTokens, while a new token works', async () => {
    const before = await clientTokenFor(emulator);
    expect((await webGet(emulator, before, 'accounts?$select=name')).status).toBe(200);
    const rejectedBefore = emulator.stats.expiredTokenRejections;
    emulator.faults.expireAllTokens();
    expect((await webGet(emulator, before, 'accounts?$select=name')).status).toBe(401);
    expect(emulator.stats.expiredTokenRejections).toBe(rejectedBefore + 1);
    const after = await clientTokenFor(emulator);
    expect((await webGet(emulator, after, 'accounts?$select=name')).status).toBe(200);
  });

  it('counts revoked tokens separately from expired ones', async () => {
    const token = await clientTokenFor(emulator);
    emulator.faults.revokeAllTokens();
    const reply = await webGet<ODataErrorBody>(emulator, token, 'accounts');
    expect(reply.status).toBe(401);
    expect(emulator.stats.revokedTokenRejections).toBe(1);
  });

  it('serves OpenID metadata whose endpoints are all on the emulator origin', async () => {
    const reply = await httpRequest(
      emulator,
      'GET',
      `/${emulator.tenantId}/v2.0/.well-known/openid-configuration`,
    );
    const metadata = JSON.parse(reply.text) as Record<string, string>;
    for (const field of ['issuer', 'token_endpoint', 'authorization_endpoint', 'jwks_uri']) {
      expect(new URL(metadata[field] ?? '').origin).toBe(emulator.url);
    }
  });
});

async function clientTokenFor(emulator: Emulator): Promise<string> {
  const form = new URLSearchParams({
    grant_type: 'client_credentials',
    client_id: 'app-1',
    client_secret: 's3cret-value',
    scope: `${emulator.url}/.default`,
  });
  const reply = await httpRequest(
    emulator,
    'POST',
    `/${emulator.tenantId}/oauth2/v2.0/token`,
    { 'Content-Type': 'application/x-www-form-urlencoded' },
    form.toString(),
  );
  return (JSON.parse(reply.text) as { access_token: string }).access_token;
}

describe('emulator: default credentials', () => {
  it('accepts the documented default client when no clients are configured', async () => {
    const emulator = await startEmulator({ dataset: 'empty' });
    try {
      const token = await clientToken(emulator);
      expect((await webGet(emulator, token, 'opportunities')).json.value).toEqual([]);
      expect(EMULATOR_DEFAULTS.tenantId).toBe(emulator.tenantId);
    } finally {
      await emulator.close();
    }
  });
});
