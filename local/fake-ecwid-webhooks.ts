import { createHmac, randomUUID } from 'node:crypto';

/** One attempt to deliver a webhook, as the fake made it. */
export interface WebhookDelivery {
  eventId: string;
  eventType: string;
  storeId: number;
  /** The HTTP status answered; undefined when the request failed (refused, reset, timed out). */
  status: number | undefined;
  /** 1 for the first attempt, more for Ecwid's retries of a failed one. */
  attempt: number;
  /** A second delivery of a webhook already delivered (Ecwid delivers at least once). */
  duplicate: boolean;
  /** The `X-Ecwid-Webhook-Signature` sent (tests look for it where it must not be). */
  signature: string;
}

export interface WebhookToSend {
  storeId: number;
  eventType: string;
  entityId?: string | number;
  data?: Record<string, unknown>;
  /** Default: now, in Unix seconds. */
  eventCreated?: number;
  /** Default: a new UUID. */
  eventId?: string;
}

/** Statuses Ecwid counts as delivered. */
const DELIVERED = new Set([200, 201, 202, 204, 209]);

/**
 * The fake Ecwid's webhooks (internal to `FakeEcwid`): a JSON body with `eventId` (a UUID string, as
 * Ecwid sends it), `eventCreated`, `storeId`, `entityId`, `eventType` and `data`, signed with
 * `X-Ecwid-Webhook-Signature` (base64 HMAC-SHA256 of `"{eventCreated}.{eventId}"` with the client
 * secret), posted with Ecwid's 10 s timeout, retried when not delivered, and sometimes delivered twice.
 */
export class WebhookSender {
  readonly deliveries: WebhookDelivery[] = [];
  /** Waits before each retry of an undelivered webhook, in milliseconds (Ecwid's are far longer). */
  retryDelaysMs: number[] = [200, 1_000];
  /** The chance, from 0 to 1, that a delivered webhook is delivered once more. */
  duplicateProbability = 0;

  constructor(
    private readonly secret: () => string,
    private readonly now: () => number,
  ) {}

  /**
   * Delivers a webhook to `url` until it is delivered or the retries run out, then (by chance, or when
   * `duplicates` says so) once more. Resolves with every attempt made.
   */
  async send(url: string, webhook: WebhookToSend, options: { duplicates?: number; signature?: string } = {}): Promise<WebhookDelivery[]> {
    const eventId = webhook.eventId ?? randomUUID();
    const eventCreated = webhook.eventCreated ?? Math.floor(this.now() / 1000);
    const body = JSON.stringify({
      eventId,
      eventCreated,
      storeId: webhook.storeId,
      entityId: webhook.entityId ?? webhook.storeId,
      eventType: webhook.eventType,
      ...(webhook.data === undefined ? {} : { data: webhook.data }),
    });
    const signature = options.signature ?? signWebhook(this.secret(), eventCreated, eventId);
    const made: WebhookDelivery[] = [];
    const attemptOnce = async (attempt: number, duplicate: boolean) => {
      const status = await post(url, body, signature);
      const delivery = { eventId, eventType: webhook.eventType, storeId: webhook.storeId, status, attempt, duplicate, signature };
      this.deliveries.push(delivery);
      made.push(delivery);
      return status !== undefined && DELIVERED.has(status);
    };
    let delivered = await attemptOnce(1, false);
    for (let retry = 0; !delivered && retry < this.retryDelaysMs.length; retry += 1) {
      await new Promise((resolve) => setTimeout(resolve, this.retryDelaysMs[retry]));
      delivered = await attemptOnce(retry + 2, false);
    }
    const duplicates = options.duplicates ?? (delivered && Math.random() < this.duplicateProbability ? 1 : 0);
    for (let copy = 0; copy < duplicates; copy += 1) await attemptOnce(1, true);
    return made;
  }
}

/** The signature Ecwid puts on a webhook. */
export function signWebhook(clientSecret: string, eventCreated: number | string, eventId: string | number): string {
  return createHmac('sha256', clientSecret).update(`${eventCreated}.${eventId}`, 'utf8').digest('base64');
}

async function post(url: string, body: string, signature: string): Promise<number | undefined> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-ecwid-webhook-signature': signature },
      body,
      // Ecwid's wait for the answer.
      signal: AbortSignal.timeout(10_000),
    });
    await response.arrayBuffer();
    return response.status;
  } catch {
    return undefined;
  }
}
