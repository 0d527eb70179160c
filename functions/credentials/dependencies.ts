import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { DynamoDbCredentialsStore } from '../adapters/dynamodb/credentials-store';
import { DynamoTable } from '../adapters/dynamodb/table';
import { EcwidOAuthClient } from '../adapters/ecwid/oauth-client';
import { EcwidProfileVerifier } from '../adapters/ecwid/profile-verifier';
import { KmsTokenVault } from '../adapters/kms-token-vault';
import { CredentialsDesk } from '../core/credentials/credentials-desk';
import { DEFAULT_HAND_OUT_RULES } from '../core/credentials/hand-out';
import type { CredentialsSettings } from '../core/credentials/settings';
import type { Clock, LifecycleEventPublisher, Logger } from '../core/ports';
import { REFRESH_JOB_POLICY } from '../refresh/dependencies';
import { clientConfig } from '../runtime/aws-clients';
import { clientSecretSource } from '../runtime/client-secret';
import { basics, type CompositionOverrides } from '../runtime/composition';
import { checkScheduleOf, readVariables } from '../runtime/config';
import type { Environment } from '../runtime/environment';
import { lifecycleEventPublisher } from '../runtime/event-publisher';
import { FUNCTION_VARIABLES } from '../runtime/variables';

/** How long a reader waits for a renewal another lease holder is doing, and how often it looks. */
const RENEWAL_WAIT_MS = 8_000;
/** ...and when the current token still lasts a minute and can be handed out instead. */
const RENEWAL_WAIT_WITH_FALLBACK_MS = 2_000;
const RENEWAL_POLL_MS = 250;
/** A token Ecwid accepted is not checked again for further reports of the same version for this long. */
const ACCEPTED_TOKEN_MEMO_MS = 10_000;

/** What the credentials API knows about its deployment, read once from its own environment variables. */
export function readCredentialsConfig(environment?: Environment) {
  const variables = readVariables(FUNCTION_VARIABLES.credentials, environment);
  const tokenRequestTimeoutMs = variables.TOKEN_REQUEST_TIMEOUT_MS;
  const { pageSize: _pageSize, ...retryPolicy } = REFRESH_JOB_POLICY;
  return {
    tableName: variables.TABLE_NAME,
    clientSecretId: variables.CLIENT_SECRET_ID,
    tokenKeyId: variables.TOKEN_KEY_ID,
    ecwidOAuthUrl: variables.ECWID_OAUTH_URL,
    ecwidApiUrl: variables.ECWID_API_URL,
    tokenRequestTimeoutMs,
    secretCacheTtlMs: variables.SECRET_CACHE_TTL_SECONDS * 1000,
    eventBusName: variables.EVENT_BUS_NAME,
    desk: {
      ...DEFAULT_HAND_OUT_RULES,
      ...retryPolicy,
      clientId: variables.ECWID_CLIENT_ID,
      configuredScopes: variables.ECWID_SCOPES,
      // A refresh and two writes, with room to spare; short, since readers wait on it.
      leaseDurationSeconds: Math.ceil((2 * tokenRequestTimeoutMs) / 1000) + 10,
      renewalWaitMs: RENEWAL_WAIT_MS,
      renewalWaitWithFallbackMs: RENEWAL_WAIT_WITH_FALLBACK_MS,
      renewalPollMs: RENEWAL_POLL_MS,
      // One request to Ecwid and the write of its answer.
      requestReserveMs: tokenRequestTimeoutMs + 2_000,
      acceptedTokenMemoMs: ACCEPTED_TOKEN_MEMO_MS,
      schedule: checkScheduleOf(variables),
      failureBudgetSeconds: variables.FAILURE_BUDGET_SECONDS,
    } satisfies CredentialsSettings,
  };
}

export type CredentialsConfig = ReturnType<typeof readCredentialsConfig>;

export interface CredentialsFunctionDependencies {
  desk: CredentialsDesk;
  clock: Clock;
  log: Logger;
  /** Announces what a read or a report changed (`Token Revoked`, `Token Recovered`). */
  publisher: LifecycleEventPublisher;
  /** Never: the routes are IAM-authorized on the API's own origin, not behind the edge. */
  edgeOriginSecret?: undefined;
}

/**
 * The credentials API's dependencies: installation items over DynamoDB, KMS to open data keys, the
 * token endpoint and the client secret (to renew an expiring token), the REST API (to check a
 * reported rejection). No I/O happens here.
 */
export function composeCredentials(config: CredentialsConfig, overrides: CompositionOverrides = {}): CredentialsFunctionDependencies {
  const { clock, random, log, aws } = basics(overrides);
  const table = new DynamoTable(new DynamoDBClient(clientConfig(aws, aws.dynamoDbEndpoint)), config.tableName);
  const http = { timeoutMs: config.tokenRequestTimeoutMs, ...(overrides.fetch === undefined ? {} : { fetch: overrides.fetch }) };
  const desk = new CredentialsDesk(
    {
      installations: new DynamoDbCredentialsStore(table),
      vault: new KmsTokenVault(new KMSClient(clientConfig(aws, aws.kmsEndpoint)), config.tokenKeyId),
      refresher: new EcwidOAuthClient({ oauthBaseUrl: config.ecwidOAuthUrl, ...http }),
      verifier: new EcwidProfileVerifier({ apiBaseUrl: config.ecwidApiUrl, ...http }),
      clientSecret: clientSecretSource({ aws, secretId: config.clientSecretId, cacheTtlMs: config.secretCacheTtlMs, clock, log }),
      clock,
      random,
      log,
    },
    config.desk,
  );
  // A status change is stored before it is announced: publishing only delays the answer, briefly.
  const publisher = lifecycleEventPublisher({ aws, busName: config.eventBusName, budgetMs: 1_500, clock, log });
  return { desk, clock, log, publisher };
}
