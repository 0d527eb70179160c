import { beginInstall } from '../core/install/begin-install';
import { browserBindingCookie, BROWSER_BINDING_COOKIE } from '../runtime/browser-binding';
import { httpHandler, readCookie, redirectResponse } from '../runtime/http';
import type { AppLogger } from '../runtime/logger';
import type { AuthorizeDependencies } from './dependencies';

/** `GET /authorize`: issues a state bound to this browser and sends the merchant to Ecwid's consent page. */
export function createAuthorizeHandler(provide: () => AuthorizeDependencies, log: AppLogger) {
  return httpHandler({ route: 'GET /authorize', log }, provide, async (event, deps) => {
    const result = await beginInstall(deps, deps.settings, {
      browserBinding: readCookie(event, BROWSER_BINDING_COOKIE),
    });
    return redirectResponse(302, result.authorizationUrl, [
      browserBindingCookie(result.browserBinding, result.browserBindingLifetimeSeconds),
    ]);
  });
}
