import { jsonHandler, jsonResponse } from '../runtime/json-http';
import type { AppLogger } from '../runtime/logger';
import type { JwksDependencies } from './dependencies';

/**
 * How long verifiers may keep the key set: a new key is published before it signs anything (see the
 * README on rotating the signing key), and a verifier that meets an unknown `kid` fetches again.
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
