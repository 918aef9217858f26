import dotenv from 'dotenv';
import { ConfigError, loadConfig, type AppConfig, type DynamicsConfig, type MarketoConfig } from '../config';
import type { MarketoConnection } from '../marketo';
import type { DynamicsAuthConfig } from '../dynamics';
import { createLogger, logDestination, type Logger } from '../logging';

/** Exit codes of SPEC section 5. */
export const EXIT = { ok: 0, runFailed: 1, usage: 2 } as const;

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface CommandContext {
  config: AppConfig;
  logger: Logger;
}

/** Loads `.env` (without overriding the real environment) and validates the whole configuration. */
export function commandContext(command: string): CommandContext {
  dotenv.config({ quiet: true });
  const config = loadConfig(process.env);
  const logger = createLogger(config.logLevel, { command }, logDestination(config.operations.logFormat));
  return { config, logger };
}

/** The Dynamics connection from configuration; the bundled emulator only where a command offers it. */
export function configuredDynamics(dynamics: DynamicsConfig): DynamicsAuthConfig {
  if (dynamics.url === undefined || dynamics.tenantId === undefined || dynamics.clientId === undefined) {
    throw new ConfigError('DYNAMICS_URL', 'is required here (only `oppsync dev` runs the bundled emulator)');
  }
  return {
    url: dynamics.url,
    tenantId: dynamics.tenantId,
    clientId: dynamics.clientId,
    clientSecret: dynamics.clientSecret,
    username: dynamics.username,
    password: dynamics.password,
    authority: dynamics.authority,
  };
}

/** The Marketo connection from configuration: undefined (no push) unless MARKETO_REST_URL is set. */
export function configuredMarketo(marketo: MarketoConfig): MarketoConnection | undefined {
  if (marketo.restUrl === undefined || marketo.clientId === undefined || marketo.clientSecret === undefined)
    return undefined;
  return { url: marketo.restUrl, clientId: marketo.clientId, clientSecret: marketo.clientSecret };
}

/** Prints a failure without a stack and returns the exit code it means. */
export function reportFailure(error: unknown): number {
  if (error instanceof ConfigError || (error as Error | undefined)?.name === 'ConfigError') {
    process.stderr.write(`oppsync: invalid configuration: ${(error as Error).message}\n`);
    return EXIT.usage;
  }
  // A namespace without oppsync's search attributes is a deployment setting to fix, like bad configuration.
  if (['UsageError', 'SearchAttributesError'].includes((error as Error | undefined)?.name ?? '')) {
    process.stderr.write(`oppsync: ${(error as Error).message}\n`);
    return EXIT.usage;
  }
  process.stderr.write(`oppsync: ${error instanceof Error ? error.message : String(error)}\n`);
  return EXIT.runFailed;
}

/**
 * After a first signal has begun a graceful shutdown, a second SIGINT or SIGTERM stops the process at once
 * (exit 128 + signal number, as a shell reports it): whatever is in flight is retried by the next worker.
 */
export function exitOnSecondSignal(logger: Logger): void {
  const handler = (signal: NodeJS.Signals): void => {
    logger.warn({ signal }, 'second signal: stopping at once');
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
}

/** Resolves on the first SIGINT or SIGTERM. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const handler = (signal: NodeJS.Signals): void => {
      process.removeListener('SIGINT', handler);
      process.removeListener('SIGTERM', handler);
      resolve(signal);
    };
    process.once('SIGINT', handler);
    process.once('SIGTERM', handler);
  });
}
