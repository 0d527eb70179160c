import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { DynamoDbInstallationStore } from '../adapters/dynamodb/installation-store';
import { DynamoTable } from '../adapters/dynamodb/table';
import { EcwidProfileVerifier } from '../adapters/ecwid/profile-verifier';
import { KmsTokenSigner } from '../adapters/kms-token-signer';
import { KmsTokenVault } from '../adapters/kms-token-vault';
import type { OpenAppDependencies, OpenAppSettings } from '../core/native-app/open-app';
import { MAX_SESSION_LIFETIME_SECONDS } from '../core/native-app/signed-tokens';
import { clientConfig } from '../runtime/aws-clients';
import { clientSecretSource } from '../runtime/client-secret';
import { basics, rememberEdgeOriginSecret, type CompositionOverrides } from '../runtime/composition';
import { checkScheduleOf, deploymentUrls, readVariables } from '../runtime/config';
import type { Environment } from '../runtime/environment';
import { lifecycleEventPublisher } from '../runtime/event-publisher';
import type { PageContext } from '../runtime/http';
import { FUNCTION_VARIABLES } from '../runtime/variables';

/** What `GET /app` knows about its deployment, read once from its own environment variables. */
export function readAppConfig(environment?: Environment) {
  const variables = readVariables(FUNCTION_VARIABLES.app, environment);
  const { publicUrl, startUrl } = deploymentUrls(variables.PUBLIC_URL);
  return {
    tableName: variables.TABLE_NAME,
    clientSecretId: variables.CLIENT_SECRET_ID,
    tokenKeyId: variables.TOKEN_KEY_ID,
    signingKeyId: variables.SIGNING_KEY_ID,
    ecwidApiUrl: variables.ECWID_API_URL,
    clientId: variables.ECWID_CLIENT_ID,
    publicUrl,
    startUrl,
    /** Where the merchant is sent with `#session=...`; the built-in page when absent. */
    appUiUrl: variables.APP_UI_URL,
    frameAncestors: variables.FRAME_ANCESTORS,
    tokenRequestTimeoutMs: variables.TOKEN_REQUEST_TIMEOUT_MS,
    secretCacheTtlMs: variables.SECRET_CACHE_TTL_SECONDS * 1000,
    eventBusName: variables.EVENT_BUS_NAME,
    edgeOriginSecret: variables.EDGE_ORIGIN_SECRET,
    openApp: {
      configuredScopes: variables.ECWID_SCOPES,
      checkSchedule: checkScheduleOf(variables),
      sessionLifetimeSeconds: MAX_SESSION_LIFETIME_SECONDS,
    } satisfies OpenAppSettings,
  };
}

export type AppConfig = ReturnType<typeof readAppConfig>;

export interface AppDependencies extends OpenAppDependencies, PageContext {
  settings: OpenAppSettings;
  appUiUrl: string | undefined;
  /** Where the built-in pages' re-consent and reinstall links point: `/authorize`. */
  startUrl: string;
  frameAncestors: readonly string[];
}

/**
 * The app function's dependencies: installations over DynamoDB, the client secret (current and
 * previous) to decrypt the payload, KMS to seal a repaired token and to sign sessions, Ecwid's
 * profile endpoint for a repair, and EventBridge. No I/O happens here.
 */
export function composeApp(config: AppConfig, overrides: CompositionOverrides = {}): AppDependencies {
  const { clock, random, log, aws } = basics(overrides);
  rememberEdgeOriginSecret(config.edgeOriginSecret);
  const table = new DynamoTable(new DynamoDBClient(clientConfig(aws, aws.dynamoDbEndpoint)), config.tableName);
  const kms = new KMSClient(clientConfig(aws, aws.kmsEndpoint));
  return {
    clientSecrets: clientSecretSource({ aws, secretId: config.clientSecretId, cacheTtlMs: config.secretCacheTtlMs, clock, log }),
    installations: new DynamoDbInstallationStore(table),
    vault: new KmsTokenVault(kms, config.tokenKeyId),
    verifier: new EcwidProfileVerifier({
      apiBaseUrl: config.ecwidApiUrl,
      timeoutMs: config.tokenRequestTimeoutMs,
      ...(overrides.fetch === undefined ? {} : { fetch: overrides.fetch }),
    }),
    sessions: { signer: new KmsTokenSigner(kms, config.signingKeyId), issuer: config.publicUrl, audience: config.clientId, clock, random },
    publisher: lifecycleEventPublisher({ aws, busName: config.eventBusName, budgetMs: 1_500, clock, log }),
    random,
    log,
    settings: config.openApp,
    appUiUrl: config.appUiUrl,
    startUrl: config.startUrl,
    frameAncestors: config.frameAncestors,
    edgeOriginSecret: config.edgeOriginSecret,
  };
}
