import {
  InstallationUnusableError,
  InvalidStoreIdError,
  NotInstalledError,
  RejectionUnconfirmedError,
} from '../core/credentials/credentials-errors';
import { parseStoreId } from '../core/credentials/hand-out';
import { announce, checkAnnouncement } from '../core/lifecycle/announcements';
import { EcwidAppAuthError } from '../core/errors';
import type { CredentialsRequest, InstallationTransition } from '../core/credentials/settings';
import type { Logger } from '../core/ports';
import type { ApiEvent, ApiResult } from '../runtime/http';
import { jsonHandler, jsonResponse } from '../runtime/json-http';
import type { AppLogger } from '../runtime/logger';
import type { CredentialsFunctionDependencies } from './dependencies';
import { CREDENTIALS_FAILURES } from './failure-answers';
import { CREDENTIALS_ROUTES, routeKeyOf } from './routes';

/** Time kept back from the Lambda deadline for writing the answer. */
const RESPONSE_MARGIN_MS = 1_000;

/**
 * `GET /stores/{storeId}/credentials` and `POST /stores/{storeId}/credentials/rejected`, behind IAM
 * authorization: a store's token for the app's own code, and the app's report that Ecwid refused it.
 */
export function createCredentialsHandler(provide: () => CredentialsFunctionDependencies, log: AppLogger) {
  return jsonHandler({ route: 'credentials', log, presentation: CREDENTIALS_FAILURES }, provide, async (event, deps, requestLog, context) => {
    const storeId = parseStoreId(storeIdOf(event));
    if (storeId === undefined) throw new InvalidStoreIdError();
    const request: CredentialsRequest = {
      storeId,
      deadlineEpochMs: deps.clock.nowEpochMs() + context.getRemainingTimeInMillis() - RESPONSE_MARGIN_MS,
    };

    switch (event.routeKey) {
      case routeKeyOf(CREDENTIALS_ROUTES.read): {
        const answer = await deps.desk.read(request);
        if (answer.outcome === 'not_installed') throw new NotInstalledError(storeId);
        await announceTransition(deps, requestLog, answer.transition);
        if (answer.outcome === 'unusable') throw new InstallationUnusableError(storeId, answer.status, answer.reason);
        requestLog.info('credentials handed out', { storeId, status: answer.credentials.status, expiresAt: answer.credentials.expiresAt });
        return jsonResponse(200, answer.credentials);
      }
      case routeKeyOf(CREDENTIALS_ROUTES.reportRejection): {
        if (reportedEcwidError(event) === 'INSUFFICIENT_APP_SCOPE') {
          const scopes = await deps.desk.reportInsufficientScope(request);
          if (scopes.outcome === 'not_installed') throw new NotInstalledError(storeId);
          await announce(deps.publisher, requestLog, [scopes.announcement]);
          requestLog.info('reported missing scope checked', { storeId, missingScopes: scopes.missingScopes });
          return jsonResponse(200, { status: scopes.status, missingScopes: scopes.missingScopes });
        }
        const answer = await deps.desk.reportRejection(request);
        if (answer.outcome === 'not_installed') throw new NotInstalledError(storeId);
        if (answer.outcome === 'unconfirmed') throw new RejectionUnconfirmedError({ storeId, ...answer });
        await announceTransition(deps, requestLog, answer.transition);
        requestLog.info('reported rejection checked', { storeId, status: answer.status });
        return jsonResponse(200, { status: answer.status });
      }
      default:
        return notFound();
    }
  });
}

/**
 * Where a status change the core made is told: a log line, and the lifecycle event the scheduled
 * job would publish for the same change (`Token Revoked`, `Token Recovered`). Publishing never fails
 * the answer: the change is already stored.
 */
async function announceTransition(deps: CredentialsFunctionDependencies, log: Logger, transition: InstallationTransition | undefined): Promise<void> {
  if (transition === undefined) return;
  const level = transition.to === 'active' ? 'info' : 'warn';
  log[level]('installation status changed', { ...transition });
  const nowEpochSeconds = Math.floor(deps.clock.nowEpochMs() / 1000);
  const event = checkAnnouncement(transition.from, { status: transition.to, ...(transition.reason === undefined ? {} : { statusReason: transition.reason }) }, transition.storeId, nowEpochSeconds);
  await announce(deps.publisher, log, [event]);
}

/** What the report says Ecwid answered: no body (Ecwid's `INVALID_API_TOKEN`), or `{"ecwidError": ...}`. */
const REPORTABLE_ECWID_ERRORS = ['INVALID_API_TOKEN', 'INSUFFICIENT_APP_SCOPE'] as const;

function reportedEcwidError(event: ApiEvent): (typeof REPORTABLE_ECWID_ERRORS)[number] {
  const text = event.body === undefined || event.body === '' ? undefined : event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  if (text === undefined) return 'INVALID_API_TOKEN';
  let parsed: unknown;
  try {
    parsed = text.length > 1024 ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const ecwidError = (parsed as { ecwidError?: unknown } | undefined)?.ecwidError;
  if (typeof ecwidError !== 'string' || !(REPORTABLE_ECWID_ERRORS as readonly string[]).includes(ecwidError)) {
    throw new EcwidAppAuthError('INVALID_REQUEST', 'a rejection report whose body is not {"ecwidError": "INVALID_API_TOKEN" | "INSUFFICIENT_APP_SCOPE"}');
  }
  return ecwidError as (typeof REPORTABLE_ECWID_ERRORS)[number];
}

/** The store id in the path: API Gateway's path parameter. */
function storeIdOf(event: ApiEvent): string | undefined {
  return event.pathParameters?.storeId;
}

function notFound(): ApiResult {
  return jsonResponse(404, { error: 'not_found' });
}
