import {
  ConfidentialClientApplication,
  LogLevel,
  PublicClientApplication,
  type AccountInfo,
  type AuthenticationResult,
  type Configuration,
} from '@azure/msal-node';
import type { AxiosInstance } from 'axios';
import { DynamicsError, toSafeMessage } from './errors';
import { MsalAxiosNetwork } from './msal-network';
import { registerSecret } from './redact';

export interface DynamicsAuthConfig {
  /** Org URL, e.g. https://contoso.crm.dynamics.com (no trailing slash). */
  url: string;
  tenantId: string;
  clientId: string;
  /** Default https://login.microsoftonline.com/<tenant>. */
  authority?: string;
  /** Client-credentials flow when set. */
  clientSecret?: string;
  /** Username/password (ROPC) flow when set and there is no secret. */
  username?: string;
  password?: string;
  /** Extra CA PEM, only for the in-process bundled emulator; production uses NODE_EXTRA_CA_CERTS. */
  ca?: string;
}

// msal renews cached tokens this long before they expire; the delegated token held here follows suit.
const RENEWAL_MARGIN_MS = 300_000;

export interface AccessToken {
  token: string;
}

// Token-endpoint answers that mean the configured identity is wrong: retrying cannot fix them.
const CREDENTIAL_ERRORS = new Set([
  'invalid_client',
  'invalid_grant',
  'unauthorized_client',
  'invalid_request',
  'invalid_scope',
  'interaction_required',
  'consent_required',
  'login_required',
  'access_denied',
]);

/** The msal authority for the config; throws BAD_REQUEST when it is not https. */
export function authorityOf(config: DynamicsAuthConfig): URL {
  const text = config.authority ?? `https://login.microsoftonline.com/${encodeURIComponent(config.tenantId)}`;
  let authority: URL;
  try {
    authority = new URL(text);
  } catch {
    throw new DynamicsError('BAD_REQUEST', `Authority is not a URL: ${text}`);
  }
  if (authority.protocol !== 'https:') {
    throw new DynamicsError('BAD_REQUEST', `Authority must be an https URL, got ${authority.origin}`);
  }
  return authority;
}

/**
 * Access tokens for the Web API from Entra ID (or any compatible IdP), through one msal application object
 * per client so msal's cache and renewal apply. Concurrent callers share one token request.
 */
export class TokenProvider {
  private readonly scopes: string[];
  private readonly network: MsalAxiosNetwork;
  private readonly confidential?: ConfidentialClientApplication;
  private readonly publicApp?: PublicClientApplication;
  private account: AccountInfo | null = null;
  private userResult: AuthenticationResult | undefined;
  private current: string | undefined;
  private inFlight: Promise<AccessToken> | undefined;

  constructor(
    private readonly config: DynamicsAuthConfig,
    http: AxiosInstance,
    timeoutMs: number,
  ) {
    registerSecret(config.clientSecret);
    registerSecret(config.password);
    const authority = authorityOf(config);
    this.scopes = [`${config.url}/.default`];
    this.network = new MsalAxiosNetwork(http, timeoutMs);
    const msalConfig: Configuration = {
      auth: {
        clientId: config.clientId,
        authority: authority.href.replace(/\/$/, ''),
        // Any other host (sovereign cloud, test IdP, the emulator) must be known, or msal asks Microsoft's
        // instance-discovery endpoint about it; as a known authority msal reads its OpenID metadata instead.
        ...(authority.hostname.toLowerCase() === 'login.microsoftonline.com'
          ? {}
          : { knownAuthorities: [authority.host] }),
        ...(config.clientSecret !== undefined ? { clientSecret: config.clientSecret } : {}),
      },
      system: {
        networkClient: this.network,
        loggerOptions: {
          logLevel: LogLevel.Error,
          piiLoggingEnabled: false,
          loggerCallback: () => undefined,
        },
      },
    };
    if (config.clientSecret !== undefined) {
      this.confidential = new ConfidentialClientApplication(msalConfig);
    } else if (config.username !== undefined && config.password !== undefined) {
      this.publicApp = new PublicClientApplication(msalConfig);
    } else {
      throw new DynamicsError(
        'BAD_CREDENTIALS',
        'Set a client secret, or a username and password, for Dynamics',
      );
    }
  }

