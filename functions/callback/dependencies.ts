import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { DynamoDbCodeClaimStore } from '../adapters/dynamodb/code-claim-store';
import { DynamoDbInstallationStore } from '../adapters/dynamodb/installation-store';
import { DynamoDbStateStore } from '../adapters/dynamodb/state-store';
import { DynamoTable } from '../adapters/dynamodb/table';
import { EcwidOAuthClient } from '../adapters/ecwid/oauth-client';
import { KmsTokenSigner } from '../adapters/kms-token-signer';
import { KmsTokenVault } from '../adapters/kms-token-vault';
import type { CompleteInstallDependencies, CompleteInstallSettings } from '../core/install/complete-install';
import type { TokenIssuer } from '../core/native-app/signed-tokens';
import { clientConfig } from '../runtime/aws-clients';
import { clientSecretSource } from '../runtime/client-secret';
import { basics, rememberEdgeOriginSecret, type CompositionOverrides } from '../runtime/composition';
import { lifecycleEventPublisher } from '../runtime/event-publisher';
import { checkScheduleOf, deploymentUrls, readVariables } from '../runtime/config';
import type { Environment } from '../runtime/environment';
import type { PageContext } from '../runtime/http';
import { CALLBACK_TIMEOUT_SECONDS } from '../runtime/time-budgets';
import { FUNCTION_VARIABLES } from '../runtime/variables';

/** How long a duplicate callback waits for the request that is exchanging the same code. */
const PENDING_CLAIM_WAIT_MS = 6_000;
/**
 * The claim of a code that produced a token outlives the code (minutes) by far: a reload weeks later
 * still shows its outcome. The TTL then only cleans up.
 */
const CODE_CLAIM_LIFETIME_SECONDS = 30 * 24 * 60 * 60;
/** A code whose exchange failed, or is still unknown, is dead within minutes: an hour is plenty. */
const FAILED_CLAIM_LIFETIME_SECONDS = 60 * 60;

/** What `GET /callback` knows about its deployment, read once from its own environment variables. */
export function readCallbackConfig(environment?: Environment) {
  const variables = readVariables(FUNCTION_VARIABLES.callback, environment);
  const { redirectUri, startUrl } = deploymentUrls(variables.PUBLIC_URL);
  return {
    tableName: variables.TABLE_NAME,
    clientSecretId: variables.CLIENT_SECRET_ID,
    tokenKeyId: variables.TOKEN_KEY_ID,
    signingKeyId: variables.SIGNING_KEY_ID,
    publicUrl: variables.PUBLIC_URL,
    ecwidOAuthUrl: variables.ECWID_OAUTH_URL,
    tokenRequestTimeoutMs: variables.TOKEN_REQUEST_TIMEOUT_MS,
    secretCacheTtlMs: variables.SECRET_CACHE_TTL_SECONDS * 1000,
    eventBusName: variables.EVENT_BUS_NAME,
    startUrl,
    edgeOriginSecret: variables.EDGE_ORIGIN_SECRET,
    /** Where a completed install is sent (with `store_id` and a signed `receipt`); a built-in page when absent. */
    successUrl: variables.SUCCESS_URL,
    completeInstall: {
      clientId: variables.ECWID_CLIENT_ID,
      redirectUri,
      appMarketInstalls: variables.APP_MARKET_INSTALLS,
      codeClaimLifetimeSeconds: CODE_CLAIM_LIFETIME_SECONDS,
      failedClaimLifetimeSeconds: FAILED_CLAIM_LIFETIME_SECONDS,
      pendingClaimWaitMs: PENDING_CLAIM_WAIT_MS,
      pendingClaimPollMs: 200,
      // An attempt older than the callback's own timeout is not coming back.
      staleClaimAfterSeconds: CALLBACK_TIMEOUT_SECONDS + 5,
      checkSchedule: checkScheduleOf(variables),
      configuredScopes: variables.ECWID_SCOPES,
    } satisfies CompleteInstallSettings,
  };
}

export type CallbackConfig = ReturnType<typeof readCallbackConfig>;

export interface CallbackDependencies extends CompleteInstallDependencies, PageContext {
  settings: CompleteInstallSettings;
  successUrl: string | undefined;
  /** Signs the install receipt the redirect to `successUrl` carries. */
  receipts: TokenIssuer;
}

/**
 * The callback's dependencies: the three stores over DynamoDB, the token endpoint, the client
 * secret from Secrets Manager and data keys from KMS. No I/O happens here.
 */
export function composeCallback(config: CallbackConfig, overrides: CompositionOverrides = {}): CallbackDependencies {
  const { clock, random, log, aws } = basics(overrides);
  rememberEdgeOriginSecret(config.edgeOriginSecret);
  const table = new DynamoTable(new DynamoDBClient(clientConfig(aws, aws.dynamoDbEndpoint)), config.tableName);
  const kms = new KMSClient(clientConfig(aws, aws.kmsEndpoint));
  return {
    states: new DynamoDbStateStore(table),
    claims: new DynamoDbCodeClaimStore(table),
    installations: new DynamoDbInstallationStore(table),
    tokenEndpoint: new EcwidOAuthClient({
      oauthBaseUrl: config.ecwidOAuthUrl,
      timeoutMs: config.tokenRequestTimeoutMs,
      ...(overrides.fetch === undefined ? {} : { fetch: overrides.fetch }),
    }),
    clientSecret: clientSecretSource({ aws, secretId: config.clientSecretId, cacheTtlMs: config.secretCacheTtlMs, clock, log }),
    vault: new KmsTokenVault(kms, config.tokenKeyId),
    // The install is stored before it is announced: publishing only delays the merchant's page, briefly.
    publisher: lifecycleEventPublisher({ aws, busName: config.eventBusName, budgetMs: 1_500, clock, log }),
    clock,
    random,
    log,
    settings: config.completeInstall,
    startUrl: config.startUrl,
    edgeOriginSecret: config.edgeOriginSecret,
    successUrl: config.successUrl,
    receipts: {
      signer: new KmsTokenSigner(kms, config.signingKeyId),
      issuer: config.publicUrl,
      audience: config.completeInstall.clientId,
      clock,
      random,
    },
  };
}
