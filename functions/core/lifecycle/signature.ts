import { createHmac, timingSafeEqual } from 'node:crypto';
import { EcwidAppAuthError } from '../errors';
import type { SignedFields } from './webhook-body';

/** HMAC-SHA256 is 32 bytes; its base64 is 44 characters. Longer headers are not looked at. */
const MAX_SIGNATURE_LENGTH = 128;

/**
 * The `X-Ecwid-Webhook-Signature` Ecwid sends: base64 of HMAC-SHA256 over `"{eventCreated}.{eventId}"`,
 * keyed with the app's client secret.
 *
 * @see https://api-docs.ecwid.com/docs/webhooks#verify-the-webhook-signature
 */
export function webhookSignature(clientSecret: string, signed: SignedFields): string {
  return createHmac('sha256', clientSecret).update(`${signed.eventCreated}.${signed.eventId}`, 'utf8').digest('base64');
}

/**
 * Checks a signature against every secret that may have signed it (the current client secret, and the
 * previous one while a rotation rolls out), each in constant time.
 *
 * @throws EcwidAppAuthError `WEBHOOK_SIGNATURE_INVALID` when the header is missing or matches no secret.
 */
export function verifyWebhookSignature(signature: string | undefined, signed: SignedFields, secrets: readonly string[]): void {
  const presented = decode(signature);
  let matches = false;
  for (const secret of secrets) {
    const expected = Buffer.from(webhookSignature(secret, signed), 'base64');
    // Every secret is compared, whatever an earlier one gave: the time taken says nothing about which matched.
    if (presented !== undefined && presented.length === expected.length && timingSafeEqual(presented, expected)) matches = true;
  }
  if (!matches) {
    throw new EcwidAppAuthError('WEBHOOK_SIGNATURE_INVALID', signature === undefined ? 'the webhook carries no signature' : 'the webhook signature does not match', {
      detail: { signaturePresent: signature !== undefined },
    });
  }
}

function decode(signature: string | undefined): Buffer | undefined {
  const text = signature?.trim();
  if (text === undefined || text === '' || text.length > MAX_SIGNATURE_LENGTH || !/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return undefined;
  return Buffer.from(text, 'base64');
}
