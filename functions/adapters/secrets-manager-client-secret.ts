import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ConfigurationError, errorName, SecretUnavailableError } from '../core/errors';
import type { ClientSecretSource, Clock, Logger } from '../core/ports';
import { extractClientSecret } from './client-secret-value';

/** After a failed refresh, the value read before keeps serving this long before the next attempt. */
const RETRY_AFTER_FAILURE_MS = 60_000;

export interface SecretsManagerClientSecretOptions {
  /** Name or ARN of the secret. */
  secretId: string;
  /** How long a value read is used before it is read again, so a rotated secret is picked up. */
  cacheTtlMs: number;
  clock: Clock;
  log: Logger;
}

/**
 * The app's client secret, read from AWS Secrets Manager and cached across invocations.
 *
 * The secret holds either the bare client secret or a JSON object with a `clientSecret` (or
 * `client_secret`) field. When a refresh fails, the last value read keeps serving (stale-if-error):
 * a Secrets Manager hiccup must not stop installs that the old value can complete.
 */
export class SecretsManagerClientSecret implements ClientSecretSource {
  private cached: { value: string; readAtEpochMs: number } | undefined;
  private inFlight: Promise<string> | undefined;

  constructor(
    private readonly client: SecretsManagerClient,
    private readonly options: SecretsManagerClientSecretOptions,
  ) {}

  async clientSecret(): Promise<string> {
    const nowEpochMs = this.options.clock.nowEpochMs();
    if (this.cached !== undefined && nowEpochMs - this.cached.readAtEpochMs < this.options.cacheTtlMs) {
      return this.cached.value;
    }
    // Concurrent callers share one read.
    this.inFlight ??= this.read().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async read(): Promise<string> {
    let secretString: string | undefined;
    try {
      const result = await this.client.send(new GetSecretValueCommand({ SecretId: this.options.secretId }));
      secretString = result.SecretString;
    } catch (error) {
      const failure = translate(error);
      if (this.cached !== undefined && failure instanceof SecretUnavailableError) {
        this.options.log.warn('could not refresh the client secret; using the value read before', {
          errorCode: failure.code,
          awsError: errorName(error),
        });
        // Try again in a minute, not on every call: each attempt waits out the SDK's retries.
        this.cached.readAtEpochMs = this.options.clock.nowEpochMs() - this.options.cacheTtlMs + RETRY_AFTER_FAILURE_MS;
        return this.cached.value;
      }
      throw failure;
    }
    const value = extractClientSecret(secretString);
    this.cached = { value, readAtEpochMs: this.options.clock.nowEpochMs() };
    return value;
  }
}

function translate(error: unknown): ConfigurationError | SecretUnavailableError {
  const awsError = errorName(error);
  if (awsError === 'ResourceNotFoundException') {
    return new ConfigurationError('the client secret does not exist', { cause: error, detail: { awsError } });
  }
  return new SecretUnavailableError('the client secret could not be read', {
    cause: error,
    detail: { awsError },
  });
}
