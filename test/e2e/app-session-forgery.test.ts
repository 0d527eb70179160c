import { createSessionVerifier } from '../../client/sessions';
import { startLocalStack, type LocalStack } from '../../local/stack';
import { TestBrowser } from '../support/browser';

/**
 * The control panel payload is AES-128-CBC without a MAC, so it is malleable: XOR-ing the IV changes
 * the first plaintext block at will, and Ecwid's JSON starts with `{"store_id":NNNN`, which the
 * merchant of the attacking store knows. A merchant must never turn the payload of their own store
 * into a session for somebody else's: the token must be the named store's.
 */
describe('a payload whose store_id was flipped in the IV, over HTTP', () => {
  const CLIENT_SECRET = 'review-malleable-secret-0123456789';
  let stack: LocalStack;

  beforeAll(async () => {
    stack = await startLocalStack({ port: 0, clientId: 'review-app', clientSecret: CLIENT_SECRET, scopes: ['read_store_profile', 'read_catalog'], appUiUrl: 'https://ui.example.com/app' });
  });
  afterAll(async () => {
    await stack?.close();
  });

  /** Changes the plaintext of the first block from `from` to `to` (same length) by XOR-ing the IV. */
  function flipFirstBlock(payload: string, from: string, to: string): string {
    const bytes = Buffer.from(payload, 'base64url');
    const known = Buffer.from(from, 'utf8');
    const wanted = Buffer.from(to, 'utf8');
    expect(known.length).toBe(16);
    expect(wanted.length).toBe(16);
    for (let i = 0; i < 16; i += 1) bytes[i] ^= known[i] ^ wanted[i];
    return bytes.toString('base64url');
  }

  async function sessionStoreIdFor(payload: string): Promise<number | { status: number }> {
    const page = await new TestBrowser().get(`${stack.url}/app?payload=${payload}`);
    if (page.status !== 303) return { status: page.status };
    const session = new URLSearchParams(new URL(page.location!).hash.slice(1)).get('session')!;
    const verified = await createSessionVerifier({ issuer: stack.url, audience: 'review-app' }).verifySession(session);
    return verified.storeId;
  }

  it('refuses to sign a session for store 9202 from the payload of store 9101 (4-digit ids)', async () => {
    const fake = stack.fakeEcwid!;
    for (const storeId of [9101, 9202]) expect((await new TestBrowser().get(fake.appMarketRedirect(storeId))).status).toBe(200);
    // The attacker's own control panel gives them their own store's iframe URL.
    const attackerPayload = fake.controlPanelPayload(9101)!;
    expect(await sessionStoreIdFor(attackerPayload)).toBe(9101);

    const forged = flipFirstBlock(attackerPayload, '{"store_id":9101', '{"store_id":9202');
    // Expected: a refusal (400 / reinstall page), never a session for the victim's store.
    expect(await sessionStoreIdFor(forged)).not.toBe(9202);
  });

  it('refuses to sign a session for store 99990001 from the payload of store 12340001 (8-digit ids, as Ecwid has)', async () => {
    const fake = stack.fakeEcwid!;
    for (const storeId of [12340001, 99990001]) expect((await new TestBrowser().get(fake.appMarketRedirect(storeId))).status).toBe(200);
    const attackerPayload = fake.controlPanelPayload(12340001)!;
    const forged = flipFirstBlock(attackerPayload, '{"store_id":1234', '{"store_id":9999');
    expect(await sessionStoreIdFor(forged)).not.toBe(99990001);
  });
});
