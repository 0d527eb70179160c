import { beginInstall, type BeginInstallSettings } from '../../functions/core/install/begin-install';
import { parseCallbackRequest } from '../../functions/core/install/callback-request';
import { DEFAULT_CHECK_SCHEDULE } from '../../functions/core/refresh/schedule';
import {
  completeInstall,
  type CompleteInstallDependencies,
  type CompleteInstallSettings,
} from '../../functions/core/install/complete-install';
import { FixedClientSecret, ManualClock, RecordingPublisher, ScriptedTokenEndpoint, SeededRandom, silentLogger } from '../support/fakes';
import { MemoryStore } from '../support/memory-store';
import { MemoryTokenVault } from '../support/memory-token-vault';

export const BEGIN_SETTINGS: BeginInstallSettings = {
  ecwidOAuthUrl: 'https://my.ecwid.example',
  clientId: 'app-client-id',
  redirectUri: 'https://auth.example.com/callback',
  scopes: ['read_store_profile', 'read_catalog'],
  stateLifetimeSeconds: 600,
};

export const COMPLETE_SETTINGS: CompleteInstallSettings = {
  clientId: 'app-client-id',
  redirectUri: 'https://auth.example.com/callback',
  appMarketInstalls: true,
  codeClaimLifetimeSeconds: 86_400,
  failedClaimLifetimeSeconds: 3_600,
  pendingClaimWaitMs: 2_000,
  pendingClaimPollMs: 100,
  staleClaimAfterSeconds: 16,
  checkSchedule: DEFAULT_CHECK_SCHEDULE,
  configuredScopes: ['read_store_profile', 'read_catalog'],
};

/** The core wired to in-memory fakes and a manual clock. */
export function installHarness(settings: Partial<CompleteInstallSettings> = {}) {
  const clock = new ManualClock();
  const random = new SeededRandom();
  const store = new MemoryStore(4, clock);
  const tokenEndpoint = new ScriptedTokenEndpoint();
  const clientSecret = new FixedClientSecret();
  const vault = new MemoryTokenVault();
  const publisher = new RecordingPublisher();
  const deps: CompleteInstallDependencies = {
    states: store,
    claims: store,
    installations: store,
    tokenEndpoint,
    clientSecret,
    vault,
    clock,
    random,
    log: silentLogger,
    publisher,
  };
  const completeSettings = { ...COMPLETE_SETTINGS, ...settings };

  return {
    clock,
    store,
    tokenEndpoint,
    clientSecret,
    vault,
    publisher,
    deps,

    /** `/authorize` in a browser holding `browserBinding` (or none): the state and the cookie it got. */
    async begin(browserBinding?: string) {
      const result = await beginInstall({ states: store, clock, random }, BEGIN_SETTINGS, { browserBinding });
      const state = new URL(result.authorizationUrl).searchParams.get('state')!;
      return { ...result, state };
    },

    /** `/callback` with this raw query, from a browser holding `browserBinding` (or none). */
    callback(query: string, browserBinding?: string) {
      return completeInstall(deps, completeSettings, { callback: parseCallbackRequest(query), browserBinding });
    },
  };
}

/** A promise with its resolve exposed, to hold a fake request open. */
export function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((done) => (resolve = done));
  return { promise, resolve };
}
