import { createHash } from 'node:crypto';
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
