import { EcwidAppAuthError } from '../core/errors';
import { openApp, type InstallationSummary } from '../core/native-app/open-app';
import { htmlResponse, httpHandler, redirectResponse, type ApiEvent } from '../runtime/http';
import type { AppLogger } from '../runtime/logger';
import { ECWID_CONTROL_PANEL_ORIGIN } from '../runtime/setting-rules';
import type { AppDependencies } from './dependencies';

/** Ecwid's deep-link state is a few words (`orderId: 12`); anything longer is not Ecwid's. */
const MAX_APP_STATE_LENGTH = 2048;

/**
 * `GET /app`: the iframe URL registered with Ecwid. Decrypts the control panel's `payload` into a
 * session for the merchant in front of the app and hands it to the app's UI (`APP_UI_URL`, in the
 * URL fragment, which never reaches a server or a `Referer`), or shows the built-in page. Everything
 * it renders may be framed by the configured origins (`FRAME_ANCESTORS`) only. The payload (it
 * carries a working token) never reaches a log line.
 */
export function createAppHandler(provide: () => AppDependencies, log: AppLogger) {
  return httpHandler({ route: 'GET /app', log, defaultFrameAncestors: [ECWID_CONTROL_PANEL_ORIGIN] }, provide, async (event, deps, requestLog) => {
    const { payload, appState } = readAppQuery(event);
    const result = await openApp({ ...deps, log: requestLog }, deps.settings, { payload });
    const framing = { frameAncestors: deps.frameAncestors };

    if (result.outcome === 'reinstall_required') {
      requestLog.info('the app was opened for a store without a working token', { storeId: result.storeId, reason: result.reason });
      return htmlResponse(
        409,
        {
          title: 'Please reinstall the app',
          paragraphs: [
            `The app has no working access to store ${result.storeId} anymore.`,
            'Install it again to give it access; nothing else in your store changes.',
          ],
          links: [{ href: deps.startUrl, label: 'Reinstall the app', newWindow: true }],
        },
        framing,
      );
    }

    requestLog.info('session issued', { storeId: result.claims.store_id, repaired: result.repaired, missingScopes: result.claims.missing_scopes.length });
    if (deps.appUiUrl !== undefined) {
      const fragment = new URLSearchParams({ session: result.session, ...(appState === undefined ? {} : { app_state: appState }) });
      return redirectResponse(303, `${deps.appUiUrl}#${fragment.toString()}`);
    }
    return htmlResponse(200, builtInPage(result.installation, deps.startUrl), framing);
  });
}

/** `payload` and `app_state`, each at most once; the rest of what Ecwid adds (`cache-killer`) is ignored. */
function readAppQuery(event: ApiEvent): { payload: string | undefined; appState: string | undefined } {
  const query = new URLSearchParams(event.rawQueryString ?? '');
  const payloads = query.getAll('payload');
  const appStates = query.getAll('app_state');
  if (payloads.length > 1 || appStates.length > 1) {
    throw new EcwidAppAuthError('INVALID_REQUEST', 'the app was opened with a repeated parameter');
  }
  const appState = appStates[0];
  if (appState !== undefined && appState.length > MAX_APP_STATE_LENGTH) {
    throw new EcwidAppAuthError('INVALID_REQUEST', 'the app was opened with an app_state far longer than Ecwid sends', {
      detail: { appStateLength: appState.length },
    });
  }
  return { payload: payloads[0], appState: appState === '' ? undefined : appState };
}

/** Without `APP_UI_URL`: the store, its status, the scopes it lacks, and the way to grant them. */
function builtInPage(installation: InstallationSummary, authorizeUrl: string): Parameters<typeof htmlResponse>[1] {
  const missing = installation.missingScopes;
  return {
    title: `Store ${installation.storeId}`,
    paragraphs: [
      `Status: ${installation.status}${installation.statusReason === undefined ? '' : ` (${installation.statusReason})`}.`,
      `Granted permissions: ${installation.scope === '' ? 'none recorded' : installation.scope}.`,
      missing.length === 0
        ? 'The app has every permission it asks for.'
        : `Missing permissions: ${missing.join(', ')}. Grant them to use everything the app offers.`,
    ],
    ...(missing.length === 0 ? {} : { links: [{ href: authorizeUrl, label: 'Grant the missing permissions', newWindow: true }] }),
  };
}
