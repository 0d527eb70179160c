import { createHash, timingSafeEqual } from 'node:crypto';
import type { RandomSource } from './ports';

/** 32 bytes: 256 bits of entropy, twice the minimum RFC 9700 §4.7.1 asks of a CSRF value. */
export const NONCE_BYTES = 32;

const NONCE_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** A fresh unguessable value, base64url without padding (43 characters). */
export function newNonce(random: RandomSource): string {
  return Buffer.from(random.randomBytes(NONCE_BYTES)).toString('base64url');
}

/** Whether a value has the shape of a nonce this project issues (no database read needed to refuse). */
export function isWellFormedNonce(value: string | undefined): value is string {
  return value !== undefined && NONCE_PATTERN.test(value);
}

/**
 * SHA-256 of a secret value, hex. Stored instead of the value itself (states, binding cookies,
 * authorization codes): a copy of the table yields nothing usable.
 */
export function fingerprint(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/**
 * The fingerprint of an access token, stored next to the sealed token: `/app` tells with it, without
 * KMS, whether the control panel's payload carries the store's own token (see `open-app.ts`). Of a
 * value with a prefix of its own, so it never equals the fingerprint of anything else stored.
 */
export function accessTokenFingerprint(accessToken: string): string {
  return fingerprint(`access_token:${accessToken}`);
}

/** Whether two fingerprints are equal, in time that does not depend on where they differ. */
export function sameFingerprint(a: string | undefined, b: string): boolean {
  if (a === undefined || a.length !== b.length) return false;
  return timingSafeEqual(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
