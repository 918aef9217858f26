import pino, { type Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * Structured logs: one JSON object a line on stderr (stdout stays free for `--json` output).
 * Keys that could carry a credential are censored wherever they appear, as a second line of defence:
 * code never logs secrets on purpose.
 */
export function createLogger(level: string, bindings: Record<string, unknown> = {}): Logger {
  return pino(
    {
      level,
      base: { app: 'oppsync', ...bindings },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: [
          'clientSecret',
          'password',
          'accessToken',
          'access_token',
          'authorization',
          'apiKey',
          '*.clientSecret',
          '*.password',
          '*.accessToken',
          '*.access_token',
          '*.authorization',
          '*.Authorization',
          '*.apiKey',
          'headers.authorization',
        ],
        censor: '[redacted]',
      },
    },
    pino.destination({ fd: 2, sync: true }),
  );
}
