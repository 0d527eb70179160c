import { createHmac, timingSafeEqual } from 'node:crypto';
import { EcwidAppAuthError } from '../errors';
import type { SignedFields } from './webhook-body';

/** HMAC-SHA256 is 32 bytes; its base64 is 44 characters. Longer headers are not looked at. */
const MAX_SIGNATURE_LENGTH = 128;

/**
 * How long after a rotation (the current secret version's creation) webhooks signed with the previous
 * client secret are still genuine: Ecwid retries a delivery for about 24 hours, so a webhook it signed
 * just before the rotation may arrive that late; 48 hours covers that with room. Past it, the previous
 * secret (often rotated away because it leaked) signs nothing.
 */
export const PREVIOUS_CLIENT_SECRET_GRACE_SECONDS = 48 * 60 * 60;

/** Which secret a signature was made with. */
export type SignedWith = 'current' | 'previous';

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
 * previous one within {@link PREVIOUS_CLIENT_SECRET_GRACE_SECONDS} of a rotation), each in constant time.
 *
 * @returns which secret made it: `previous` only when the current one did not.
 * @throws EcwidAppAuthError `WEBHOOK_SIGNATURE_INVALID` when the header is missing or matches no secret.
 */
export function verifyWebhookSignature(
  signature: string | undefined,
  signed: SignedFields,
  secrets: { current: string; previous?: string },
): SignedWith {
  const presented = decode(signature);
  const matches = (secret: string | undefined): boolean => {
    if (secret === undefined) return false;
    const expected = Buffer.from(webhookSignature(secret, signed), 'base64');
    return presented !== undefined && presented.length === expected.length && timingSafeEqual(presented, expected);
  };
  // Both are compared, whatever the first gave: the time taken says nothing about which matched.
  const byCurrent = matches(secrets.current);
  const byPrevious = matches(secrets.previous);
  if (byCurrent) return 'current';
  if (!byPrevious) {
    throw new EcwidAppAuthError('WEBHOOK_SIGNATURE_INVALID', signature === undefined ? 'the webhook carries no signature' : 'the webhook signature does not match', {
      detail: { signaturePresent: signature !== undefined },
    });
  }
  return 'previous';
}

function decode(signature: string | undefined): Buffer | undefined {
  const text = signature?.trim();
  if (text === undefined || text === '' || text.length > MAX_SIGNATURE_LENGTH || !/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return undefined;
  return Buffer.from(text, 'base64');
}
