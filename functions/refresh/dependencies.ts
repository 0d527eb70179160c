import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { DynamoDbDueInstallationStore } from '../adapters/dynamodb/due-installation-store';
import { DynamoTable } from '../adapters/dynamodb/table';
import { EcwidOAuthClient } from '../adapters/ecwid/oauth-client';
import { EcwidProfileVerifier } from '../adapters/ecwid/profile-verifier';
import { KmsTokenVault } from '../adapters/kms-token-vault';
import type { RefreshJobDependencies, RefreshJobSettings } from '../core/refresh/job';
import { clientConfig } from '../runtime/aws-clients';
import { clientSecretSource } from '../runtime/client-secret';
import { basics, type CompositionOverrides } from '../runtime/composition';
import { lifecycleEventPublisher } from '../runtime/event-publisher';
import { checkScheduleOf, readVariables } from '../runtime/config';
import type { Environment } from '../runtime/environment';
import { FUNCTION_VARIABLES } from '../runtime/variables';

/** The scheduled job's fixed policy; what operators may tune is in its environment. The credentials API's renewals follow it too. */
export const REFRESH_JOB_POLICY = {
  pageSize: 25,
  retryBaseSeconds: 5 * 60,
  retryMaxSeconds: 6 * 60 * 60,
  rateLimitDefaultSeconds: 60,
  rateLimitMaxSeconds: 60 * 60,
  assumedTokenLifetimeSeconds: 60 * 60,
};

/** What the scheduled refresh knows about its deployment, read once from its own environment variables. */
export function readRefreshConfig(environment?: Environment) {
  const variables = readVariables(FUNCTION_VARIABLES.refresh, environment);
  const tokenRequestTimeoutMs = variables.TOKEN_REQUEST_TIMEOUT_MS;
  return {
    tableName: variables.TABLE_NAME,
    clientSecretId: variables.CLIENT_SECRET_ID,
    tokenKeyId: variables.TOKEN_KEY_ID,
    ecwidOAuthUrl: variables.ECWID_OAUTH_URL,
    ecwidApiUrl: variables.ECWID_API_URL,
    tokenRequestTimeoutMs,
    secretCacheTtlMs: variables.SECRET_CACHE_TTL_SECONDS * 1000,
    eventBusName: variables.EVENT_BUS_NAME,
    job: {
      ...REFRESH_JOB_POLICY,
      clientId: variables.ECWID_CLIENT_ID,
      concurrency: variables.REFRESH_CONCURRENCY,
      // Longer than one installation can take (a secret read, one request, two writes).
      leaseDurationSeconds: Math.ceil((3 * tokenRequestTimeoutMs) / 1000) + 30,
      // Room for the requests in flight to finish before Lambda stops the run.
      deadlineMarginMs: tokenRequestTimeoutMs + 5_000,
      // One request to Ecwid and the write of its answer, with time to spare.
      requestReserveMs: tokenRequestTimeoutMs + 10_000,
      schedule: checkScheduleOf(variables),
      failureBudgetSeconds: variables.FAILURE_BUDGET_SECONDS,
      uninstallRetentionSeconds: variables.UNINSTALL_RETENTION_DAYS * 24 * 60 * 60,
      configuredScopes: variables.ECWID_SCOPES,
    } satisfies RefreshJobSettings,
  };
}

export type RefreshConfig = ReturnType<typeof readRefreshConfig>;

export interface RefreshDependencies extends RefreshJobDependencies {
  settings: RefreshJobSettings;
}

/**
 * The scheduled job's dependencies: the due index and leases over DynamoDB, the token endpoint and
 * REST API, the client secret from Secrets Manager and KMS to open data keys. No I/O happens here.
 */
export function composeRefresh(config: RefreshConfig, overrides: CompositionOverrides = {}): RefreshDependencies {
  const { clock, random, log, aws } = basics(overrides);
  const table = new DynamoTable(new DynamoDBClient(clientConfig(aws, aws.dynamoDbEndpoint)), config.tableName);
  const http = { timeoutMs: config.tokenRequestTimeoutMs, ...(overrides.fetch === undefined ? {} : { fetch: overrides.fetch }) };
  return {
    installations: new DynamoDbDueInstallationStore(table),
    refresher: new EcwidOAuthClient({ oauthBaseUrl: config.ecwidOAuthUrl, ...http }),
    verifier: new EcwidProfileVerifier({ apiBaseUrl: config.ecwidApiUrl, ...http }),
    clientSecret: clientSecretSource({ aws, secretId: config.clientSecretId, cacheTtlMs: config.secretCacheTtlMs, clock, log }),
    vault: new KmsTokenVault(new KMSClient(clientConfig(aws, aws.kmsEndpoint)), config.tokenKeyId),
    publisher: lifecycleEventPublisher({ aws, busName: config.eventBusName, budgetMs: 2_000, clock, log }),
    clock,
    random,
    log,
    settings: config.job,
  };
}
