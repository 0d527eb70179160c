import { parseCallbackRequest } from '../core/install/callback-request';
import { completeInstall, type CompleteInstallResult } from '../core/install/complete-install';
import { EcwidRequestError } from '../core/errors';
import { issueInstallReceipt } from '../core/native-app/signed-tokens';
import { CODES_REJECTED_METRIC } from '../runtime/metric-names';
import { embeddedCounts } from '../runtime/metrics';
import { BROWSER_BINDING_COOKIE } from '../runtime/browser-binding';
import { htmlResponse, httpHandler, readCookie, redirectResponse } from '../runtime/http';
import type { AppLogger } from '../runtime/logger';
import type { CallbackDependencies } from './dependencies';

/** `GET /callback`: Ecwid's redirect back. Exchanges the code once and stores the store's token. */
export function createCallbackHandler(provide: () => CallbackDependencies, log: AppLogger) {
  return httpHandler({ route: 'GET /callback', log }, provide, async (event, deps, requestLog) => {
    const callback = parseCallbackRequest(event.rawQueryString ?? '');
    let result: CompleteInstallResult;
    try {
      result = await completeInstall({ ...deps, log: requestLog }, deps.settings, {
        callback,
        browserBinding: readCookie(event, BROWSER_BINDING_COOKIE),
      });
    } catch (error) {
      // Ecwid itself refused the code (a reload replaying that refusal is not counted): many of these
      // are a stranger sending junk codes, or a misconfigured app. Ops are alarmed on the rate.
      if (error instanceof EcwidRequestError && error.code === 'CODE_REJECTED') {
        requestLog.info('Ecwid refused an authorization code', { lane: callback.lane, ...embeddedCounts({ [CODES_REJECTED_METRIC]: 1 }, deps.clock.nowEpochMs()) });
      }
      throw error;
    }

    if (result.outcome === 'cancelled') {
      requestLog.info('install cancelled by the merchant', { lane: callback.lane });
      return htmlResponse(200, {
        title: 'Installation cancelled',
        paragraphs: ['You did not grant access, so nothing was installed and nothing was changed in your store.'],
        links: [{ href: deps.startUrl, label: 'Start the installation again' }],
      });
    }

    requestLog.info(result.replayed ? 'install already completed; showing its outcome again' : 'install completed', {
      lane: callback.lane,
      storeId: result.storeId,
      browserBound: result.browserBound,
    });
    const { successUrl } = deps;
    if (successUrl !== undefined) {
      // Proof of which store installed, and whether this browser started it: a bare store_id can be typed by anyone.
      const receipt = await issueInstallReceipt(deps.receipts, { storeId: result.storeId, lane: result.lane, browserBound: result.browserBound });
      const location = new URL(successUrl);
      location.searchParams.set('store_id', String(result.storeId));
      location.searchParams.set('receipt', receipt);
      return redirectResponse(303, location.toString());
    }
    return htmlResponse(200, {
      title: 'Your store is connected',
      paragraphs: [`The app is installed in store ${result.storeId}. You can close this page.`],
    });
  });
}
