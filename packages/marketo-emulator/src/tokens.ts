/**
 * The identity endpoint and bearer tokens (AUTH, S-ID): client credentials in the query string only; the same
 * token is returned while it is valid; an expired token answers 602 on its first use and 601 after that.
 */
import { randomUUID } from 'node:crypto';

interface IssuedToken {
  expiresAt: number;
  /** 602 was answered for it once; from then on it is just an invalid string (601). */
  expiryReported: boolean;
}

export interface TokenReply {
  status: number;
  body: Record<string, unknown>;
}

export class TokenService {
  private readonly tokens = new Map<string, IssuedToken>();
  private current: string | undefined;

  constructor(
    private readonly credentials: { clientId: string; clientSecret: string },
    private lifetimeSeconds: number,
    private readonly scope: string,
  ) {}

  setLifetime(seconds: number): void {
    this.lifetimeSeconds = Math.max(1, seconds);
  }

  /** `GET|POST /identity/oauth/token?grant_type=client_credentials&client_id=…&client_secret=…`. */
  handle(query: URLSearchParams, now = Date.now()): TokenReply {
    // The body is never read: S-ID declares the three parameters `in: query`, for POST as well.
    const grantType = query.get('grant_type');
    if (grantType === null || grantType === '')
      return { status: 400, body: { error: 'invalid_request', error_description: 'Missing grant type' } };
    if (grantType !== 'client_credentials')
      return {
        status: 400,
        body: { error: 'unsupported_grant_type', error_description: `Unsupported grant type: ${grantType}` },
      };
    if (
      query.get('client_id') !== this.credentials.clientId ||
      query.get('client_secret') !== this.credentials.clientSecret
    )
      return { status: 401, body: { error: 'unauthorized', error_description: 'Bad client credentials' } };
    const token = this.validToken(now);
    const remaining = Math.max(0, Math.floor(((this.tokens.get(token)?.expiresAt ?? now) - now) / 1000));
    return {
      status: 200,
      body: { access_token: token, token_type: 'bearer', expires_in: remaining, scope: this.scope },
    };
  }

  private validToken(now: number): string {
    const current = this.current === undefined ? undefined : this.tokens.get(this.current);
    if (this.current !== undefined && current && current.expiresAt > now) return this.current;
    const token = `${randomUUID()}:int`;
    this.tokens.set(token, { expiresAt: now + this.lifetimeSeconds * 1000, expiryReported: false });
    this.current = token;
    return token;
  }

  /** undefined when the token is good, else the response-level code. */
  check(token: string | undefined, now = Date.now()): '601' | '602' | undefined {
    const issued = token === undefined ? undefined : this.tokens.get(token);
    if (!issued) return '601';
    if (now < issued.expiresAt) return undefined;
    if (issued.expiryReported) return '601';
    issued.expiryReported = true;
    return '602';
  }

  expireAll(now = Date.now()): void {
    for (const issued of this.tokens.values()) issued.expiresAt = Math.min(issued.expiresAt, now);
    this.current = undefined;
  }
}
