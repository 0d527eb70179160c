import { createCipheriv, createDecipheriv, createPrivateKey, createPublicKey, createSign, generateKeyPairSync, randomBytes, randomUUID, type KeyObject } from 'node:crypto';
import { TOKEN_KEY_CONDITIONS } from '../functions/adapters/token-vault-context';
import { AwsJsonService, AwsServiceError } from './aws-json-service';

/** A key policy condition block on `kms:EncryptionContext:*` keys: `StringEquals` and `Null`, all that the stack writes. */
export interface EncryptionContextConditions {
  StringEquals?: Readonly<Record<string, string>>;
  Null?: Readonly<Record<string, 'true' | 'false'>>;
}

/**
 * Whether a request's encryption context meets the conditions, as IAM evaluates them: every
 * `StringEquals` key present with exactly that value; every `Null: "false"` key present (and every
 * `Null: "true"` key absent). Conditions on anything but the encryption context are not supported.
 */
export function meetsEncryptionContextConditions(context: unknown, conditions: EncryptionContextConditions): boolean {
  const entries = (typeof context === 'object' && context !== null ? context : {}) as Record<string, unknown>;
  const contextKey = (conditionKey: string) => {
    const prefix = 'kms:EncryptionContext:';
    if (!conditionKey.startsWith(prefix)) throw new Error(`unsupported condition key ${conditionKey}`);
    return conditionKey.slice(prefix.length);
  };
  for (const [key, value] of Object.entries(conditions.StringEquals ?? {})) {
    if (entries[contextKey(key)] !== value) return false;
  }
  for (const [key, isNull] of Object.entries(conditions.Null ?? {})) {
    const present = typeof entries[contextKey(key)] === 'string';
    if (present !== (isNull === 'false')) return false;
  }
  return true;
}

const MAGIC = Buffer.from('LK1');
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * KMS on loopback, speaking its real wire protocol (AWS JSON 1.1, `TrentService`), so the functions
 * run their real SDK code: `GenerateDataKey`, `Encrypt` and `Decrypt` with a symmetric key and an
 * encryption context that must match on decrypt, as KMS enforces it. The key material lives in memory.
 *
 * Like the deployed key, whose key policy and IAM policies only allow uses with this app's encryption
 * context, it refuses (`AccessDeniedException`) any use whose context does not meet the same
 * conditions (`TOKEN_KEY_CONDITIONS`, the very object the stack writes into those policies).
 *
 * It also holds an asymmetric key (`ECC_NIST_P256`, `SIGN_VERIFY`) for sessions and receipts:
 * `Sign` (ECDSA_SHA_256 over a raw message; a DER signature, as KMS answers) and
 * `GetPublicKey` (the SPKI DER public key).
 */
/** What a stub needs to open what an earlier stub sealed and to sign as it did. */
export interface KmsStubKeys {
  keyArn: string;
  keyMaterial: string;
  signingKeyArn: string;
  signingPrivateKeyPem: string;
}

export class KmsStub extends AwsJsonService {
  /** The ARN of the one key this stub holds. */
  readonly keyArn: string;
  /** Calls answered, per operation (tests check where KMS is used). */
  readonly calls = { GenerateDataKey: 0, Encrypt: 0, Decrypt: 0, Sign: 0, GetPublicKey: 0 };
  /** The ARN of the signing key (ECC_NIST_P256). */
  readonly signingKeyArn: string;
  private readonly keyMaterial: Buffer;
  private readonly signingKey: { privateKey: KeyObject; publicKey: KeyObject };

