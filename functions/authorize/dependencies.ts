import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbStateStore } from '../adapters/dynamodb/state-store';
import { DynamoTable } from '../adapters/dynamodb/table';
import type { BeginInstallDependencies, BeginInstallSettings } from '../core/install/begin-install';
import { clientConfig } from '../runtime/aws-clients';
import { basics, rememberEdgeOriginSecret, type CompositionOverrides } from '../runtime/composition';
import { deploymentUrls, readVariables } from '../runtime/config';
import type { Environment } from '../runtime/environment';
import type { PageContext } from '../runtime/http';
import { FUNCTION_VARIABLES } from '../runtime/variables';

/** What `GET /authorize` knows about its deployment, read once from its own environment variables. */
export function readAuthorizeConfig(environment?: Environment) {
  const variables = readVariables(FUNCTION_VARIABLES.authorize, environment);
  const { redirectUri, startUrl } = deploymentUrls(variables.PUBLIC_URL);
  return {
    tableName: variables.TABLE_NAME,
    startUrl,
    edgeOriginSecret: variables.EDGE_ORIGIN_SECRET,
    beginInstall: {
      ecwidOAuthUrl: variables.ECWID_OAUTH_URL,
      clientId: variables.ECWID_CLIENT_ID,
      redirectUri,
      scopes: variables.ECWID_SCOPES,
      stateLifetimeSeconds: variables.STATE_TTL_SECONDS,
    } satisfies BeginInstallSettings,
  };
}

export type AuthorizeConfig = ReturnType<typeof readAuthorizeConfig>;

export interface AuthorizeDependencies extends BeginInstallDependencies, PageContext {
  settings: BeginInstallSettings;
}

/** The authorize function's dependencies: the state store over DynamoDB, and nothing else. No I/O happens here. */
export function composeAuthorize(config: AuthorizeConfig, overrides: CompositionOverrides = {}): AuthorizeDependencies {
  const { clock, random, aws } = basics(overrides);
  rememberEdgeOriginSecret(config.edgeOriginSecret);
  const table = new DynamoTable(new DynamoDBClient(clientConfig(aws, aws.dynamoDbEndpoint)), config.tableName);
  return {
    states: new DynamoDbStateStore(table),
    clock,
    random,
    settings: config.beginInstall,
    startUrl: config.startUrl,
    edgeOriginSecret: config.edgeOriginSecret,
  };
}
