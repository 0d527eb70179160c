import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoDbStore } from '../adapters/dynamodb-store';
import { EcwidHttpClient } from '../adapters/ecwid-http-client';
import { KmsTokenVault } from '../adapters/kms-token-vault';
import { SecretsManagerClientSecret } from '../adapters/secrets-manager-client-secret';
import type { BeginInstallDependencies, BeginInstallSettings } from '../core/begin-install';
import type { CompleteInstallDependencies, CompleteInstallSettings } from '../core/complete-install';
import type { RefreshJobDependencies, RefreshJobSettings } from '../core/refresh-installations';
import type { ClientSecretSource, Clock, DueInstallationStore, InstallationStore, RandomSource } from '../core/ports';
import { readConfig, type AppConfig } from './config';
import { LambdaLogger, type AppLogger } from './logger';
import { rememberSecret } from './redaction';
import { cryptoRandom, systemClock } from './system';
import { CALLBACK_TIMEOUT_SECONDS } from './time-budgets';

/** Everything a handler needs, composed once per cold start: what each flow depends on, and its settings. */
export interface AppDependencies
  extends BeginInstallDependencies,
    Omit<CompleteInstallDependencies, 'installations'>,
    Omit<RefreshJobDependencies, 'installations'> {
  config: AppConfig;
  beginInstallSettings: BeginInstallSettings;
  completeInstallSettings: CompleteInstallSettings;
  refreshJobSettings: RefreshJobSettings;
  installations: InstallationStore & DueInstallationStore;
}

/** Where the AWS clients connect: Lambda's defaults in AWS, local servers in the local stack. */
export interface AwsClientOptions {
  region?: string;
  dynamoDbEndpoint?: string;
  secretsManagerEndpoint?: string;
  kmsEndpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

export interface CompositionOverrides {
  aws?: AwsClientOptions;
  clock?: Clock;
  random?: RandomSource;
  fetch?: typeof fetch;
  log?: AppLogger;
}

/** The service name on every log line. */
export const SERVICE_NAME = 'ecwid-app-auth';

export const rootLogger: AppLogger = LambdaLogger.create(SERVICE_NAME);

/** How long a duplicate callback waits for the request that is exchanging the same code. */
const PENDING_CLAIM_WAIT_MS = 6_000;
/**
 * Code claims outlive codes (minutes) by far: while a claim exists its code is never sent again, and
 * a reload weeks later still shows its outcome. The TTL then only cleans up.
 */
const CODE_CLAIM_LIFETIME_SECONDS = 30 * 24 * 60 * 60;

/** The scheduled job's fixed policy; what operators may tune is in the configuration. */
const REFRESH_JOB_POLICY = {
  pageSize: 25,
  retryBaseSeconds: 5 * 60,
  retryMaxSeconds: 6 * 60 * 60,
  rateLimitDefaultSeconds: 60,
  rateLimitMaxSeconds: 60 * 60,
  assumedTokenLifetimeSeconds: 60 * 60,
};

/** Builds the adapters and settings from a configuration. No network I/O happens here. */
export function composeDependencies(config: AppConfig, overrides: CompositionOverrides = {}): AppDependencies {
  const clock = overrides.clock ?? systemClock;
  const log = overrides.log ?? rootLogger;
  const random = overrides.random ?? cryptoRandom;
  const aws = overrides.aws ?? {};
  const common = {
    ...(aws.region === undefined ? {} : { region: aws.region }),
    ...(aws.credentials === undefined ? {} : { credentials: aws.credentials }),
    // A stuck connection must fail fast enough to leave time for a readable error page.
    requestHandler: { connectionTimeout: 1_000, requestTimeout: 3_000 },
  };
  const store = new DynamoDbStore(
    new DynamoDBClient({ ...common, ...(aws.dynamoDbEndpoint === undefined ? {} : { endpoint: aws.dynamoDbEndpoint }) }),
    { tableName: config.tableName },
  );
  const ecwid = new EcwidHttpClient({
    oauthBaseUrl: config.ecwidOAuthUrl,
    apiBaseUrl: config.ecwidApiUrl,
    timeoutMs: config.tokenRequestTimeoutMs,
    ...(overrides.fetch === undefined ? {} : { fetch: overrides.fetch }),
  });
  const secrets = new SecretsManagerClient({
    ...common,
    ...(aws.secretsManagerEndpoint === undefined ? {} : { endpoint: aws.secretsManagerEndpoint }),
  });

  return {
    config,
    beginInstallSettings: {
      ecwidOAuthUrl: config.ecwidOAuthUrl,
      clientId: config.clientId,
      redirectUri: config.redirectUri,
      scopes: config.scopes,
      stateLifetimeSeconds: config.stateLifetimeSeconds,
    },
    completeInstallSettings: {
      clientId: config.clientId,
      redirectUri: config.redirectUri,
      appMarketInstalls: config.appMarketInstalls,
      codeClaimLifetimeSeconds: CODE_CLAIM_LIFETIME_SECONDS,
      pendingClaimWaitMs: PENDING_CLAIM_WAIT_MS,
      pendingClaimPollMs: 200,
      // An attempt older than the callback's own timeout is not coming back.
      staleClaimAfterSeconds: CALLBACK_TIMEOUT_SECONDS + 5,
      checkSchedule: config.checkSchedule,
    },
    refreshJobSettings: {
      ...REFRESH_JOB_POLICY,
      clientId: config.clientId,
      concurrency: config.refreshConcurrency,
      // Longer than one installation can take (a secret read, one request, two writes).
      leaseDurationSeconds: Math.ceil((3 * config.tokenRequestTimeoutMs) / 1000) + 30,
      // Room for the requests in flight to finish before Lambda stops the run.
      deadlineMarginMs: config.tokenRequestTimeoutMs + 5_000,
      // One request to Ecwid and the write of its answer, with time to spare.
      requestReserveMs: config.tokenRequestTimeoutMs + 10_000,
      schedule: config.checkSchedule,
      failureBudgetSeconds: config.failureBudgetSeconds,
    },
    states: store,
    claims: store,
    installations: store,
    tokenEndpoint: ecwid,
    refresher: ecwid,
    verifier: ecwid,
    clientSecret: rememberingSecret(
      new SecretsManagerClientSecret(secrets, {
        secretId: config.clientSecretId,
        cacheTtlMs: config.secretCacheTtlMs,
        clock,
        log,
      }),
    ),
    vault: new KmsTokenVault(
      new KMSClient({ ...common, ...(aws.kmsEndpoint === undefined ? {} : { endpoint: aws.kmsEndpoint }) }),
      config.tokenKeyId,
    ),
    clock,
    random,
    log,
  };
}

/** Every client secret read is remembered by the log redaction, so no line can ever carry it. */
function rememberingSecret(source: ClientSecretSource): ClientSecretSource {
  return {
    clientSecret: async () => {
      const value = await source.clientSecret();
      rememberSecret(value);
      return value;
    },
  };
}

let lambdaComposition: { dependencies: AppDependencies } | { error: unknown } | undefined;

/**
 * The dependencies of a Lambda function, from its environment, composed on first use and kept for
 * the life of the execution environment. A broken configuration is remembered and rethrown, so
 * every request answers with the "not set up" page and logs what is missing.
 */
export function lambdaDependencies(): AppDependencies {
  if (lambdaComposition === undefined) {
    try {
      lambdaComposition = { dependencies: composeDependencies(readConfig()) };
    } catch (error) {
      lambdaComposition = { error };
    }
  }
  if ('error' in lambdaComposition) throw lambdaComposition.error;
  return lambdaComposition.dependencies;
}
