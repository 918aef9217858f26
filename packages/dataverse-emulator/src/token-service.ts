/**
 * The Entra ID side: OpenID metadata for msal-node, the v2.0 token endpoint (client credentials, ROPC and
 * refresh token grants) and validation of the bearer tokens it issued.
 */
import { createHmac, randomBytes, randomUUID } from 'node:crypto';

export interface TokenServiceOptions {
  url: string;
  tenantId: string;
  clients: { clientId: string; clientSecret: string }[];
  users: { username: string; password: string }[];
  publicClientIds: string[];
  lifetimeSeconds: number;
  now: () => number;
}

export interface IssuedToken {
  /** Short id for logs (the token's jti), never the token itself. */
  id: string;
  /** Client id (client credentials) or username (ROPC): the "user" service protection counts. */
  subject: string;
  userId: string;
  expiresAt: number;
  generation: number;
}

export type TokenCheck =
  { ok: true; token: IssuedToken } | { ok: false; reason: 'missing' | 'invalid' | 'expired' | 'revoked' };

export interface TokenReply {
  status: number;
  body: Record<string, unknown>;
  issued?: string;
}

const base64url = (value: string | Buffer): string => Buffer.from(value).toString('base64url');

export class TokenService {
  private readonly tokens = new Map<string, IssuedToken>();
  private readonly refreshTokens = new Map<string, { username: string; clientId: string }>();
  private readonly userIds = new Map<string, string>();
  private readonly signingKey = randomBytes(32);
  private generation = 0;
  private expiredBelow = 0;
  private revokedBelow = 0;
  rejectCredentials = false;

  constructor(private readonly options: TokenServiceOptions) {}

  get authority(): string {
    return `${this.options.url}/${this.options.tenantId}`;
  }

  /** Every token issued so far now answers 401 as expired; new tokens work. */
  expireAll(): void {
    this.expiredBelow = ++this.generation;
  }

  revokeAll(): void {
    this.revokedBelow = ++this.generation;
  }

  check(authorization: string | undefined): TokenCheck {
    if (!authorization || !/^Bearer\s+/i.test(authorization)) return { ok: false, reason: 'missing' };
    const token = this.tokens.get(authorization.replace(/^Bearer\s+/i, '').trim());
    if (!token) return { ok: false, reason: 'invalid' };
    if (token.generation < this.revokedBelow) return { ok: false, reason: 'revoked' };
    if (token.generation < this.expiredBelow || this.options.now() >= token.expiresAt)
      return { ok: false, reason: 'expired' };
    return { ok: true, token };
  }

