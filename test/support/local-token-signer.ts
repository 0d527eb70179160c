import { generateKeyPairSync, sign } from 'node:crypto';
import { createLocalJWKSet, jwtVerify, type JWTPayload, type JWTVerifyResult } from 'jose';
import type { TokenSigner } from '../../functions/core/ports';

/** A P-256 key in this process, signing as KMS would (JOSE `r ‖ s`): for tests that have no KMS stub. */
export class LocalTokenSigner implements TokenSigner {
  readonly keyId: string;
  readonly signed: Uint8Array[] = [];
  private readonly keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });

  constructor(keyId = 'local-signing-key') {
    this.keyId = keyId;
  }

  async sign(data: Uint8Array): Promise<Uint8Array> {
    this.signed.push(data);
    return sign('sha256', data, { key: this.keys.privateKey, dsaEncoding: 'ieee-p1363' });
  }

  /** The JWKS a verifier would fetch. */
  jwks() {
    const jwk = this.keys.publicKey.export({ format: 'jwk' });
    return { keys: [{ ...jwk, kid: this.keyId, alg: 'ES256', use: 'sig' }] };
  }

  /** Verifies a token this signer made, as any service of the app would. */
  verify(token: string, options: { issuer: string; audience: string; typ: string; at: Date }): Promise<JWTVerifyResult<JWTPayload>> {
    const { at, ...expected } = options;
    return jwtVerify(token, createLocalJWKSet(this.jwks() as never), { ...expected, currentDate: at, algorithms: ['ES256'] });
  }
}
