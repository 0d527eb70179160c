import { jsonHandler, jsonResponse } from '../runtime/json-http';
import type { AppLogger } from '../runtime/logger';
import type { JwksDependencies } from './dependencies';

/**
 * How long verifiers may keep the key set. The set holds the one key that signs now; after a key
 * change (a new signing key deployed), a verifier that meets the new `kid` fetches the set again, and
 * tokens of the old key, which live minutes, are refused once it has.
 */
const MAX_AGE_SECONDS = 300;

/**
 * `GET /.well-known/jwks.json`: the public keys that verify sessions and install receipts (RFC 7517),
 * so any service of the app, in any language, verifies them offline. Public and cacheable; readable
 * from a browser of any origin.
 */
export function createJwksHandler(provide: () => JwksDependencies, log: AppLogger) {
  return jsonHandler({ route: 'GET /.well-known/jwks.json', log }, provide, async (_event, deps) =>
    jsonResponse(
      200,
      { keys: await deps.publicKeys() },
      { 'cache-control': `public, max-age=${MAX_AGE_SECONDS}`, 'access-control-allow-origin': '*' },
    ),
  );
}