  /**
   * @param keys the keys of an earlier stub (`exportKeys`), so data keys it wrapped open again: the
   *   local stack keeps them with its persisted database. New keys by default.
   */
  constructor(
    private readonly requiredConditions: EncryptionContextConditions = TOKEN_KEY_CONDITIONS,
    keys?: KmsStubKeys,
  ) {
    super('TrentService', {
      GenerateDataKey: (input) => {
        this.requireKey(input.KeyId);
        this.requireAllowedContext('kms:GenerateDataKey', input.EncryptionContext);
        const bytes = input.KeySpec === 'AES_128' ? 16 : typeof input.NumberOfBytes === 'number' ? input.NumberOfBytes : 32;
        const plaintext = randomBytes(bytes);
        this.calls.GenerateDataKey += 1;
        return {
          KeyId: this.keyArn,
          Plaintext: plaintext.toString('base64'),
          CiphertextBlob: this.wrap(plaintext, input.EncryptionContext).toString('base64'),
        };
      },
      Encrypt: (input) => {
        this.requireKey(input.KeyId);
        this.requireAllowedContext('kms:Encrypt', input.EncryptionContext);
        this.calls.Encrypt += 1;
        const plaintext = Buffer.from(String(input.Plaintext ?? ''), 'base64');
        return {
          KeyId: this.keyArn,
          CiphertextBlob: this.wrap(plaintext, input.EncryptionContext).toString('base64'),
          EncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
        };
      },
      Sign: (input) => {
        this.requireSigningKey(input.KeyId);
        if (input.SigningAlgorithm !== 'ECDSA_SHA_256') {
          throw new AwsServiceError('InvalidKeyUsageException', `${String(input.SigningAlgorithm)} is not valid for this key`);
        }
        const message = Buffer.from(String(input.Message ?? ''), 'base64');
        // What this stub supports of Sign: a raw message of at most 4096 bytes, hashed here (as KMS does).
        if (input.MessageType !== undefined && input.MessageType !== 'RAW') {
          throw new AwsServiceError('ValidationException', 'the KMS stub signs raw messages only');
        }
        if (message.byteLength > 4096) throw new AwsServiceError('ValidationException', 'a raw message is at most 4096 bytes');
        this.calls.Sign += 1;
        const signature = createSign('sha256').update(message).sign({ key: this.signingKey.privateKey, dsaEncoding: 'der' });
        return { KeyId: this.signingKeyArn, Signature: signature.toString('base64'), SigningAlgorithm: 'ECDSA_SHA_256' };
      },
      GetPublicKey: (input) => {
        this.requireSigningKey(input.KeyId);
        this.calls.GetPublicKey += 1;
        return {
          KeyId: this.signingKeyArn,
          PublicKey: this.signingKey.publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
          KeySpec: 'ECC_NIST_P256',
          KeyUsage: 'SIGN_VERIFY',
          SigningAlgorithms: ['ECDSA_SHA_256'],
        };
      },
      Decrypt: (input) => {
        if (input.KeyId !== undefined) this.requireKey(input.KeyId);
        this.requireAllowedContext('kms:Decrypt', input.EncryptionContext);
        this.calls.Decrypt += 1;
        const plaintext = this.unwrap(Buffer.from(String(input.CiphertextBlob ?? ''), 'base64'), input.EncryptionContext);
        return { KeyId: this.keyArn, Plaintext: plaintext.toString('base64'), EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
      },
    });
    this.keyArn = keys?.keyArn ?? `arn:aws:kms:local:000000000000:key/${randomUUID()}`;
    this.keyMaterial = keys === undefined ? randomBytes(32) : Buffer.from(keys.keyMaterial, 'base64');
    this.signingKeyArn = keys?.signingKeyArn ?? `arn:aws:kms:local:000000000000:key/${randomUUID()}`;
    if (keys === undefined) {
      this.signingKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    } else {
      const privateKey = createPrivateKey(keys.signingPrivateKeyPem);
      this.signingKey = { privateKey, publicKey: createPublicKey(privateKey) };
    }
  }

  /** The stub's key material, to start another stub over the same persisted data (never a real key). */
  exportKeys(): KmsStubKeys {
    return {
      keyArn: this.keyArn,
      keyMaterial: this.keyMaterial.toString('base64'),
      signingKeyArn: this.signingKeyArn,
      signingPrivateKeyPem: this.signingKey.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    };
  }

  private requireSigningKey(keyId: unknown): void {
    if (keyId !== this.signingKeyArn && keyId !== this.signingKeyArn.split('/')[1]) {
      throw new AwsServiceError('NotFoundException', `Key '${String(keyId)}' does not exist`);
    }
  }

  private requireKey(keyId: unknown): void {
    if (keyId !== this.keyArn && keyId !== this.keyArn.split('/')[1]) {
      throw new AwsServiceError('NotFoundException', `Key '${String(keyId)}' does not exist`);
    }
  }

  /** What the deployed key policy and IAM conditions refuse, refused the way KMS refuses it. */
  private requireAllowedContext(action: string, context: unknown): void {
    if (!meetsEncryptionContextConditions(context, this.requiredConditions)) {
      throw new AwsServiceError(
        'AccessDeniedException',
        `User: local-role is not authorized to perform: ${action} on resource: ${this.keyArn} because no resource-based policy allows the ${action} action`,
        400,
      );
    }
  }

  private wrap(plaintext: Buffer, context: unknown): Buffer {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.keyMaterial, iv);
    cipher.setAAD(canonicalContext(context));
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([MAGIC, iv, ciphertext, cipher.getAuthTag()]);
  }

  private unwrap(blob: Buffer, context: unknown): Buffer {
    try {
      if (!blob.subarray(0, MAGIC.byteLength).equals(MAGIC)) throw new Error('not ours');
      const body = blob.subarray(MAGIC.byteLength);
      const decipher = createDecipheriv('aes-256-gcm', this.keyMaterial, body.subarray(0, IV_BYTES));
      decipher.setAAD(canonicalContext(context));
      decipher.setAuthTag(body.subarray(body.byteLength - TAG_BYTES));
      return Buffer.concat([decipher.update(body.subarray(IV_BYTES, body.byteLength - TAG_BYTES)), decipher.final()]);
    } catch {
      // What KMS answers for a wrong encryption context as much as for a damaged ciphertext.
      throw new AwsServiceError('InvalidCiphertextException', 'The ciphertext is invalid or the encryption context does not match');
    }
  }
}

/** The encryption context as authenticated data: key order must not matter, as in KMS. */
function canonicalContext(context: unknown): Buffer {
  const entries = Object.entries((context ?? {}) as Record<string, string>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Buffer.from(JSON.stringify(entries), 'utf8');
}
