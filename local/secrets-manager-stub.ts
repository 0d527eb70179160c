import { randomUUID } from 'node:crypto';
import { AwsJsonService, AwsServiceError } from './aws-json-service';

interface StoredSecret {
  arn: string;
  name: string;
  secretString: string;
  versionId: string;
  createdAtEpochSeconds: number;
  /** The version before the last put: `AWSPREVIOUS`, as Secrets Manager keeps it after a rotation. */
  previous?: { secretString: string; versionId: string };
}

/**
 * Secrets Manager on loopback, speaking its real wire protocol, so the functions run their real
 * SDK code unchanged. Supports `GetSecretValue` (of `AWSCURRENT`, or of `AWSPREVIOUS` after a put
 * replaced a value) and `PutSecretValue`.
 */
export class SecretsManagerStub extends AwsJsonService {
  private readonly secrets = new Map<string, StoredSecret>();
  /** How many `GetSecretValue` calls were answered (tests check caching with it). */
  reads = 0;

  constructor() {
    super('secretsmanager', {
      GetSecretValue: (input) => {
        const secret = this.find(input.SecretId);
        this.reads += 1;
        if (input.VersionStage === 'AWSPREVIOUS') {
          if (secret.previous === undefined) {
            throw new AwsServiceError('ResourceNotFoundException', "Secrets Manager can't find the specified secret value for staging label: AWSPREVIOUS");
          }
          return {
            ARN: secret.arn,
            Name: secret.name,
            SecretString: secret.previous.secretString,
            VersionId: secret.previous.versionId,
            VersionStages: ['AWSPREVIOUS'],
            CreatedDate: secret.createdAtEpochSeconds,
          };
        }
        return {
          ARN: secret.arn,
          Name: secret.name,
          SecretString: secret.secretString,
          VersionId: secret.versionId,
          VersionStages: ['AWSCURRENT'],
          CreatedDate: secret.createdAtEpochSeconds,
        };
      },
      PutSecretValue: (input) => {
        const secret = this.find(input.SecretId);
        this.putSecret(secret.name, String(input.SecretString ?? ''));
        const updated = this.find(secret.name);
        return { ARN: updated.arn, Name: updated.name, VersionId: updated.versionId, VersionStages: ['AWSCURRENT'] };
      },
    });
  }

  /** Creates or replaces a secret; returns its ARN. */
  putSecret(name: string, secretString: string): string {
    const arn = `arn:aws:secretsmanager:local:000000000000:secret:${name}-AbCdEf`;
    const before = this.secrets.get(name);
    this.secrets.set(name, {
      ...(before === undefined ? {} : { previous: { secretString: before.secretString, versionId: before.versionId } }),
      arn,
      name,
      secretString,
      versionId: randomUUID(),
      createdAtEpochSeconds: Math.floor(Date.now() / 1000),
    });
    return arn;
  }

  private find(secretId: unknown): StoredSecret {
    for (const secret of this.secrets.values()) {
      if (secretId === secret.name || secretId === secret.arn) return secret;
    }
    throw new AwsServiceError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
  }
}
