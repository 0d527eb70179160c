import type { Context } from 'aws-lambda';
import { EcwidAppAuthError } from '../core/errors';
import { handleWebhook } from '../core/lifecycle/handle-webhook';
import { MAX_WEBHOOK_BODY_BYTES } from '../core/lifecycle/webhook-body';
import type { ApiEvent } from '../runtime/http';
import { correlationId, deadlineError, jsonHandler, jsonResponse } from '../runtime/json-http';
import type { AppLogger } from '../runtime/logger';
import { WEBHOOK_FAILURES_METRIC } from '../runtime/metric-names';
import { webhookCounter } from '../runtime/metrics';
import type { WebhooksDependencies } from './dependencies';

/** Time kept between the function's own deadline and Lambda's, to send the answer. */
const ANSWER_MARGIN_MS = 500;

/**
 * `POST /webhooks`: Ecwid's lifecycle webhooks. Answers 200 for what it accepted (acted on, a
 * duplicate, or ignored), 400 for a malformed body, 401 for a missing or wrong signature, and a
 * 409 or 5xx, which Ecwid delivers again, when the work could not be done now. Always within the
 * budget, whatever a dependency does.
 */
export function createWebhooksHandler(provide: () => WebhooksDependencies, log: AppLogger) {
  return jsonHandler({ route: 'POST /webhooks', log, failureMetric: WEBHOOK_FAILURES_METRIC }, provide, async (event, deps, requestLog, context) => {
    const startedAtEpochMs = deps.clock.nowEpochMs();
    const lambdaDeadlineEpochMs = startedAtEpochMs + (context?.getRemainingTimeInMillis?.() ?? deps.answerBudgetMs) - ANSWER_MARGIN_MS;
    const deadlineEpochMs = Math.min(startedAtEpochMs + deps.answerBudgetMs, lambdaDeadlineEpochMs);
    const outcome = await beforeDeadline(
      handleWebhook({ ...deps, log: requestLog, counter: webhookCounter(requestLog, deps.clock) }, deps.settings, {
        bodyText: bodyOf(event),
        signature: event.headers?.['x-ecwid-webhook-signature'],
        requestId: correlationId(event, context as Context | undefined),
        deadlineEpochMs,
      }),
      deadlineEpochMs - deps.clock.nowEpochMs(),
    );
    return jsonResponse(200, { ...outcome });
  });
}

/** The body as text; API Gateway base64-encodes bodies it takes for binary. */
function bodyOf(event: ApiEvent): string {
  const body = event.body ?? '';
  if (!event.isBase64Encoded) return body;
  // Decoding is bounded too: base64 of more than the limit cannot be a webhook.
  if (body.length > Math.ceil((MAX_WEBHOOK_BODY_BYTES * 4) / 3) + 4) {
    throw new EcwidAppAuthError('INVALID_WEBHOOK', 'the body is larger than any webhook', { detail: { limitBytes: MAX_WEBHOOK_BODY_BYTES } });
  }
  return Buffer.from(body, 'base64').toString('utf8');
}

/** The work's result, or `WEBHOOK_DEFERRED` once `budgetMs` has passed: Ecwid gets an answer in time either way. */
async function beforeDeadline<T>(work: Promise<T>, budgetMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(deadlineError()), Math.max(0, budgetMs));
  });
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
    // The abandoned work may still fail; its claim is released or runs out, and Ecwid delivers again.
    work.catch(() => undefined);
  }
}
