import type { Clock, RandomSource } from '../core/ports';
import type { AwsClientOptions } from './aws-clients';
import { JsonLogger, type AppLogger } from './logger';
import { rememberSecret } from './redaction';
import { cryptoRandom, systemClock } from './system';

/** The service name on every log line. */
export const SERVICE_NAME = 'ecwid-app-auth';

/** The logger of the Lambda functions: one JSON line per entry on stdout, which Lambda sends to the function's log group. */
export const rootLogger: AppLogger = new JsonLogger({ service: SERVICE_NAME });

/** What the local stack and tests replace when they compose a function's dependencies. */
export interface CompositionOverrides {
  aws?: AwsClientOptions;
  clock?: Clock;
  random?: RandomSource;
  fetch?: typeof fetch;
  log?: AppLogger;
}

/** Remembers a deployment's edge origin secret, when it has one, so no log line can carry it. */
export function rememberEdgeOriginSecret(secret: string | undefined): void {
  if (secret !== undefined) rememberSecret(secret);
}

/** The clock, randomness, logger and AWS client options a composition uses: the overrides, or the real ones. */
export function basics(overrides: CompositionOverrides) {
  return {
    clock: overrides.clock ?? systemClock,
    random: overrides.random ?? cryptoRandom,
    log: overrides.log ?? rootLogger,
    aws: overrides.aws ?? {},
  };
}

/**
 * The dependencies of a Lambda function, composed on first use from its environment and kept for
 * the life of the execution environment. A broken configuration is remembered and rethrown, so
 * every request answers with the "not set up" page and logs what is missing.
 */
export function composedOnce<D>(compose: () => D): () => D {
  let composition: { dependencies: D } | { error: unknown } | undefined;
  return () => {
    if (composition === undefined) {
      try {
        composition = { dependencies: compose() };
      } catch (error) {
        composition = { error };
      }
    }
    if ('error' in composition) throw composition.error;
    return composition.dependencies;
  };
}
