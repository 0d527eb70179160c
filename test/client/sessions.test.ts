import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLocalJWKSet } from 'jose';
import { createSessionVerifier, SessionInvalidError, verifySession } from '../../client/sessions';
import { issueInstallReceipt, issueSession, signToken, type TokenIssuer } from '../../functions/core/native-app/signed-tokens';
import { ManualClock, SeededRandom } from '../support/fakes';
import { LocalTokenSigner } from '../support/local-token-signer';

const ISSUER = 'https://auth.example.com';
const AUDIENCE = 'app-client-id';

function setup() {
  const clock = new ManualClock();
  const signer = new LocalTokenSigner('key-1');
  const issuer: TokenIssuer = { signer, issuer: ISSUER, audience: AUDIENCE, clock, random: new SeededRandom() };
  const verifier = createSessionVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    keys: createLocalJWKSet(signer.jwks() as never),
    now: () => new Date(clock.nowEpochMs()),
  });
  const session = (overrides: Partial<Parameters<typeof issueSession>[1]> = {}) =>
    issueSession(issuer, { store_id: 1003, scope: 'read_store_profile read_catalog', missing_scopes: ['read_orders'], lang: 'en', view_mode: 'PAGE', ...overrides });
  return { clock, signer, issuer, verifier, session };
}

async function reasonOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (failure: unknown) => failure,
  );
  expect(error).toBeInstanceOf(SessionInvalidError);
  return (error as SessionInvalidError).reason;
}

describe('the session verifier', () => {
  it('verifies a session: the store, its scopes, what is missing, the language and the view', async () => {
    const t = setup();
    const { token, claims } = await t.session();
    await expect(t.verifier.verifySession(token)).resolves.toEqual({
      storeId: 1003,
      scope: 'read_store_profile read_catalog',
      missingScopes: ['read_orders'],
      lang: 'en',
      viewMode: 'PAGE',
      expiresAt: new Date(claims.exp * 1000),
      sessionId: claims.jti,
      claims,
    });
  });

  it('refuses a session for another audience, from another issuer, expired, or signed by another key', async () => {
    const t = setup();
    const body = { store_id: 1003, scope: 'read_store_profile', missing_scopes: [], lang: 'en', view_mode: 'PAGE' };
    const elsewhere = { ...t.issuer, audience: 'another-app' };
    expect(await reasonOf(t.verifier.verifySession((await issueSession(elsewhere, body)).token))).toBe('claim_aud');
    const otherIssuer = { ...t.issuer, issuer: 'https://evil.example.com' };
    expect(await reasonOf(t.verifier.verifySession((await issueSession(otherIssuer, body)).token))).toBe('claim_iss');
    const { token } = await t.session();
    t.clock.advanceSeconds(900 + 31);
    expect(await reasonOf(t.verifier.verifySession(token))).toBe('expired');
    // Another key that claims the same key id.
    const forger = { ...t.issuer, signer: new LocalTokenSigner('key-1') };
    expect(await reasonOf(t.verifier.verifySession((await issueSession(forger, body)).token))).toBe('signature');
  });

  it('never takes a receipt for a session, nor a session for a receipt', async () => {
    const t = setup();
    const receipt = await issueInstallReceipt(t.issuer, { storeId: 1003, lane: 'app_initiated', browserBound: true });
    expect(await reasonOf(t.verifier.verifySession(receipt))).toBe('claim_typ');
    expect(await reasonOf(t.verifier.verifyInstallReceipt((await t.session()).token))).toBe('claim_typ');
    await expect(t.verifier.verifyInstallReceipt(receipt)).resolves.toMatchObject({ storeId: 1003, lane: 'app_initiated', browserBound: true });
  });

  it('refuses tokens that are not what the backend signs: no algorithm, other claims, too long a life, junk', async () => {
    const t = setup();
    const { claims } = await t.session();
    const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'session' })).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.`;
    expect(await reasonOf(t.verifier.verifySession(unsigned))).toBe('algorithm');
    const mismatched = await signToken(t.signer, 'session', { ...claims, sub: '9999' });
    expect(await reasonOf(t.verifier.verifySession(mismatched))).toBe('claims');
    const longLived = await signToken(t.signer, 'session', { ...claims, exp: claims.iat + 86_400, iat: claims.iat - 3600 });
    expect(await reasonOf(t.verifier.verifySession(longLived))).toMatch(/^claim_iat$|^expired$/);
    for (const junk of ['', 'a.b.c', 'x'.repeat(10_000)]) expect(await reasonOf(t.verifier.verifySession(junk))).toBe('malformed');
  });

  it('trusts no App Market receipt as bound to the browser, whatever it says', async () => {
    const t = setup();
    const receipt = await signToken(t.signer, 'install-receipt', {
      iss: ISSUER,
      aud: AUDIENCE,
      sub: '77',
      store_id: 77,
      lane: 'app_market',
      browser_bound: true,
      iat: Math.floor(t.clock.nowEpochMs() / 1000),
      exp: Math.floor(t.clock.nowEpochMs() / 1000) + 300,
      jti: 'r1',
    });
    await expect(t.verifier.verifyInstallReceipt(receipt)).resolves.toMatchObject({ storeId: 77, lane: 'app_market', browserBound: false });
  });
});

describe('verifySession against a JWKS over HTTP', () => {
  let server: Server;
  let fetches = 0;
  let keys: object = { keys: [] };
  let jwksUrl = '';

  beforeAll(async () => {
    server = createServer((_request, response) => {
      fetches += 1;
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(keys));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  it('fetches the key set once for many sessions, and refuses a session signed by a key it does not publish', async () => {
    const signer = new LocalTokenSigner('key-a');
    keys = signer.jwks();
    // Real time: the verifier's own clock.
    const issuer: TokenIssuer = { signer, issuer: ISSUER, audience: AUDIENCE, clock: { nowEpochMs: () => Date.now(), sleep: async () => undefined }, random: new SeededRandom() };
    const claims = { store_id: 1003, scope: 'read_store_profile', missing_scopes: [], lang: 'en', view_mode: 'PAGE' };
    const options = { issuer: ISSUER, audience: AUDIENCE, jwksUrl };
    for (let index = 0; index < 5; index += 1) {
      await expect(verifySession((await issueSession(issuer, claims)).token, options)).resolves.toMatchObject({ storeId: 1003 });
    }
    expect(fetches).toBe(1);
    const stranger = new LocalTokenSigner('key-b');
    const error = await verifySession((await issueSession({ ...issuer, signer: stranger }, claims)).token, options).catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(SessionInvalidError);
    expect((error as SessionInvalidError).reason).toBe('signature');
  });
});
