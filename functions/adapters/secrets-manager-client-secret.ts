import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ConfigurationError, errorName, SecretUnavailableError } from '../core/errors';
import { PREVIOUS_CLIENT_SECRET_GRACE_SECONDS } from '../core/lifecycle/signature';
import type { ClientSecretSource, ClientSecretVersions, Clock, Logger } from '../core/ports';
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
export class SecretsManagerClientSecret implements ClientSecretSource, ClientSecretVersions {
  /** The current version: its value, when it was read, and when Secrets Manager created it (the rotation). */
  private cached: { value: string; readAtEpochMs: number; createdAtEpochMs: number | undefined } | undefined;
  private inFlight: Promise<string> | undefined;
  private cachedPrevious: { value: string | undefined; readAtEpochMs: number } | undefined;
  private previousInFlight: Promise<string | undefined> | undefined;

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

  /**
   * The current secret, and the one Secrets Manager keeps as `AWSPREVIOUS` after a rotation, both
   * cached the same way. The previous one counts only within `PREVIOUS_CLIENT_SECRET_GRACE_SECONDS` of
   * the current version's `CreatedDate` (the rotation), and is not even read past it; nor when there
   * is none (a secret never rotated), it is the placeholder the stack started with, or it cannot be read.
   */
  async clientSecrets(): Promise<{ current: string; previous?: string }> {
    const current = await this.clientSecret();
    const rotatedAtEpochMs = this.cached?.createdAtEpochMs;
    // Without the rotation's time, the previous secret's age is unknown: it signs nothing.
    if (rotatedAtEpochMs === undefined || this.options.clock.nowEpochMs() - rotatedAtEpochMs >= PREVIOUS_CLIENT_SECRET_GRACE_SECONDS * 1000) {
      return { current };
    }
    const previous = await this.previousClientSecret();
    return previous === undefined || previous === current ? { current } : { current, previous };
  }

  private async previousClientSecret(): Promise<string | undefined> {
    const nowEpochMs = this.options.clock.nowEpochMs();
    if (this.cachedPrevious !== undefined && nowEpochMs - this.cachedPrevious.readAtEpochMs < this.options.cacheTtlMs) {
      return this.cachedPrevious.value;
    }
    this.previousInFlight ??= this.readPrevious().finally(() => {
      this.previousInFlight = undefined;
    });
    return this.previousInFlight;
  }

  private async readPrevious(): Promise<string | undefined> {
    let value: string | undefined;
    try {
      const result = await this.client.send(new GetSecretValueCommand({ SecretId: this.options.secretId, VersionStage: 'AWSPREVIOUS' }));
      value = extractClientSecret(result.SecretString);
    } catch (error) {
      const awsError = errorName(error);
      // No previous version is the usual case; anything else is worth a line, not a failure.
      if (awsError !== 'ResourceNotFoundException' && awsError !== 'ConfigurationError') {
        this.options.log.warn('could not read the previous client secret; only the current one is accepted', { awsError });
        // Try again in a minute, like the current one.
        this.cachedPrevious = { value: this.cachedPrevious?.value, readAtEpochMs: this.options.clock.nowEpochMs() - this.options.cacheTtlMs + RETRY_AFTER_FAILURE_MS };
        return this.cachedPrevious.value;
      }
    }
    this.cachedPrevious = { value, readAtEpochMs: this.options.clock.nowEpochMs() };
    return value;
  }

  private async read(): Promise<string> {
    let secretString: string | undefined;
    let createdAtEpochMs: number | undefined;
    try {
      const result = await this.client.send(new GetSecretValueCommand({ SecretId: this.options.secretId }));
      secretString = result.SecretString;
      const created = result.CreatedDate?.getTime();
      createdAtEpochMs = created !== undefined && Number.isFinite(created) ? created : undefined;
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
    this.cached = { value, readAtEpochMs: this.options.clock.nowEpochMs(), createdAtEpochMs };
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
