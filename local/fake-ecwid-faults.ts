import type { ServerResponse } from 'node:http';
import { randomAlphanumeric } from './fake-ecwid-grants';
import { sendRestError } from './fake-ecwid-rest-api';
import { sendHtml, sendJson } from './http-util';

/**
 * How the token endpoint misbehaves, for code exchanges and refreshes alike:
 * - `timeout`: no answer until `releaseHeldRequests()`;
 * - `server_error`: 500 with a JSON error; `html`: 200 with an HTML page;
 * - `connection_reset`: the connection is destroyed before anything is processed;
 * - `reset_after_read`: the whole request is read, then the connection is reset (a TCP RST: the
 *   client sees `ECONNRESET`), nothing processed: the client cannot tell whether the code arrived;
 * - `no_access_token`: 200 with a JSON answer that has everything but `access_token` (its `store_id` is
 *   the one of the request's path, so nothing but the missing token is wrong with it);
 * - `missing_store_id` / `wrong_store_id`: 200 with an unregistered token and no / another `store_id`;
 * - `rate_limited`: 429 `RATE_LIMITED` with `Retry-After: {retryAfterSeconds}`;
 * - `lost_response`: the request is processed (a code is spent, a refresh token rotated) and then the
 *   connection is destroyed instead of answering: the server acted, the client never learns the result.
 * Every fault but `lost_response` leaves codes and tokens untouched.
 */
export type TokenEndpointFault =
  | 'timeout'
  | 'server_error'
  | 'html'
  | 'missing_store_id'
  | 'wrong_store_id'
  | 'connection_reset'
  | 'reset_after_read'
  | 'no_access_token'
  | 'rate_limited'
  | 'lost_response';

export interface FaultContext {
  retryAfterSeconds: number;
  /** The store id of the request's path (`/api/oauth/token/{store_id}`); absent on the legacy path. */
  pathStoreId: number | undefined;
  /** Keeps a response unanswered until the fake releases held requests. */
  hold(response: ServerResponse): void;
}

/**
 * Answers (or withholds the answer to) a token request the way `fault` says, instead of processing it.
 * False when nothing was done: no fault, or `lost_response`, which needs the request processed first.
 */
export function answerWithFault(response: ServerResponse, fault: TokenEndpointFault | undefined, context: FaultContext): boolean {
  switch (fault) {
    case 'timeout':
      context.hold(response);
      return true;
    case 'server_error':
      sendJson(response, 500, { errorMessage: 'Internal error', errorCode: 'INTERNAL_ERROR' });
      return true;
    case 'html':
      sendHtml(response, 200, '<html><body><h1>Service temporarily unavailable</h1></body></html>');
      return true;
    case 'connection_reset':
      response.socket?.destroy();
      return true;
    case 'reset_after_read':
      response.socket?.resetAndDestroy();
      return true;
    case 'no_access_token':
      sendJson(response, 200, { token_type: 'Bearer', scope: 'read_store_profile', store_id: context.pathStoreId ?? 1003 });
      return true;
    case 'rate_limited':
      sendRestError(response, 'rate_limited', context.retryAfterSeconds);
      return true;
    case 'missing_store_id':
      sendJson(response, 200, { access_token: `secret_${randomAlphanumeric(32)}`, token_type: 'Bearer', scope: 'read_store_profile' });
      return true;
    case 'wrong_store_id':
      sendJson(response, 200, {
        access_token: `secret_${randomAlphanumeric(32)}`,
        token_type: 'Bearer',
        scope: 'read_store_profile',
        store_id: 999_999_999,
      });
      return true;
    case 'lost_response':
    case undefined:
      return false;
  }
}
