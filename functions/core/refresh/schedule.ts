import type { RandomSource } from '../ports';

/** When the scheduled job looks at a token again. */
export interface CheckSchedulePolicy {
  /** Refresh an expiring token this long before it expires. */
  refreshMarginSeconds: number;
  /** Up to this much earlier still, at random, so tokens issued together are not refreshed together. */
  refreshJitterSeconds: number;
  /** Verify a non-expiring token this often. */
  verifyIntervalSeconds: number;
  /** Spread each verification by up to this fraction of the interval, either way. */
  verifyJitterRatio: number;
}

export const DEFAULT_CHECK_SCHEDULE: CheckSchedulePolicy = {
  refreshMarginSeconds: 15 * 60,
  refreshJitterSeconds: 5 * 60,
  verifyIntervalSeconds: 24 * 60 * 60,
  verifyJitterRatio: 0.1,
};

/**
 * The next time a token should be refreshed (when it expires) or verified (when it does not).
 * Never earlier than `nowEpochSeconds`. A token that has just been issued (its `lifetimeSeconds`
 * known) is refreshed no earlier than half-way through its life: each refresh rotates the refresh
 * token, so a token shorter-lived than the margin must not be due again at once.
 */
export function nextCheckAt(
  token: { expiresAtEpochSeconds?: number | undefined; lifetimeSeconds?: number | undefined },
  nowEpochSeconds: number,
  policy: CheckSchedulePolicy,
  random: RandomSource,
): number {
  if (token.expiresAtEpochSeconds !== undefined) {
    const jitterSeconds = Math.floor(randomFraction(random) * (policy.refreshJitterSeconds + 1));
    let marginSeconds = policy.refreshMarginSeconds + jitterSeconds;
    if (token.lifetimeSeconds !== undefined) marginSeconds = Math.min(marginSeconds, Math.floor(token.lifetimeSeconds / 2));
    return Math.max(nowEpochSeconds, token.expiresAtEpochSeconds - marginSeconds);
  }
  const spreadSeconds = (randomFraction(random) * 2 - 1) * policy.verifyJitterRatio * policy.verifyIntervalSeconds;
  return nowEpochSeconds + Math.max(1, Math.round(policy.verifyIntervalSeconds + spreadSeconds));
}

/** A uniform number in [0, 1) from four random bytes. */
export function randomFraction(random: RandomSource): number {
  return Buffer.from(random.randomBytes(4)).readUInt32BE(0) / 0x1_0000_0000;
}
