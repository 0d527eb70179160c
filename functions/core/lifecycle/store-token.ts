/**
 * Asking Ecwid about a store from a webhook: the store's own token, opened with the vault, and a
 * request timeout cut to what is left of the delivery's budget. Shared by the uninstall check and the
 * subscription check.
 */
import { errorCodeOf } from '../errors';
import type { Installation } from '../model';
import type { Clock, TokenVault } from '../ports';

/** A request to Ecwid given less time than this would not get an answer: not sent at all. */
export const MIN_ECWID_REQUEST_MS = 500;

/**
 * The store's access token, or why it could not be had: `unreadable` (it does not open for its store:
 * dead to this app), or `unavailable` (KMS is away: a passing problem).
 */
export async function openAccessToken(
  vault: TokenVault,
  installation: Installation,
): Promise<{ accessToken: string } | { failure: 'unreadable' | 'unavailable' }> {
  try {
    const sealer = await vault.sealerOf(installation);
    return { accessToken: sealer.open(installation.accessToken, 'access_token') };
  } catch (error) {
    return { failure: errorCodeOf(error) === 'TOKEN_UNREADABLE' ? 'unreadable' : 'unavailable' };
  }
}

/**
 * The timeout of the next request to Ecwid, in ms: at most `limitMs`, and never past the delivery's
 * deadline less the time kept back for the writes and the answer. Below {@link MIN_ECWID_REQUEST_MS},
 * there is no time to ask.
 */
export function ecwidRequestTimeoutMs(clock: Clock, budget: { deadlineEpochMs: number; reserveMs: number; limitMs: number }): number {
  return Math.min(budget.limitMs, budget.deadlineEpochMs - budget.reserveMs - clock.nowEpochMs());
}
