import { fingerprint } from '../../functions/core/secure-values';
import { BEGIN_SETTINGS, installHarness } from './install-harness';

describe('beginInstall', () => {
  it("sends the merchant to Ecwid's consent page with every mandatory parameter and a state", async () => {
    const harness = installHarness();
    const { authorizationUrl, state } = await harness.begin();
    const url = new URL(authorizationUrl);
    expect(`${url.origin}${url.pathname}`).toBe('https://my.ecwid.example/api/oauth/authorize');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      client_id: 'app-client-id',
      redirect_uri: 'https://auth.example.com/callback',
      response_type: 'code',
      scope: 'read_store_profile read_catalog',
      state,
    });
  });

  it('issues a 256-bit base64url state and stores only its hash, with its expiry', async () => {
    const harness = installHarness();
    const { state, browserBinding } = await harness.begin();
    expect(state).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(state, 'base64url')).toHaveLength(32);
    const nowEpochSeconds = harness.clock.nowEpochMs() / 1000;
    expect([...harness.store.states.entries()]).toEqual([
      [
        fingerprint(state),
        {
          stateHash: fingerprint(state),
          browserBindingHash: fingerprint(browserBinding),
          createdAtEpochSeconds: nowEpochSeconds,
          expiresAtEpochSeconds: nowEpochSeconds + 600,
        },
      ],
    ]);
    expect(JSON.stringify([...harness.store.states])).not.toContain(state);
  });

  it('keeps the browser binding the browser already has, so installs in two tabs both work', async () => {
    const harness = installHarness();
    const first = await harness.begin();
    const second = await harness.begin(first.browserBinding);
    expect(second.browserBinding).toBe(first.browserBinding);
    expect(second.state).not.toBe(first.state);
    expect(second.browserBindingLifetimeSeconds).toBe(BEGIN_SETTINGS.stateLifetimeSeconds);
  });

  it('replaces a malformed binding cookie with a fresh one', async () => {
    const harness = installHarness();
    const { browserBinding } = await harness.begin('attacker-chosen');
    expect(browserBinding).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('keeps a base path in the OAuth URL (a proxy or a local fake mounted under a path)', async () => {
    const harness = installHarness();
    const { beginInstall } = await import('../../functions/core/install/begin-install');
    const result = await beginInstall(
      { states: harness.store, clock: harness.clock, random: { randomBytes: (n) => new Uint8Array(n) } },
      { ...BEGIN_SETTINGS, ecwidOAuthUrl: 'http://localhost:3000/fake-ecwid/' },
      {},
    );
    expect(result.authorizationUrl.startsWith('http://localhost:3000/fake-ecwid/api/oauth/authorize?')).toBe(true);
  });
});
