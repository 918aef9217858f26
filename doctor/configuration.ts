import { describeConfig, type AppConfig } from '../config';
import type { DynamicsAuthConfig } from '../dynamics';
import { fail, pass, type Check } from './check';

export interface Configured {
  config: AppConfig;
  /** The Dynamics connection the worker would use (DYNAMICS_URL is required: the doctor checks a deployment). */
  dynamics: DynamicsAuthConfig;
}

/**
 * Runs `load` (read and validate the configuration). Invalid configuration is a FAIL naming the variable, and
 * nothing else can be checked.
 */
export function checkConfiguration(load: () => Configured): { check: Check; configured?: Configured } {
  try {
    const configured = load();
    const described = describeConfig(configured.config);
    return {
      check: pass(
        'configuration',
        `Dynamics ${String(described.dynamicsUrl)} (${String(described.authFlow)}), store ` +
          `${String(described.storeUrl)}, Temporal ${String(described.temporalAddress)} namespace ` +
          `${String(described.namespace)}`,
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
