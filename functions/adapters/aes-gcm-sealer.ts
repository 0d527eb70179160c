import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { EncryptionError } from '../core/errors';
import type { SealedToken, TokenField } from '../core/model';
import type { TokenSealer } from '../core/ports';

const FORMAT = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * Seals tokens with a store's 256-bit data key: AES-256-GCM, a fresh 96-bit IV per token, and the
 * store id and field bound in as additional authenticated data, so a ciphertext opens only as the
 * same field of the same store. Stored as `v1.` + base64url(iv ‖ ciphertext ‖ tag).
 */
export class AesGcmSealer implements TokenSealer {
  constructor(
    readonly storeId: number,
    readonly tokenKey: string,
    private readonly dataKey: Uint8Array,
  ) {
    if (dataKey.byteLength !== 32) throw new Error('a data key is 32 bytes');
  }

  seal(token: string, field: TokenField): SealedToken {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.dataKey, iv);
    cipher.setAAD(this.associatedData(field));
    const ciphertext = Buffer.concat([cipher.update(token, 'utf8'), cipher.final()]);
    return `${FORMAT}.${Buffer.concat([iv, ciphertext, cipher.getAuthTag()]).toString('base64url')}` as SealedToken;
  }

  open(sealed: SealedToken, field: TokenField): string {
    const [format, payload] = sealed.split('.');
    const bytes = payload === undefined ? Buffer.alloc(0) : Buffer.from(payload, 'base64url');
    if (format !== FORMAT || bytes.byteLength < IV_BYTES + TAG_BYTES) throw unreadable(this.storeId, field);
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.dataKey, bytes.subarray(0, IV_BYTES));
      decipher.setAAD(this.associatedData(field));
      decipher.setAuthTag(bytes.subarray(bytes.byteLength - TAG_BYTES));
      return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES, bytes.byteLength - TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      throw unreadable(this.storeId, field);
    }
  }

  private associatedData(field: TokenField): Buffer {
    return Buffer.from(`ecwid-app-auth:${this.storeId}:${field}`, 'utf8');
  }
}

function unreadable(storeId: number, field: TokenField): EncryptionError {
  return new EncryptionError('TOKEN_UNREADABLE', 'a stored token did not decrypt', { detail: { storeId, field } });
}
