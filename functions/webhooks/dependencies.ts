import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { DynamoDbInstallationStore } from '../adapters/dynamodb/installation-store';
import { DynamoDbLifecycleStore } from '../adapters/dynamodb/lifecycle-store';
import { DynamoTable } from '../adapters/dynamodb/table';
import { DynamoDbWebhookEventStore } from '../adapters/dynamodb/webhook-event-store';
import { EcwidAppSubscriptionReader } from '../adapters/ecwid/app-subscription-reader';
import { EcwidProfileVerifier } from '../adapters/ecwid/profile-verifier';
import { KmsTokenVault } from '../adapters/kms-token-vault';
import type { WebhookDependencies, WebhookSettings } from '../core/lifecycle/handle-webhook';
import { clientConfig, type AwsClientOptions } from '../runtime/aws-clients';
import { clientSecretSource } from '../runtime/client-secret';
import { basics, rememberEdgeOriginSecret, type CompositionOverrides } from '../runtime/composition';
import { readVariables } from '../runtime/config';
import type { Environment } from '../runtime/environment';
import { lifecycleEventPublisher } from '../runtime/event-publisher';
import { WEBHOOK_ANSWER_BUDGET_MS } from '../runtime/time-budgets';
import { FUNCTION_VARIABLES } from '../runtime/variables';

const HOUR_SECONDS = 60 * 60;

/** The route's fixed rules: Ecwid's retry window and delivery budget, not settings. */
const WEBHOOK_POLICY = {
  maxEventAgeSeconds: 26 * HOUR_SECONDS,
  maxFutureSkewSeconds: 5 * 60,
  eventRetentionSeconds: 72 * HOUR_SECONDS,
  // Each request to Ecwid's REST API: the uninstall's token check, the subscription's read.
  verifyTimeoutMs: 3_000,
  // One DynamoDB write (the purge or the request) and the claim's completion fit in this, at the limits below.
  reserveMs: 2_500,
};

/**
 * Every AWS call of the route gives up early: the answer to Ecwid waits for them all, within 10 s.
 * Two tries of at most 1.5 s each, so a call that hangs costs at most about 3 s.
 */
const WEBHOOK_AWS_LIMITS: NonNullable<AwsClientOptions['limits']> = { connectionTimeoutMs: 500, requestTimeoutMs: 1_500, maxAttempts: 2 };

/** What `POST /webhooks` knows about its deployment, read once from its own environment variables. */
export function readWebhooksConfig(environment?: Environment) {
  const variables = readVariables(FUNCTION_VARIABLES.webhooks, environment);
  return {
    tableName: variables.TABLE_NAME,
    clientSecretId: variables.CLIENT_SECRET_ID,
    tokenKeyId: variables.TOKEN_KEY_ID,
    ecwidApiUrl: variables.ECWID_API_URL,
    secretCacheTtlMs: variables.SECRET_CACHE_TTL_SECONDS * 1000,
    eventBusName: variables.EVENT_BUS_NAME,
    edgeOriginSecret: variables.EDGE_ORIGIN_SECRET,
    /** From a request's start to the moment its answer must be on its way. */
    answerBudgetMs: WEBHOOK_ANSWER_BUDGET_MS,
    webhook: {
      ...WEBHOOK_POLICY,
      uninstallRetentionSeconds: variables.UNINSTALL_RETENTION_DAYS * 24 * HOUR_SECONDS,
    } satisfies WebhookSettings,
  };
}

export type WebhooksConfig = ReturnType<typeof readWebhooksConfig>;

/** The core's dependencies but the counter, which the handler makes per request (its lines carry the request's id). */
export interface WebhooksDependencies extends Omit<WebhookDependencies, 'counter'> {
  settings: WebhookSettings;
  answerBudgetMs: number;
  /** With edge protection: the secret every delivery must carry from the edge. */
  edgeOriginSecret: string | undefined;
}

/**
 * The webhooks function's dependencies: the event claims and installations over DynamoDB, the client
 * secret (current and previous) from Secrets Manager, KMS to open a store's token, Ecwid's REST API
 * (the uninstall's token check, the app's subscription), and EventBridge. No I/O happens here.
 */
export function composeWebhooks(config: WebhooksConfig, overrides: CompositionOverrides = {}): WebhooksDependencies {
  const { clock, log, aws: baseAws } = basics(overrides);
  rememberEdgeOriginSecret(config.edgeOriginSecret);
  const aws: AwsClientOptions = { ...baseAws, limits: WEBHOOK_AWS_LIMITS };
  const table = new DynamoTable(new DynamoDBClient(clientConfig(aws, aws.dynamoDbEndpoint)), config.tableName);
  return {
    secrets: clientSecretSource({ aws, secretId: config.clientSecretId, cacheTtlMs: config.secretCacheTtlMs, clock, log }),
    webhookEvents: new DynamoDbWebhookEventStore(table),
    installations: new DynamoDbInstallationStore(table),
    lifecycle: new DynamoDbLifecycleStore(table),
    vault: new KmsTokenVault(new KMSClient(clientConfig(aws, aws.kmsEndpoint)), config.tokenKeyId),
    verifier: new EcwidProfileVerifier({
      apiBaseUrl: config.ecwidApiUrl,
      timeoutMs: WEBHOOK_POLICY.verifyTimeoutMs,
      ...(overrides.fetch === undefined ? {} : { fetch: overrides.fetch }),
    }),
    appSubscription: new EcwidAppSubscriptionReader({
      apiBaseUrl: config.ecwidApiUrl,
      timeoutMs: WEBHOOK_POLICY.verifyTimeoutMs,
      ...(overrides.fetch === undefined ? {} : { fetch: overrides.fetch }),
    }),
    publisher: lifecycleEventPublisher({ aws, busName: config.eventBusName, budgetMs: 1_000, clock, log }),
    clock,
    log,
    settings: config.webhook,
    answerBudgetMs: config.answerBudgetMs,
    edgeOriginSecret: config.edgeOriginSecret,
  };
}
