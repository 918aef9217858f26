/**
 * Strips credentials from text before it becomes an error message or a log line. Error messages end up in
 * Temporal history, so every message the client builds passes through here.
 */

// Secrets configured in this process (client secrets, passwords): redacted wherever they appear verbatim,
// even inside a message from a third-party library that echoed them back.
const registeredSecrets = new Set<string>();

/** Remembers a configured secret so that `redact` removes it from any text. Short strings are ignored. */
export function registerSecret(secret: string | undefined): void {
  // A 1–3 character "secret" would redact ordinary words; such a value is rejected by the IdP anyway.
  if (secret !== undefined && secret.length >= 4) registeredSecrets.add(secret);
}

const PATTERNS: [RegExp, string][] = [
  [/(bearer\s+)[A-Za-z0-9\-._~+/]+=*/gi, '$1[redacted]'],
  [
    /((?:access_token|refresh_token|id_token|client_secret|password|client_assertion|code)=)[^&\s"']*/gi,
    '$1[redacted]',
  ],
  [/("(?:access_token|refresh_token|id_token|client_secret|password)"\s*:\s*")[^"]*"/gi, '$1[redacted]"'],
  [/(authorization\s*[:=]\s*)[^\s,;]+(\s+[^\s,;]+)?/gi, '$1[redacted]'],
  // A JWT anywhere (three base64url segments starting with '{"' encoded) is an access or id token.
  [/eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g, '[redacted-jwt]'],
];

/** Returns `text` with bearer tokens, token/secret/password parameters, JWTs and registered secrets removed. */
export function redact(text: string): string {
  let out = text;
  for (const secret of registeredSecrets) out = out.split(secret).join('[redacted]');
  for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
  return out;
}
