import { openApp, type OpenAppDependencies, type OpenAppSettings } from '../../functions/core/native-app/open-app';
import type { TokenVerification } from '../../functions/core/model';
import { DEFAULT_CHECK_SCHEDULE } from '../../functions/core/refresh/schedule';
import { sealPayload } from '../support/control-panel-payload';
import { FixedClientSecret, ManualClock, RecordingPublisher, SeededRandom, capturingLogger, grantFor } from '../support/fakes';
import { LocalTokenSigner } from '../support/local-token-signer';
import { MemoryStore } from '../support/memory-store';
import { MemoryTokenVault } from '../support/memory-token-vault';
import { installHarness } from './install-harness';

const SECRET = 'client-secret-value';
const SETTINGS: OpenAppSettings = {
  configuredScopes: ['read_store_profile', 'read_catalog', 'read_orders'],
  checkSchedule: DEFAULT_CHECK_SCHEDULE,
  sessionLifetimeSeconds: 900,
};

function payloadFor(storeId: number, overrides: Record<string, unknown> = {}, secret = SECRET): string {
  return sealPayload({ store_id: storeId, lang: 'en', access_token: `secret_panel_${storeId}`, public_token: `public_${storeId}`, view_mode: 'PAGE', ...overrides }, { secret });
}

function setup() {
  const clock = new ManualClock();
  const random = new SeededRandom();
  const store = new MemoryStore();
  const vault = new MemoryTokenVault();
  const signer = new LocalTokenSigner();
  const publisher = new RecordingPublisher();
  const logs = capturingLogger();
  const secrets = new FixedClientSecret(SECRET);
  const verifications: Array<{ storeId: number; accessToken: string }> = [];
  // Like Ecwid: a token works for the store it was issued for (`..._{storeId}` or `..._{storeId}_...` here), no other.
  const ownToken = (request: { storeId: number; accessToken: string }) => new RegExp(`_${request.storeId}(_|$)`).test(request.accessToken);
  let answer: TokenVerification | undefined;
  const deps: OpenAppDependencies = {
    clientSecrets: secrets,
    installations: store,
    vault,
    verifier: {
      verifyToken: async (request) => {
        verifications.push(request);
        return answer ?? (ownToken(request) ? { outcome: 'valid' } : { outcome: 'revoked', errorCode: 'INVALID_API_TOKEN' });
      },
    },
    sessions: { signer, issuer: 'https://auth.example.com', audience: 'app-client-id', clock, random },
    publisher,
    random,
    log: logs.log,
  };
  const verify = (token: string) => signer.verify(token, { issuer: 'https://auth.example.com', audience: 'app-client-id', typ: 'session', at: new Date(clock.nowEpochMs()) });
  return {
    clock,
    store,
    vault,
    signer,
    publisher,
    logs,
    secrets,
    verifications,
    deps,
    verify,
    answerVerification: (next: TokenVerification) => (answer = next),
    open: (payload: string | undefined) => openApp(deps, SETTINGS, { payload }),
  };
}

/** Installs store `storeId` through the real install core, sharing the harness's store and vault. */
async function installed(t: ReturnType<typeof setup>, storeId: number, scope = 'read_store_profile read_catalog') {
  const install = installHarness({ configuredScopes: SETTINGS.configuredScopes });
  Object.assign(install.deps, { installations: t.store, claims: t.store, states: t.store, vault: t.vault });
  // The token Ecwid puts into the store's payloads is the one its install stored.
  install.tokenEndpoint.answer(grantFor(storeId, { scope, accessToken: `secret_panel_${storeId}` }));
  await install.callback(`code=code-${storeId}&store_id=${storeId}`);
  return (await t.store.getInstallation(storeId))!;
}

