import { openApp, type OpenAppDependencies, type OpenAppSettings } from '../../functions/core/native-app/open-app';
import type { NewInstallation } from '../../functions/core/model';
import type { SaveOptions } from '../../functions/core/ports';
import { DEFAULT_CHECK_SCHEDULE } from '../../functions/core/refresh/schedule';
import { installHarness } from './install-harness';
import { sealPayload } from '../support/control-panel-payload';
import { FixedClientSecret, RecordingPublisher, SeededRandom, grantFor, silentLogger } from '../support/fakes';
import { LocalTokenSigner } from '../support/local-token-signer';

/**
 * A control panel repair ranks below every OAuth grant: when Ecwid issued the payload's token is
 * unknown, so an OAuth (re)install whose token was obtained before the repair's write, but whose own
 * write lands after it, must still win (its real scope, its newer token).
 */
describe('a control panel repair racing an OAuth reinstall', () => {
  const SECRET = 'client-secret-value-0123';
  const CONFIGURED = ['read_store_profile', 'read_catalog', 'read_orders'];
  const SETTINGS: OpenAppSettings = { configuredScopes: CONFIGURED, checkSchedule: DEFAULT_CHECK_SCHEDULE, sessionLifetimeSeconds: 900 };

  it('keeps the OAuth grant obtained before the repair was written', async () => {
    const install = installHarness({ configuredScopes: CONFIGURED });
    const { store, vault, clock } = install;
    const storeId = 3001;

    // Installed once, then found dead by the job: needs_reinstall.
    install.tokenEndpoint.answer(grantFor(storeId, { scope: 'read_store_profile read_catalog read_orders', accessToken: 'secret_old' }));
    await install.callback(`code=code-1&store_id=${storeId}`);
    const installed = (await store.getInstallation(storeId))!;
    store.installations.set(storeId, { ...installed, status: 'needs_reinstall', statusReason: 'INVALID_API_TOKEN', version: installed.version + 1 });

    const appDeps: OpenAppDependencies = {
      clientSecrets: new FixedClientSecret(SECRET),
      installations: store,
      vault,
      verifier: { verifyToken: async () => ({ outcome: 'valid' }) },
      sessions: { signer: new LocalTokenSigner(), issuer: 'https://auth.example.com', audience: 'app-client-id', clock, random: new SeededRandom('s') },
      publisher: new RecordingPublisher(),
      random: new SeededRandom('r'),
      log: silentLogger,
    };
    const payload = sealPayload({ store_id: storeId, lang: 'en', access_token: 'secret_panel', view_mode: 'PAGE' }, { secret: SECRET });

    // The merchant reinstalls through the App Market. Ecwid answers the exchange (the grant is
    // obtained at t0); one second later, before the callback's write reaches the table, the merchant's
    // control panel tab opens /app and its repair is written first.
    const realSave = store.saveInstallation.bind(store);
    let raced = false;
    store.saveInstallation = async (installation: NewInstallation, options?: SaveOptions) => {
      if (!raced && installation.grantLane === 'app_market') {
        raced = true;
        clock.advanceSeconds(1);
        const opened = await openApp(appDeps, SETTINGS, { payload });
        expect(opened).toMatchObject({ outcome: 'session', repaired: true });
      }
      return realSave(installation, options);
    };
    install.tokenEndpoint.answer(grantFor(storeId, { scope: 'read_store_profile read_catalog read_orders', accessToken: 'secret_new_oauth' }));
    const result = await install.callback(`code=code-2&store_id=${storeId}`);
    expect(result).toMatchObject({ outcome: 'installed', storeId });

    const stored = (await store.getInstallation(storeId))!;
    // Expected: the grant Ecwid's OAuth flow just issued, with its real scope.
    expect({ lane: stored.grantLane, scope: stored.scope, missing: stored.missingScopes ?? [] }).toEqual({
      lane: 'app_market',
      scope: 'read_store_profile read_catalog read_orders',
      missing: [],
    });
    await expect(vault.reveal(stored, stored.accessToken, 'access_token')).resolves.toBe('secret_new_oauth');
  });
});