  openIdConfiguration(): Record<string, unknown> {
    const authority = this.authority;
    return {
      token_endpoint: `${authority}/oauth2/v2.0/token`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      jwks_uri: `${authority}/discovery/v2.0/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      issuer: `${authority}/v2.0`,
      request_uri_parameter_supported: false,
      userinfo_endpoint: `${authority}/oidc/userinfo`,
      authorization_endpoint: `${authority}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${authority}/oauth2/v2.0/devicecode`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      end_session_endpoint: `${authority}/oauth2/v2.0/logout`,
      claims_supported: [
        'sub',
        'iss',
        'aud',
        'exp',
        'iat',
        'nbf',
        'name',
        'oid',
        'tid',
        'preferred_username',
      ],
      tenant_region_scope: 'EU',
      cloud_instance_name: new URL(this.options.url).host,
      cloud_graph_host_name: 'graph.windows.net',
      msgraph_host: 'graph.microsoft.com',
    };
  }

  instanceDiscovery(): Record<string, unknown> {
    const host = new URL(this.options.url).host;
    return {
      tenant_discovery_endpoint: `${this.authority}/v2.0/.well-known/openid-configuration`,
      'api-version': '1.1',
      metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
    };
  }

  handle(form: URLSearchParams): TokenReply {
    const grant = form.get('grant_type');
    const clientId = form.get('client_id') ?? '';
    if (this.rejectCredentials) return this.invalidClient(clientId);
    if (grant === 'client_credentials') {
      const client = this.options.clients.find((candidate) => candidate.clientId === clientId);
      if (!client) return this.unknownApplication(clientId);
      if (client.clientSecret !== form.get('client_secret')) return this.invalidClient(clientId);
      const scopeError = this.checkScope(form.get('scope'));
      if (scopeError) return scopeError;
      return this.issue(clientId, clientId, false);
    }
    if (grant === 'password' || grant === 'refresh_token') {
      if (!this.options.publicClientIds.includes(clientId)) return this.unknownApplication(clientId);
      let username: string;
      if (grant === 'password') {
        username = form.get('username') ?? '';
        const user = this.options.users.find(
          (candidate) => candidate.username.toLowerCase() === username.toLowerCase(),
        );
        if (!user || user.password !== form.get('password')) {
          return this.error(
            400,
            'invalid_grant',
            50126,
            'Error validating credentials due to invalid username or password.',
          );
        }
      } else {
        const known = this.refreshTokens.get(form.get('refresh_token') ?? '');
        if (!known || known.clientId !== clientId) {
          return this.error(
            400,
            'invalid_grant',
            9002313,
            'Invalid request. Request is malformed or invalid.',
          );
        }
        username = known.username;
      }
      const scopeError = this.checkScope(form.get('scope'));
      if (scopeError) return scopeError;
      return this.issue(username, clientId, true);
    }
    return this.error(
      400,
      'unsupported_grant_type',
      70003,
      `The app requested an unsupported grant type '${grant ?? ''}'.`,
    );
  }

  private checkScope(scope: string | null): TokenReply | undefined {
    const resourceScope = (scope ?? '').split(/\s+/).find((item) => item.endsWith('/.default'));
    const resource = resourceScope?.slice(0, -'/.default'.length).replace(/\/+$/, '').toLowerCase();
    if (resource === this.options.url.toLowerCase()) return undefined;
    return this.error(
      400,
      'invalid_resource',
      500011,
      `The resource principal named ${resource ?? '(none)'} was not found in the tenant named ${this.options.tenantId}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.`,
    );
  }

  private userIdFor(subject: string): string {
    let id = this.userIds.get(subject);
    if (!id) {
      id = randomUUID();
      this.userIds.set(subject, id);
    }
    return id;
  }

  private jwt(payload: Record<string, unknown>): string {
    const head = base64url(JSON.stringify({ typ: 'JWT', alg: 'HS256' }));
    const body = base64url(JSON.stringify(payload));
    const signature = createHmac('sha256', this.signingKey).update(`${head}.${body}`).digest('base64url');
    return `${head}.${body}.${signature}`;
  }

  private issue(subject: string, clientId: string, delegated: boolean): TokenReply {
    const now = this.options.now();
    const seconds = Math.floor(now / 1000);
    const lifetime = this.options.lifetimeSeconds;
    const id = randomUUID();
    const userId = this.userIdFor(subject);
    const tid = this.options.tenantId;
    const accessToken = this.jwt({
      aud: `${this.options.url}`,
      iss: `${this.authority}/`,
      iat: seconds,
      nbf: seconds,
      exp: seconds + lifetime,
      appid: clientId,
      oid: userId,
      sub: userId,
      tid,
      jti: id,
      ...(delegated ? { upn: subject, scp: 'user_impersonation' } : { roles: [] }),
    });
    this.tokens.set(accessToken, {
      id,
      subject,
      userId,
      expiresAt: now + lifetime * 1000,
      generation: this.generation,
    });
    const body: Record<string, unknown> = {
      token_type: 'Bearer',
      expires_in: lifetime,
      ext_expires_in: lifetime,
      access_token: accessToken,
    };
    if (delegated) {
      const refreshToken = base64url(randomBytes(48));
      this.refreshTokens.set(refreshToken, { username: subject, clientId });
      body.scope = `${this.options.url}/user_impersonation`;
      body.refresh_token = refreshToken;
      // msal-node builds its account from id_token and client_info; it decodes but does not verify them.
      body.id_token = this.jwt({
        aud: clientId,
        iss: `${this.authority}/v2.0`,
        iat: seconds,
        nbf: seconds,
        exp: seconds + lifetime,
        name: subject,
        oid: userId,
        preferred_username: subject,
        sub: userId,
        tid,
        ver: '2.0',
      });
      body.client_info = base64url(JSON.stringify({ uid: userId, utid: tid }));
    }
    return { status: 200, body, issued: accessToken };
  }

  private invalidClient(clientId: string): TokenReply {
    return this.error(
      401,
      'invalid_client',
      7000215,
      `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.`,
    );
  }

  private unknownApplication(clientId: string): TokenReply {
    return this.error(
      400,
      'unauthorized_client',
      700016,
      `Application with identifier '${clientId}' was not found in the directory '${this.options.tenantId}'.`,
    );
  }

  private error(status: number, error: string, code: number, description: string): TokenReply {
    const traceId = randomUUID();
    const correlationId = randomUUID();
    const timestamp = new Date(this.options.now())
      .toISOString()
      .replace('T', ' ')
      .replace(/\.\d{3}Z$/, 'Z');
    return {
      status,
      body: {
        error,
        error_description: `AADSTS${code}: ${description} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${timestamp}`,
        error_codes: [code],
        timestamp,
        trace_id: traceId,
        correlation_id: correlationId,
        error_uri: `${this.authority}/error?code=${code}`,
      },
    };
  }
}
