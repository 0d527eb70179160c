import { DecryptCommand, GenerateDataKeyCommand, type KMSClient } from '@aws-sdk/client-kms';
import { EncryptionError, errorName } from '../core/errors';
import type { TokenSealer, TokenVault } from '../core/ports';
import { AesGcmSealer } from './aes-gcm-sealer';
import { TOKEN_ENCRYPTION_CONTEXT } from './token-vault-context';

/**
 * Envelope encryption with AWS KMS: one data key per store, generated and unwrapped by KMS with an
 * encryption context naming the store (and the app, which the stack's IAM conditions require), then
 * used locally by {@link AesGcmSealer}. A data key copied to another store's item does not unwrap.
 *
 * @see https://docs.aws.amazon.com/kms/latest/developerguide/encrypt_context.html
 */
export class KmsTokenVault implements TokenVault {
  constructor(
    private readonly kms: KMSClient,
    private readonly keyId: string,
  ) {}

  async sealerFor(storeId: number): Promise<TokenSealer> {
    const result = await this.call('GenerateDataKey', () =>
      this.kms.send(
        new GenerateDataKeyCommand({ KeyId: this.keyId, KeySpec: 'AES_256', EncryptionContext: contextFor(storeId) }),
      ),
    );
    if (result.CiphertextBlob === undefined || result.Plaintext === undefined) {
      throw new EncryptionError('ENCRYPTION_UNAVAILABLE', 'KMS returned no data key', { detail: { operation: 'GenerateDataKey' } });
    }
    return new AesGcmSealer(storeId, Buffer.from(result.CiphertextBlob).toString('base64'), result.Plaintext);
  }

  async sealerOf(installation: { storeId: number; tokenKey: string }): Promise<TokenSealer> {
    const result = await this.call('Decrypt', () =>
      this.kms.send(
        new DecryptCommand({
          KeyId: this.keyId,
          CiphertextBlob: Buffer.from(installation.tokenKey, 'base64'),
          EncryptionContext: contextFor(installation.storeId),
        }),
      ),
    );
    if (result.Plaintext === undefined) {
      throw new EncryptionError('ENCRYPTION_UNAVAILABLE', 'KMS returned no plaintext', { detail: { operation: 'Decrypt' } });
    }
    return new AesGcmSealer(installation.storeId, installation.tokenKey, result.Plaintext);
  }

  /** KMS errors become domain errors: a refused data key is unreadable, anything else unavailable. */
  private async call<T>(operation: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      const awsError = errorName(error);
      const code = awsError === 'InvalidCiphertextException' || awsError === 'IncorrectKeyException' ? 'TOKEN_UNREADABLE' : 'ENCRYPTION_UNAVAILABLE';
      throw new EncryptionError(code, `KMS ${operation} failed`, { cause: error, detail: { operation, awsError } });
    }
  }
}

function contextFor(storeId: number): Record<string, string> {
  return { [TOKEN_ENCRYPTION_CONTEXT.appKey]: TOKEN_ENCRYPTION_CONTEXT.appValue, [TOKEN_ENCRYPTION_CONTEXT.storeKey]: String(storeId) };
}
