import { randomBytes, randomUUID } from 'node:crypto';
import { AesGcmSealer } from '../../functions/adapters/aes-gcm-sealer';
import { EncryptionError } from '../../functions/core/errors';
import type { SealedToken, TokenField } from '../../functions/core/model';
import type { TokenSealer, TokenVault } from '../../functions/core/ports';

/**
 * The token vault without KMS: data keys kept in memory, each bound to its store as KMS binds it
 * through the encryption context. The sealing itself is the production sealer.
 */
export class MemoryTokenVault implements TokenVault {
  /** When set, every call fails with it, as an unreachable KMS would. */
  failure: EncryptionError | undefined;
  readonly calls = { sealerFor: 0, sealerOf: 0 };
  private readonly keys = new Map<string, { storeId: number; dataKey: Buffer }>();

  async sealerFor(storeId: number): Promise<TokenSealer> {
    this.calls.sealerFor += 1;
    if (this.failure !== undefined) throw this.failure;
    const tokenKey = `wrapped-${randomUUID()}`;
    const dataKey = randomBytes(32);
    this.keys.set(tokenKey, { storeId, dataKey });
    return new AesGcmSealer(storeId, tokenKey, dataKey);
  }

  async sealerOf(installation: { storeId: number; tokenKey: string }): Promise<TokenSealer> {
    this.calls.sealerOf += 1;
    if (this.failure !== undefined) throw this.failure;
    const entry = this.keys.get(installation.tokenKey);
    if (entry === undefined || entry.storeId !== installation.storeId) {
      throw new EncryptionError('TOKEN_UNREADABLE', 'the data key does not belong to this store');
    }
    return new AesGcmSealer(installation.storeId, installation.tokenKey, entry.dataKey);
  }

  /** A stored token in the clear, for assertions. */
  async reveal(installation: { storeId: number; tokenKey: string }, sealed: SealedToken, field: TokenField): Promise<string> {
    return (await this.sealerOf(installation)).open(sealed, field);
  }
}
