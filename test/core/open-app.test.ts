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
  let answer: TokenVerification = { outcome: 'valid' };
  const deps: OpenAppDependencies = {
    clientSecrets: secrets,
    installations: store,
    vault,
    verifier: {
      verifyToken: async (request) => {
        verifications.push(request);
        return answer;
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
  install.tokenEndpoint.answer(grantFor(storeId, { scope }));
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

  it('refuses a missing, tampered or foreign payload the same way, touching nothing', async () => {
    const t = setup();
    await installed(t, 1005);
    const good = payloadFor(1005);
    const tampered = `${good.slice(0, 20)}${good[20] === 'A' ? 'B' : 'A'}${good.slice(21)}`;
    for (const payload of [undefined, '', tampered, payloadFor(1005, {}, 'another-apps-secret-value'), good.slice(0, -8), payloadFor(1005, { store_id: '1005' })]) {
      await expect(t.open(payload)).rejects.toMatchObject({ code: 'APP_PAYLOAD_INVALID' });
    }
    expect(t.signer.signed).toHaveLength(0);
    expect(t.verifications).toHaveLength(0);
  });
});
