import type { DueEntry } from '../model';
import { Semaphore } from './concurrency';
import { DueFeed } from './due-feed';
import { InstallationCheck } from './installation-check';
import type { RefreshJobDependencies, RefreshJobSettings, RunContext } from './job';
import { CHECK_OUTCOMES, type CheckOutcome } from './outcomes';

export interface RefreshRunRequest {
  runId: string;
  /** When the run must be over (the Lambda deadline). */
  deadlineEpochMs: number;
}

export interface RefreshRunSummary {
  runId: string;
  /** The instant the run took as "now" when it started. */
  startedAt: string;
  durationMs: number;
  outcomes: Record<CheckOutcome, number>;
  /** Installations handled (every outcome but `skipped` and `deferred`). */
  processed: number;
  /** Installations the due-index queries returned. */
  dueRead: number;
  /** The deadline came before the due index was exhausted; the rest waits for the next run. */
  stoppedAtDeadline: boolean;
  /** The token endpoint refused the app's credentials: the run stopped rather than send every store's token. */
  stoppedOnRejectedCredentials: boolean;
}

/**
 * Refreshes expiring tokens before they expire and verifies non-expiring ones, for every
 * installation that is due, and no other.
 *
 * - Finds due installations through the sharded due index, earliest first, round-robin over the
 *   shards: nothing that is not due is read and no shard starves.
 * - Takes a lease on each before touching it (and works on the copy the lease returned), so
 *   overlapping or duplicated runs never refresh one token twice: a server that rotates refresh
 *   tokens may revoke the whole grant when an old one is reused. Takes up each store at most once
 *   per run, even one whose short-lived token is due again before the run ends.
 * - Writes each result conditionally on the version it leased, so a reinstall that raced the
 *   refresh keeps its newer token.
 * - Stops taking work `deadlineMarginMs` before the deadline, and sends a request only when its answer
 *   can still be stored before the deadline and the lease run out; the rest stays due for the next run.
 *
 * @throws whatever reading the due index threw, once every check in flight has finished.
 * @see https://api-docs.ecwid.com/reference/get-store-profile (verification)
 * @see RFC 6749 §6 (refresh), RFC 9700 §4.14.2 (refresh token rotation and reuse detection)
 */
export async function refreshDueInstallations(
  deps: RefreshJobDependencies,
  settings: RefreshJobSettings,
  request: RefreshRunRequest,
): Promise<RefreshRunSummary> {
  const { clock } = deps;
  const startedEpochMs = clock.nowEpochMs();
  const outcomes = Object.fromEntries(CHECK_OUTCOMES.map((outcome) => [outcome, 0])) as Record<CheckOutcome, number>;
  const feed = new DueFeed(deps.installations, settings.pageSize, () => Math.floor(clock.nowEpochMs() / 1000));
  const run: RunContext = {
    owner: request.runId,
    deadlineEpochMs: request.deadlineEpochMs,
    ecwidSlots: new Semaphore(settings.concurrency),
    credentialsRejected: false,
    handledStoreIds: new Set(),
  };
  let stoppedAtDeadline = false;
  let feedFailure: { error: unknown } | undefined;

  // Workers never throw: a failure of one must not cut short the checks of the others, whose
  // results (rotated refresh tokens among them) still have to be stored.
  const worker = async () => {
    while (feedFailure === undefined && !run.credentialsRejected) {
      if (clock.nowEpochMs() >= run.deadlineEpochMs - settings.deadlineMarginMs) {
        stoppedAtDeadline = stoppedAtDeadline || !feed.exhausted();
        return;
      }
      let due: DueEntry | undefined;
      try {
        due = await feed.next();
      } catch (error) {
        feedFailure ??= { error };
        return;
      }
      if (due === undefined) return;
      // A token living less than twice the run's length is due again before the run ends: it waits
      // for the next run, so no store is refreshed twice in one run.
      if (run.handledStoreIds.has(due.storeId)) {
        outcomes.skipped += 1;
        continue;
      }
      run.handledStoreIds.add(due.storeId);
      outcomes[await new InstallationCheck(deps, settings, run, due.storeId).perform()] += 1;
    }
  };
  await Promise.all(Array.from({ length: 2 * Math.max(1, settings.concurrency) }, worker));
  // Only now, with every check in flight finished: a run that could not read the due index fails.
  if (feedFailure !== undefined) throw feedFailure.error;

  return {
    runId: request.runId,
    startedAt: new Date(startedEpochMs).toISOString(),
    durationMs: clock.nowEpochMs() - startedEpochMs,
    outcomes,
    processed: CHECK_OUTCOMES.reduce(
      (sum, outcome) => (outcome === 'skipped' || outcome === 'deferred' ? sum : sum + outcomes[outcome]),
      0,
    ),
    dueRead: feed.read,
    stoppedAtDeadline,
    stoppedOnRejectedCredentials: run.credentialsRejected,
  };
}
