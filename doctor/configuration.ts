import type { AppConfig } from '../config';
import type { DynamicsAuthConfig } from '../dynamics';
import type { MarketoConnection } from '../marketo';
import { redactUrl } from '../store';
import { fail, pass, type Check } from './check';

export interface Configured {
  config: AppConfig;
  /** The Dynamics connection the worker would use (DYNAMICS_URL is required: the doctor checks a deployment). */
  dynamics: DynamicsAuthConfig;
  /** Where runs push (SPEC section 7); undefined when MARKETO_REST_URL is not set. */
  marketo?: MarketoConnection;
}

/**
 * Runs `load` (read and validate the configuration). Invalid configuration is a FAIL naming the variable, and
 * nothing else can be checked.
 */
export function checkConfiguration(load: () => Configured): { check: Check; configured?: Configured } {
  try {
    const configured = load();
    const { dynamics, storeUrl, temporal } = configured.config;
    const flow = dynamics.clientSecret !== undefined ? 'client credentials' : 'username/password';
    return {
      check: pass(
        'configuration',
        `Dynamics ${configured.dynamics.url} (${flow}), store ${redactUrl(storeUrl)}, ` +
          `Temporal ${temporal.address} namespace ${temporal.namespace}`,
      ),
      configured,
    };
  } catch (error) {
    if ((error as Error).name !== 'ConfigError') throw error;
    const { variable, message } = error as Error & { variable: string };
    return {
      check: fail(
        'configuration',
        message,
        `set ${variable} in the environment or .env (README, Configuration), then run oppsync doctor again`,
      ),
    };
  }
}
