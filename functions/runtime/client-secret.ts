import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretsManagerClientSecret } from '../adapters/secrets-manager-client-secret';
import type { ClientSecretSource, ClientSecretVersions, Clock, Logger } from '../core/ports';
import { clientConfig, type AwsClientOptions } from './aws-clients';
import { rememberSecret } from './redaction';

/**
 * The client secret from Secrets Manager, cached, and remembered by the log redaction as soon as it
 * is read, so no line can ever carry it.
 */
export function clientSecretSource(options: {
  aws: AwsClientOptions;
  secretId: string;
  cacheTtlMs: number;
  clock: Clock;
  log: Logger;
}): ClientSecretSource & ClientSecretVersions {
  const source = new SecretsManagerClientSecret(new SecretsManagerClient(clientConfig(options.aws, options.aws.secretsManagerEndpoint)), {
    secretId: options.secretId,
    cacheTtlMs: options.cacheTtlMs,
    clock: options.clock,
    log: options.log,
  });
  return {
    clientSecret: async () => {
      const value = await source.clientSecret();
      rememberSecret(value);
      return value;
    },
    clientSecrets: async () => {
      const secrets = await source.clientSecrets();
      rememberSecret(secrets.current);
      if (secrets.previous !== undefined) rememberSecret(secrets.previous);
      return secrets;
    },
  };
}
