/**
 * The cookie that binds a `state` to the browser it was issued to. The `__Host-` prefix makes
 * browsers refuse it unless it is Secure, host-only and for `/`, so no sibling subdomain can plant one.
 * `SameSite=Lax` still sends it on Ecwid's top-level redirect back to the callback.
 */
export const BROWSER_BINDING_COOKIE = '__Host-ecwid-install';

export function browserBindingCookie(value: string, maxAgeSeconds: number): string {
  return `${BROWSER_BINDING_COOKIE}=${value}; Max-Age=${maxAgeSeconds}; Path=/; Secure; HttpOnly; SameSite=Lax`;
}