  /** A valid token: msal's cached one while it is fresh. */
  get(): Promise<AccessToken> {
    return this.acquire(false);
  }

  /**
   * A new token after the Web API rejected `rejected` with 401. When another request already replaced that
   * token, the replacement is returned instead of asking the IdP again.
   */
  renew(rejected: AccessToken): Promise<AccessToken> {
    if (this.inFlight) return this.inFlight;
    if (this.current !== undefined && this.current !== rejected.token)
      return Promise.resolve({ token: this.current });
    return this.acquire(true);
  }

  private acquire(forceRefresh: boolean): Promise<AccessToken> {
    if (this.inFlight) return this.inFlight;
    const request = this.requestToken(forceRefresh).finally(() => {
      this.inFlight = undefined;
    });
    this.inFlight = request;
    return request;
  }

  private async requestToken(forceRefresh: boolean): Promise<AccessToken> {
    let result: AuthenticationResult | null;
    try {
      result = this.confidential
        ? await this.confidential.acquireTokenByClientCredential({
            scopes: this.scopes,
            skipCache: forceRefresh,
          })
        : await this.userToken(forceRefresh);
    } catch (error) {
      throw this.tokenError(error);
    }
    if (!result?.accessToken) {
      throw new DynamicsError('INVALID_RESPONSE', 'The token endpoint returned no access token');
    }
    this.current = result.accessToken;
    return { token: result.accessToken };
  }

  // msal files a delegated .default token under the scope the IdP answers with (…/user_impersonation), so a
  // silent .default call never hits msal's cache. The delegated result is therefore kept here until msal's
  // own renewal margin, then renewed with the refresh token; only when that fails is the password sent again.
  private async userToken(forceRefresh: boolean): Promise<AuthenticationResult | null> {
    const app = this.publicApp!;
    const held = this.userResult;
    if (!forceRefresh && held?.expiresOn && held.expiresOn.getTime() - Date.now() > RENEWAL_MARGIN_MS)
      return held;
    let result: AuthenticationResult | null = null;
    if (this.account) {
      try {
        result = await app.acquireTokenSilent({
          account: this.account,
          scopes: this.scopes,
          forceRefresh: true,
        });
      } catch (error) {
        const mapped = this.tokenError(error);
        if (mapped.code === 'NETWORK' || mapped.code === 'THROTTLED' || mapped.code === 'SERVER_ERROR')
          throw mapped;
      }
    }
    result ??= await app.acquireTokenByUsernamePassword({
      scopes: this.scopes,
      username: this.config.username!,
      password: this.config.password!,
    });
    this.account = result?.account ?? null;
    this.userResult = result ?? undefined;
    return result;
  }

  private tokenError(error: unknown): DynamicsError {
    if (error instanceof Error && error.name === 'DynamicsError') return error as DynamicsError;
    const fields = error as { errorCode?: unknown; errorMessage?: unknown; status?: unknown };
    const errorCode = typeof fields.errorCode === 'string' ? fields.errorCode : '';
    const status = typeof fields.status === 'number' ? fields.status : undefined;
    const flow = this.confidential ? 'client credentials' : 'username/password';
    const described = toSafeMessage(error);
    const message = `Entra ID token request (${flow}, client ${this.config.clientId}) failed: ${described}`;
    if (CREDENTIAL_ERRORS.has(errorCode)) {
      return new DynamicsError('BAD_CREDENTIALS', message, { ...(status !== undefined ? { status } : {}) });
    }
    if (status === 429) return new DynamicsError('THROTTLED', message, { status });
    if (status !== undefined && status >= 500) return new DynamicsError('SERVER_ERROR', message, { status });
    if (
      errorCode === 'network_error' ||
      errorCode === 'endpoints_resolution_error' ||
      this.network.lastFailure
    ) {
      const reason = this.network.lastFailure ? `${message} (${this.network.lastFailure})` : message;
      return new DynamicsError('NETWORK', reason);
    }
    // Anything else from msal is a configuration problem (bad authority, bad client id format, …).
    return new DynamicsError('BAD_CREDENTIALS', message);
  }
}
