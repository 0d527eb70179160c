import type { IncomingMessage, ServerResponse } from 'node:http';
import { answerApplication, type ApplicationRequestRecord } from './fake-ecwid-application';
import { answerProducts, type ProductRequestRecord } from './fake-ecwid-catalog';
import type { GrantBook } from './fake-ecwid-grants';
import { answerProfile, answerRateLimited, type ProfileRequestRecord, type RestRateLimit, type ScriptedProfileAnswer } from './fake-ecwid-rest-api';

/** What the fake's REST endpoints read of its state, and where they record the requests they answered. */
export interface RestApiState {
  grants: GrantBook;
  restRateLimits: Map<number | '*', RestRateLimit>;
  profileAnswers: Map<number, ScriptedProfileAnswer>;
  subscriptions: Map<number, string>;
  retryAfterSeconds: number;
  nowEpochMs: number;
  hold(response: ServerResponse): void;
  profileRequests: ProfileRequestRecord[];
  applicationRequests: ApplicationRequestRecord[];
  productRequests: ProductRequestRecord[];
}

/**
 * The fake Ecwid's REST API (internal to `FakeEcwid`): the answer to `GET /api/v3/{storeId}/profile`,
 * `/application` or `/products`, each behind the rate-limit switch; undefined for any other request.
 */
export function restEndpoint(
  path: string,
  method: string,
): ((request: IncomingMessage, response: ServerResponse, url: URL, state: RestApiState) => void) | undefined {
  const match = method === 'GET' ? /^\/api\/v3\/([^/]+)\/(profile|application|products)$/.exec(path) : null;
  if (match === null) return undefined;
  const storeId = Number(match[1]);
  return (request, response, url, state) => {
    const limited = answerRateLimited(response, state.restRateLimits, storeId);
    const held = () => (response.headersSent ? response.statusCode : undefined);
    const scripted = { grants: state.grants, scripted: state.profileAnswers.get(storeId), retryAfterSeconds: state.retryAfterSeconds, hold: state.hold };
    switch (match[2]) {
      case 'profile': {
        const outcome = limited ? 'rate_limited' : answerProfile(request, response, storeId, scripted);
        state.profileRequests.push({ storeId, status: held(), outcome });
        return;
      }
      case 'application': {
        const context = { ...scripted, subscriptionStatus: state.subscriptions.get(storeId), nowEpochMs: state.nowEpochMs };
        const outcome = limited ? 'rate_limited' : answerApplication(request, response, storeId, context);
        state.applicationRequests.push({ storeId, status: held(), outcome });
        return;
      }
      default: {
        const outcome = limited ? 'rate_limited' : answerProducts(request, response, storeId, url.searchParams, state.grants);
        state.productRequests.push({ storeId, status: response.statusCode, outcome });
      }
    }
  };
}
