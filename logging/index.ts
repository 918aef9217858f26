import pino, { type DestinationStream, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger } from 'pino';

/**
 * 'pretty' (readable lines) or 'json' (one object a line); by default readable on a terminal and JSON when
 * stderr goes to a file, a pipe or a log collector.
 */
export function logDestination(format: 'json' | 'pretty' | undefined): DestinationStream {
  const readable = format === 'pretty' || (format === undefined && process.stderr.isTTY === true);
  if (!readable) return pino.destination({ fd: 2, sync: true });
  return pretty({
    destination: 2,
    sync: true,
    colorize: process.stderr.isTTY === true,
    ignore: 'pid,hostname,app',
  });
}

/**
 * Structured logs on stderr (stdout stays free for `--json` output).
 * Keys that could carry a credential are censored wherever they appear, as a second line of defence:
 * code never logs secrets on purpose.
 */
export function createLogger(
  level: string,
  bindings: Record<string, unknown> = {},
  destination: DestinationStream = pino.destination({ fd: 2, sync: true }),
): Logger {
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
    destination,
  );
}
