import { beginInstall } from '../core/begin-install';
import { browserBindingCookie, BROWSER_BINDING_COOKIE } from '../runtime/browser-binding';
import type { AppDependencies } from '../runtime/dependencies';
import { httpHandler, readCookie, redirectResponse } from '../runtime/http';
import type { AppLogger } from '../runtime/logger';

/** `GET /authorize`: issues a state bound to this browser and sends the merchant to Ecwid's consent page. */
export function createAuthorizeHandler(provide: () => AppDependencies, log: AppLogger) {
  return httpHandler({ route: 'GET /authorize', log }, provide, async (event, deps) => {
    const result = await beginInstall(deps, deps.beginInstallSettings, {
      browserBinding: readCookie(event, BROWSER_BINDING_COOKIE),
    });
    return redirectResponse(302, result.authorizationUrl, [
      browserBindingCookie(result.browserBinding, result.browserBindingLifetimeSeconds),
    ]);
  });
}