describe('openApp', () => {
  it('turns the payload of an installed store into a session with its scopes, one signature, no repair', async () => {
    const t = setup();
    await installed(t, 1003);
    const result = await t.open(payloadFor(1003, { lang: 'pt_BR', view_mode: 'INLINE' }));
    expect(result).toMatchObject({
      outcome: 'session',
      repaired: false,
      installation: { storeId: 1003, status: 'active', scope: 'read_store_profile read_catalog', missingScopes: ['read_orders'], grantLane: 'app_market' },
    });
    if (result.outcome !== 'session') throw new Error('expected a session');
    const { payload, protectedHeader } = await t.verify(result.session);
    expect(protectedHeader).toMatchObject({ alg: 'ES256', typ: 'session', kid: t.signer.keyId });
    expect(payload).toEqual({
      iss: 'https://auth.example.com',
      aud: 'app-client-id',
      sub: '1003',
      store_id: 1003,
      scope: 'read_store_profile read_catalog',
      missing_scopes: ['read_orders'],
      lang: 'pt_BR',
      view_mode: 'INLINE',
      iat: expect.any(Number),
      exp: (payload.iat as number) + 900,
      jti: expect.any(String),
    });
    expect(t.signer.signed).toHaveLength(1);
    expect(t.verifications).toHaveLength(0);
    // The payload's token is Ecwid's: it reaches no log line.
    expect(t.logs.lines.join('\n')).not.toContain('secret_panel_1003');
  });

  it('repairs a store it has no installation for from the payload token Ecwid accepts: lane control_panel, only the scope every grant has', async () => {
    const t = setup();
    const result = await t.open(payloadFor(2001));
    expect(result).toMatchObject({ outcome: 'session', repaired: true, installation: { status: 'active', scope: 'read_store_profile', grantLane: 'control_panel' } });
    expect(t.verifications).toEqual([{ storeId: 2001, accessToken: 'secret_panel_2001' }]);
    const stored = (await t.store.getInstallation(2001))!;
    expect(stored).toMatchObject({ grantLane: 'control_panel', missingScopes: ['read_catalog', 'read_orders'], status: 'active' });
    expect(stored).not.toHaveProperty('grantCodeHash');
    expect(stored.accessToken).not.toContain('secret_panel_2001');
    await expect(t.vault.reveal(stored, stored.accessToken, 'access_token')).resolves.toBe('secret_panel_2001');
    await expect(t.vault.reveal(stored, stored.publicToken!, 'public_token')).resolves.toBe('public_2001');
    expect(t.publisher.events.map((event) => [event.detailType, event.detail.reason])).toEqual([
      ['Store Installed', 'control_panel'],
      ['Scopes Missing', 'control_panel'],
    ]);
  });

  it('repairs a store whose stored token is known dead, and announces a reinstall', async () => {
    const t = setup();
    const dead = await installed(t, 2002);
    t.store.installations.set(2002, { ...dead, status: 'needs_reinstall', statusReason: 'INVALID_API_TOKEN', version: dead.version + 1 });
    const result = await t.open(payloadFor(2002));
    expect(result).toMatchObject({ outcome: 'session', repaired: true, installation: { status: 'active' } });
    expect(t.publisher.types()).toContain('Store Reinstalled');
  });

  it('asks for a reinstall when the payload token does not pass the profile check, and stores nothing', async () => {
    const t = setup();
    t.answerVerification({ outcome: 'revoked', errorCode: 'INVALID_API_TOKEN' });
    await expect(t.open(payloadFor(2003))).resolves.toEqual({ outcome: 'reinstall_required', storeId: 2003, reason: 'INVALID_API_TOKEN' });
    await expect(t.store.getInstallation(2003)).resolves.toBeUndefined();
    expect(t.signer.signed).toHaveLength(0);
    expect(t.publisher.events).toEqual([]);
  });

  it('passes on a profile check that could not be made, storing nothing: the merchant tries again', async () => {
    const t = setup();
    t.answerVerification({ outcome: 'rate_limited', retryAfterSeconds: 12 });
    await expect(t.open(payloadFor(2004))).rejects.toMatchObject({ code: 'ECWID_RATE_LIMITED', retryAfterSeconds: 12 });
    t.answerVerification({ outcome: 'failed', reason: 'ecwid_timeout' });
    await expect(t.open(payloadFor(2004))).rejects.toMatchObject({ code: 'ECWID_UNAVAILABLE' });
    await expect(t.store.getInstallation(2004)).resolves.toBeUndefined();
  });

  it('never replaces an install that landed while the payload token was being checked', async () => {
    const t = setup();
    t.deps.verifier = {
      verifyToken: async () => {
        // The merchant's OAuth install completes meanwhile: its grant, with its real scope, stays.
        await installed(t, 2005, 'read_store_profile read_catalog read_orders');
        return { outcome: 'valid' };
      },
    };
    const result = await t.open(payloadFor(2005));
    expect(result).toMatchObject({ outcome: 'session', repaired: false, installation: { scope: 'read_store_profile read_catalog read_orders', missingScopes: [] } });
    expect((await t.store.getInstallation(2005))!.grantLane).toBe('app_market');
  });

  it('opens a payload encrypted with the previous client secret while a rotation rolls out', async () => {
    const t = setup();
    await installed(t, 1004);
    t.secrets.value = 'a-brand-new-client-secret';
    t.secrets.previous = SECRET;
    await expect(t.open(payloadFor(1004))).resolves.toMatchObject({ outcome: 'session' });
    t.secrets.previous = undefined;
    await expect(t.open(payloadFor(1004))).rejects.toMatchObject({ code: 'APP_PAYLOAD_INVALID' });
  });

  it('refuses a payload whose store id was rewritten through its IV (CBC has no integrity): its token is not that store\'s', async () => {
    const t = setup();
    await installed(t, 1006);
    await installed(t, 2006);
    const mine = Buffer.from(payloadFor(1006), 'base64url');
    // The attacker knows the first block of their own plaintext: {"store_id":1006 → {"store_id":2006.
    const known = Buffer.from('{"store_id":1006', 'utf8');
    const wanted = Buffer.from('{"store_id":2006', 'utf8');
    for (let index = 0; index < 16; index += 1) mine[index] = mine[index]! ^ known[index]! ^ wanted[index]!;
    const forged = mine.toString('base64url');
    await expect(t.open(forged)).rejects.toMatchObject({ code: 'APP_PAYLOAD_INVALID' });
    expect(t.verifications).toEqual([{ storeId: 2006, accessToken: 'secret_panel_1006' }]);
    expect(t.signer.signed).toHaveLength(0);
    // A store the backend has no installation of: the repair's profile check refuses it the same way.
    const other = Buffer.from(payloadFor(1006), 'base64url');
    const absent = Buffer.from('{"store_id":3006', 'utf8');
    for (let index = 0; index < 16; index += 1) other[index] = other[index]! ^ known[index]! ^ absent[index]!;
    await expect(t.open(other.toString('base64url'))).resolves.toMatchObject({ outcome: 'reinstall_required', storeId: 3006 });
    await expect(t.store.getInstallation(3006)).resolves.toBeUndefined();
    expect(t.signer.signed).toHaveLength(0);
  });

  it('checks with Ecwid, once per open, the token of an installation stored before token fingerprints existed', async () => {
    const t = setup();
    const stored = await installed(t, 1007);
    const { accessTokenFingerprint: _none, ...legacy } = stored;
    t.store.installations.set(1007, legacy);
    // The control panel's token for the store (Ecwid's own) passes; the session is issued.
    await expect(t.open(payloadFor(1007))).resolves.toMatchObject({ outcome: 'session', repaired: false });
    expect(t.verifications).toEqual([{ storeId: 1007, accessToken: 'secret_panel_1007' }]);
  });

  it('refuses a missing, tampered or foreign payload the same way, touching nothing', async () => {
    const t = setup();
    await installed(t, 1005);
    const good = payloadFor(1005);
    // A byte of the first ciphertext block: the block it decrypts to turns to noise (the IV's bytes are
    // covered by the forged-store test above).
    const tampered = `${good.slice(0, 30)}${good[30] === 'A' ? 'B' : 'A'}${good.slice(31)}`;
    for (const payload of [undefined, '', tampered, payloadFor(1005, {}, 'another-apps-secret-value'), good.slice(0, -8), payloadFor(1005, { store_id: '1005' })]) {
      await expect(t.open(payload)).rejects.toMatchObject({ code: 'APP_PAYLOAD_INVALID' });
    }
    expect(t.signer.signed).toHaveLength(0);
    expect(t.verifications).toHaveLength(0);
  });
});
