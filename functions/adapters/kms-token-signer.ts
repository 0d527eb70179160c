import { createPublicKey } from 'node:crypto';
import { GetPublicKeyCommand, SignCommand, type KMSClient } from '@aws-sdk/client-kms';
import { EncryptionError, errorName } from '../core/errors';
import type { TokenSigner } from '../core/ports';

/** One public key as a JWK (RFC 7517), as the JWKS route publishes it. */
export interface PublicJwk {
  kty: 'EC';
  crv: 'P-256';
  x: string;
  y: string;
  kid: string;
  alg: 'ES256';
  use: 'sig';
}

/** The largest message KMS signs as it is (`MessageType: RAW`); a JWT's signing input is far smaller. */
const MAX_RAW_MESSAGE_BYTES = 4096;

/**
 * Signs with an asymmetric KMS key (`ECC_NIST_P256`, `SIGN_VERIFY`): the private key never leaves
 * KMS. The message goes as it is (KMS hashes it with SHA-256), and KMS's DER signature is turned
 * into the `r ‖ s` form JOSE uses.
 *
 * @see https://docs.aws.amazon.com/kms/latest/APIReference/API_Sign.html
 */
export class KmsTokenSigner implements TokenSigner {
  /** The key's id (the last part of its ARN): names it in JWT headers without naming the account. */
  readonly keyId: string;

  constructor(
    private readonly kms: KMSClient,
    private readonly keyArn: string,
  ) {
    this.keyId = keyIdOf(keyArn);
  }

  async sign(data: Uint8Array): Promise<Uint8Array> {
    if (data.byteLength > MAX_RAW_MESSAGE_BYTES) {
      throw new EncryptionError('ENCRYPTION_UNAVAILABLE', 'a message too large for KMS to sign', { detail: { bytes: data.byteLength } });
    }
    const result = await this.call('Sign', () =>
      this.kms.send(new SignCommand({ KeyId: this.keyArn, Message: data, MessageType: 'RAW', SigningAlgorithm: 'ECDSA_SHA_256' })),
    );
    if (result.Signature === undefined) throw new EncryptionError('ENCRYPTION_UNAVAILABLE', 'KMS returned no signature', { detail: { operation: 'Sign' } });
    return derToJose(Buffer.from(result.Signature));
  }

  /** The key's public half, as a JWK: one `GetPublicKey`. */
  async publicJwk(): Promise<PublicJwk> {
    const result = await this.call('GetPublicKey', () => this.kms.send(new GetPublicKeyCommand({ KeyId: this.keyArn })));
    if (result.PublicKey === undefined || result.KeySpec !== 'ECC_NIST_P256') {
      throw new EncryptionError('ENCRYPTION_UNAVAILABLE', 'KMS returned no P-256 public key', { detail: { operation: 'GetPublicKey' } });
    }
    const jwk = createPublicKey({ key: Buffer.from(result.PublicKey), format: 'der', type: 'spki' }).export({ format: 'jwk' });
    return { kty: 'EC', crv: 'P-256', x: String(jwk.x), y: String(jwk.y), kid: this.keyId, alg: 'ES256', use: 'sig' };
  }

  private async call<T>(operation: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      throw new EncryptionError('ENCRYPTION_UNAVAILABLE', `KMS ${operation} failed`, { cause: error, detail: { operation, awsError: errorName(error) } });
    }
  }
}

/** A KMS key's id from its ARN (`arn:...:key/<id>`), or the id itself. */
export function keyIdOf(keyArnOrId: string): string {
  const slash = keyArnOrId.lastIndexOf('/');
  return slash === -1 ? keyArnOrId : keyArnOrId.slice(slash + 1);
}

/**
 * An ECDSA P-256 signature from DER (`SEQUENCE { INTEGER r, INTEGER s }`, as KMS returns it) to
 * the 64-byte `r ‖ s` of RFC 7518 §3.4.
 */
export function derToJose(der: Buffer): Buffer {
  const fail = () => new EncryptionError('ENCRYPTION_UNAVAILABLE', 'KMS returned a malformed signature');
  let offset = 0;
  if (der[offset++] !== 0x30) throw fail();
  // The sequence's length: short form (< 128) for P-256, or one long-form byte.
  let length = der[offset++]!;
  if (length === 0x81) length = der[offset++]!;
  if (offset + length !== der.byteLength) throw fail();
  const integer = (): Buffer => {
    if (der[offset++] !== 0x02) throw fail();
    const size = der[offset++]!;
    let value = der.subarray(offset, offset + size);
    offset += size;
    while (value.byteLength > 32 && value[0] === 0) value = value.subarray(1);
    if (value.byteLength > 32 || value.byteLength === 0) throw fail();
    return Buffer.concat([Buffer.alloc(32 - value.byteLength), value]);
  };
  const r = integer();
  const s = integer();
  if (offset !== der.byteLength) throw fail();
  return Buffer.concat([r, s]);
}
