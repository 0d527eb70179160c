import { KMSClient } from '@aws-sdk/client-kms';
import { KmsTokenSigner, type PublicJwk } from '../adapters/kms-token-signer';
import { clientConfig } from '../runtime/aws-clients';
import { basics, rememberEdgeOriginSecret, type CompositionOverrides } from '../runtime/composition';
import { readVariables } from '../runtime/config';
import type { Environment } from '../runtime/environment';
import { FUNCTION_VARIABLES } from '../runtime/variables';

/** What `GET /.well-known/jwks.json` knows about its deployment. */
export function readJwksConfig(environment?: Environment) {
  const variables = readVariables(FUNCTION_VARIABLES.jwks, environment);
  return { signingKeyId: variables.SIGNING_KEY_ID, edgeOriginSecret: variables.EDGE_ORIGIN_SECRET };
}

export type JwksConfig = ReturnType<typeof readJwksConfig>;

export interface JwksDependencies {
  /** The signing key's public half, asked of KMS once per execution environment (again after a failure). */
  publicKeys(): Promise<PublicJwk[]>;
  edgeOriginSecret: string | undefined;
}

/** One KMS client and the key's public half, remembered once KMS gave it. */
export function composeJwks(config: JwksConfig, overrides: CompositionOverrides = {}): JwksDependencies {
  const { aws } = basics(overrides);
  rememberEdgeOriginSecret(config.edgeOriginSecret);
  const signer = new KmsTokenSigner(new KMSClient(clientConfig(aws, aws.kmsEndpoint)), config.signingKeyId);
  let keys: Promise<PublicJwk[]> | undefined;
  return {
    publicKeys: () => {
      keys ??= signer.publicJwk().then(
        (jwk) => [jwk],
        (error: unknown) => {
          keys = undefined;
          throw error;
        },
      );
      return keys;
    },
    edgeOriginSecret: config.edgeOriginSecret,
  };
}
