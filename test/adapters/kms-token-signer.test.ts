import { KMSClient } from '@aws-sdk/client-kms';
import { createPublicKey, verify } from 'node:crypto';
import { derToJose, KmsTokenSigner } from '../../functions/adapters/kms-token-signer';
import { signToken } from '../../functions/core/native-app/signed-tokens';
import { KmsStub } from '../../local/kms-stub';

describe('KmsTokenSigner, against the KMS stub speaking the real protocol', () => {
  let stub: KmsStub;
  let client: KMSClient;

  beforeAll(async () => {
    stub = new KmsStub();
    client = new KMSClient({ region: 'local', credentials: { accessKeyId: 'l', secretAccessKey: 'l' }, endpoint: await stub.listen() });
  });
  afterAll(async () => {
    client.destroy();
    await stub.close();
  });

  it('signs a JWT with ES256 in one Sign, verifiable with the public JWK alone', async () => {
    const signer = new KmsTokenSigner(client, stub.signingKeyArn);
    const signsBefore = stub.calls.Sign;
    const token = await signToken(signer, 'session', { sub: '1003', store_id: 1003 });
    expect(stub.calls.Sign - signsBefore).toBe(1);

    const [header, claims, signature] = token.split('.') as [string, string, string];
    expect(JSON.parse(Buffer.from(header, 'base64url').toString())).toEqual({ alg: 'ES256', typ: 'session', kid: signer.keyId });
    expect(JSON.parse(Buffer.from(claims, 'base64url').toString())).toEqual({ sub: '1003', store_id: 1003 });
    const jwk = await signer.publicJwk();
    expect(jwk).toMatchObject({ kty: 'EC', crv: 'P-256', kid: signer.keyId, alg: 'ES256', use: 'sig' });
    expect(signer.keyId).not.toContain(':');
    const key = createPublicKey({ key: { ...jwk }, format: 'jwk' });
    const ok = verify('sha256', Buffer.from(`${header}.${claims}`), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(signature, 'base64url'));
    expect(ok).toBe(true);
    const forged = verify('sha256', Buffer.from(`${header}.${claims}x`), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(signature, 'base64url'));
    expect(forged).toBe(false);
  });

  it('turns DER signatures with short or sign-padded integers into 64-byte r ‖ s', () => {
    const r = Buffer.concat([Buffer.from([0x00]), Buffer.alloc(32, 0xff)]);
    const s = Buffer.alloc(31, 0x01);
    const der = Buffer.concat([Buffer.from([0x30, 2 + r.length + 2 + s.length, 0x02, r.length]), r, Buffer.from([0x02, s.length]), s]);
    const jose = derToJose(der);
    expect(jose.byteLength).toBe(64);
    expect(jose.subarray(0, 32)).toEqual(Buffer.alloc(32, 0xff));
    expect(jose.subarray(32)).toEqual(Buffer.concat([Buffer.alloc(1), Buffer.alloc(31, 0x01)]));
    expect(() => derToJose(Buffer.from([0x31, 0x00]))).toThrow();
  });
});
