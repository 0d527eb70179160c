import { nextCheckAt, randomFraction, type CheckSchedulePolicy } from './check-schedule';
import { errorName, isAuthFlowError, type AuthFlowError } from './errors';
import type {
  CheckResult,
  ClientSecretSource,
  Clock,
  DueEntry,
  DueInstallationStore,
  Installation,
  Logger,
  RandomSource,
  TokenRefresher,
  TokenSealer,
  TokenVault,
  TokenVerification,
  TokenVerifier,
} from './ports';

export interface RefreshJobSettings {
  clientId: string;
  /**
   * How many requests to Ecwid are in flight at once. Twice as many installations are in hand, so
   * the database work around each request (lease, result) overlaps other requests instead of
   * leaving a request slot idle.
   */
  concurrency: number;
  /** Installations read per query of one shard of the due index. */
  pageSize: number;
  /** How long a lease keeps other runs away; longer than handling one installation can take. */
  leaseDurationSeconds: number;
  /** No new installation is started when less than this remains before the deadline. */
  deadlineMarginMs: number;
  /**
   * A request to Ecwid is sent only if this much time remains both before the deadline and before
   * the lease expires: enough for the request and for storing its answer. A rotated refresh token
   * must never be obtained by a run that could die, or lose its lease, before storing it.
   */
  requestReserveMs: number;
  schedule: CheckSchedulePolicy;
  /** After this long without a successful check, an installation needs attention. */
  failureBudgetSeconds: number;
  /** The first retry after a passing failure; each further failure doubles it, up to the maximum. */
  retryBaseSeconds: number;
  retryMaxSeconds: number;
  /** Wait after a 429 without `Retry-After`, and the most any `Retry-After` is honoured for. */
  rateLimitDefaultSeconds: number;
  rateLimitMaxSeconds: number;
  /**
   * The lifetime assumed for a refreshed token whose answer has no `expires_in` and whose previous
   * lifetime is unknown. A missing `expires_in` never means "expires never" (RFC 6749 §5.1 makes it
   * optional, not infinite): the previous lifetime is reused, else this one.
   */
  assumedTokenLifetimeSeconds: number;
}

export interface RefreshJobDependencies {
  installations: DueInstallationStore;
  refresher: TokenRefresher;
  verifier: TokenVerifier;
  clientSecret: ClientSecretSource;
  vault: TokenVault;
  clock: Clock;
  random: RandomSource;
  log: Logger;
}

/** How the handling of one due installation ended. */
export type CheckOutcome =
  | 'refreshed'
  | 'verified'
  | 'needs_reinstall'
  | 'suspended'
  | 'store_gone'
  | 'rate_limited'
  | 'retry_later'
  | 'needs_attention'
  /** A reinstall (or another runner after this lease expired) changed the installation first. */
  | 'superseded'
  /** Another run holds the lease, or the installation stopped being due. */
  | 'skipped'
  /** Too little time was left to send a request and store its answer; a later run takes it. */
  | 'deferred'
  /** The result could not be stored; the lease expires and a later run takes it again. */
  | 'error';

export const CHECK_OUTCOMES: readonly CheckOutcome[] = [
  'refreshed',
  'verified',
  'needs_reinstall',
  'suspended',
  'store_gone',
  'rate_limited',
  'retry_later',
  'needs_attention',
  'superseded',
  'skipped',
  'deferred',
  'error',
];

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

/** What the workers of one run share. */
interface Run {
  owner: string;
  deadlineEpochMs: number;
  ecwidSlots: Semaphore;
  credentialsRejected: boolean;
}

/**
 * Refreshes expiring tokens before they expire and verifies non-expiring ones, for every
 * installation that is due, and no other.
 *
 * - Finds due installations through the sharded due index, earliest first, round-robin over the
 *   shards: nothing that is not due is read and no shard starves.
 * - Takes a lease on each before touching it (and works on the copy the lease returned), so
 *   overlapping or duplicated runs never refresh one token twice: a server that rotates refresh
 *   tokens may revoke the whole grant when an old one is reused.
 * - Writes each result conditionally on the version it leased, so a reinstall that raced the
 *   refresh keeps its newer token.
 * - Stops taking work `deadlineMarginMs` before the deadline, and sends a request only when its answer
 *   can still be stored before the deadline and the lease run out; the rest stays due for the next run.
 *
 * @see https://api-docs.ecwid.com/reference/get-store-profile (verification)
 * @see RFC 6749 §6 (refresh), RFC 9700 §4.14.2 (refresh token rotation and reuse detection)
 */
export async function refreshDueInstallations(
  deps: RefreshJobDependencies,
  settings: RefreshJobSettings,
  request: { runId: string; deadlineEpochMs: number },
): Promise<RefreshRunSummary> {
  const { clock } = deps;
  const startedEpochMs = clock.nowEpochMs();
  const outcomes = Object.fromEntries(CHECK_OUTCOMES.map((outcome) => [outcome, 0])) as Record<CheckOutcome, number>;
  const feed = new DueFeed(deps.installations, settings.pageSize, () => epochSeconds(clock));
  const run: Run = {
    owner: request.runId,
    deadlineEpochMs: request.deadlineEpochMs,
    ecwidSlots: new Semaphore(Math.max(1, settings.concurrency)),
    credentialsRejected: false,
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
      outcomes[await handleInstallation(deps, settings, run, due.storeId)] += 1;
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

/**
 * Hands out due installations one at a time, reading the shards of the due index page by page,
 * round-robin. One reader at a time: a page is never read twice.
 */
class DueFeed {
  read = 0;
  private readonly shards: Array<{ name: string; buffer: DueEntry[]; cursor?: string; done: boolean }>;
  private pointer = 0;
  private lock: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: DueInstallationStore,
    private readonly pageSize: number,
    private readonly nowEpochSeconds: () => number,
  ) {
    this.shards = store.dueShards().map((name) => ({ name, buffer: [], done: false }));
  }

  exhausted(): boolean {
    return this.shards.every((shard) => shard.done && shard.buffer.length === 0);
  }

  next(): Promise<DueEntry | undefined> {
    const taken = this.lock.then(() => this.take());
    this.lock = taken.catch(() => undefined);
    return taken;
  }

  private async take(): Promise<DueEntry | undefined> {
    for (let visited = 0; visited < this.shards.length; visited += 1) {
      const shard = this.shards[this.pointer]!;
      this.pointer = (this.pointer + 1) % this.shards.length;
      if (shard.buffer.length === 0 && !shard.done) {
        const page = await this.store.findDue({
          shard: shard.name,
          nowEpochSeconds: this.nowEpochSeconds(),
          limit: this.pageSize,
          ...(shard.cursor === undefined ? {} : { cursor: shard.cursor }),
        });
        this.read += page.due.length;
        shard.buffer.push(...page.due);
        shard.cursor = page.cursor;
        shard.done = page.cursor === undefined;
      }
      const entry = shard.buffer.shift();
      if (entry !== undefined) return entry;
    }
    return undefined;
  }
}

/** A counting semaphore: at most `size` holders at once, the others wait in order. */
class Semaphore {
  private available: number;
  private readonly waiting: Array<() => void> = [];

  constructor(size: number) {
    this.available = size;
  }

  async use<T>(work: () => Promise<T>): Promise<T> {
    if (this.available > 0) this.available -= 1;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next === undefined) this.available += 1;
      else next();
    }
  }
}

/** How often a check's result is written before giving up, when losing it would lose a rotated grant. */
const REFRESHED_GRANT_WRITE_ATTEMPTS = 3;

async function handleInstallation(
  deps: RefreshJobDependencies,
  settings: RefreshJobSettings,
  run: Run,
  storeId: number,
): Promise<CheckOutcome> {
  try {
    const leaseExpiresAtEpochSeconds = epochSeconds(deps.clock) + settings.leaseDurationSeconds;
    const leased = await deps.installations.acquireLease({
      storeId,
      owner: run.owner,
      nowEpochSeconds: epochSeconds(deps.clock),
      leaseExpiresAtEpochSeconds,
    });
    if (leased === undefined) return 'skipped';

    const decision = await checkInstallation(deps, settings, run, leased, leaseExpiresAtEpochSeconds * 1000);
    // Deferred: nothing was sent, nothing is written; the lease runs out and a later run takes it.
    if (decision === 'deferred') return 'deferred';
    const { outcome, result } = decision;
    const written = await writeResult(deps, () =>
      deps.installations.completeCheck({
        storeId,
        owner: run.owner,
        version: leased.version,
        nowEpochSeconds: epochSeconds(deps.clock),
        result,
      }),
      result.refreshedGrant === undefined ? 1 : REFRESHED_GRANT_WRITE_ATTEMPTS,
      storeId,
    );
    if (!written) {
      deps.log.warn('a newer write superseded this check; its result was dropped', { storeId, outcome });
      return 'superseded';
    }
    if (result.status !== leased.status || outcome === 'needs_reinstall') {
      deps.log.warn('installation status changed', {
        storeId,
        from: leased.status,
        to: result.status,
        reason: result.statusReason,
      });
    }
    return outcome;
  } catch (error) {
    deps.log.error('could not handle a due installation; a later run will', {
      storeId,
      errorName: errorName(error),
      errorCode: (error as { code?: unknown }).code,
    });
    return 'error';
  }
}

/**
 * Writes a check's result, retrying when a rotated grant is in hand: the old refresh token is dead
 * at the server, so a result that is not stored is a store that will need a reinstall.
 */
async function writeResult(
  deps: RefreshJobDependencies,
  write: () => Promise<boolean>,
  attempts: number,
  storeId: number,
): Promise<boolean> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await write();
    } catch (error) {
      if (attempt >= attempts) {
        if (attempts > 1) {
          deps.log.error('a refreshed grant could not be stored; the store may need a reinstall', {
            storeId,
            errorName: errorName(error),
          });
        }
        throw error;
      }
      await deps.clock.sleep(200 * attempt);
    }
  }
}

type Decision = { outcome: CheckOutcome; result: CheckResult };

/** What to do with one leased installation. Never throws for anything Ecwid or the network does. */
async function checkInstallation(
  deps: RefreshJobDependencies,
  settings: RefreshJobSettings,
  run: Run,
  installation: Installation,
  leaseExpiresAtEpochMs: number,
): Promise<Decision | 'deferred'> {
  /** Sends one request to Ecwid in a slot, or none when too little time remains to store its answer. */
  const inSlot = <T>(request: () => Promise<T>) =>
    run.ecwidSlots.use(async () => {
      const latestEpochMs = Math.min(run.deadlineEpochMs, leaseExpiresAtEpochMs) - settings.requestReserveMs;
      return deps.clock.nowEpochMs() <= latestEpochMs ? { answer: await request() } : undefined;
    });

  const now = epochSeconds(deps.clock);
  if (installation.expiresAtEpochSeconds !== undefined && installation.refreshToken === undefined) {
    // An expiring token that cannot be refreshed: nothing to do until it dies, then only a reinstall helps.
    return now >= installation.expiresAtEpochSeconds
      ? { outcome: 'needs_reinstall', result: { status: 'needs_reinstall', statusReason: 'token_expired_without_refresh_token' } }
      : {
          outcome: 'retry_later',
          result: keepAsIs(installation, { nextCheckAtEpochSeconds: installation.expiresAtEpochSeconds }),
        };
  }

  // Tokens are decrypted here, where they are used, and nowhere else. KMS is not Ecwid: its request
  // does not take one of the slots that bound the requests to Ecwid.
  let sealer: TokenSealer;
  let token: string;
  try {
    sealer = await deps.vault.sealerOf(installation);
    token =
      installation.expiresAtEpochSeconds === undefined
        ? sealer.open(installation.accessToken, 'access_token')
        : sealer.open(installation.refreshToken!, 'refresh_token');
  } catch (error) {
    if (isAuthFlowError(error) && error.code === 'TOKEN_UNREADABLE') {
      // The stored token is not this store's (altered or copied in): only a new install gives one.
      return { outcome: 'needs_reinstall', result: { status: 'needs_reinstall', statusReason: 'token_unreadable' } };
    }
    return failed(installation, 'encryption_unavailable', now, settings, deps.random);
  }

  if (installation.expiresAtEpochSeconds === undefined) {
    const verification = await inSlot(() => deps.verifier.verifyToken({ storeId: installation.storeId, accessToken: token }));
    if (verification === undefined) return 'deferred';
    return decideAfterVerification(installation, verification.answer, now, settings, deps.random);
  }
  return refresh(deps, settings, run, installation, sealer, token, now, inSlot);
}

async function refresh(
  deps: RefreshJobDependencies,
  settings: RefreshJobSettings,
  run: Run,
  installation: Installation,
  sealer: TokenSealer,
  refreshToken: string,
  now: number,
  inSlot: <T>(request: () => Promise<T>) => Promise<{ answer: T } | undefined>,
): Promise<Decision | 'deferred'> {
  let grant;
  try {
    const clientSecret = await deps.clientSecret.clientSecret();
    const refreshed = await inSlot(() =>
      deps.refresher.refreshToken({ storeId: installation.storeId, refreshToken, clientId: settings.clientId, clientSecret }),
    );
    if (refreshed === undefined) return 'deferred';
    grant = refreshed.answer;
  } catch (error) {
    const code = isAuthFlowError(error) ? error.code : 'INTERNAL';
    if (code === 'REFRESH_TOKEN_REJECTED') {
      // The grant is gone. After an unconfirmed attempt (a lost answer), the server may have rotated
      // the token and then refused the old one as reused; the reason says which.
      const afterLostAnswer = (installation.failureCount ?? 0) > 0;
      return {
        outcome: 'needs_reinstall',
        result: {
          status: 'needs_reinstall',
          statusReason: afterLostAnswer ? 'invalid_grant_after_unconfirmed_refresh' : 'invalid_grant',
        },
      };
    }
    if (code === 'ECWID_RATE_LIMITED') {
      return rateLimited(installation, now, settings, (error as AuthFlowError).detail.retryAfterSeconds);
    }
    if (code === 'CLIENT_REJECTED') {
      // The app's credentials are wrong for every store: stop sending tokens until an operator acts.
      run.credentialsRejected = true;
      deps.log.error('the token endpoint refused the app credentials; check the client secret', {
        storeId: installation.storeId,
      });
    }
    return failed(installation, code.toLowerCase(), now, settings, deps.random);
  }

  const previousLifetime =
    installation.expiresAtEpochSeconds! - (installation.lastRefreshedAtEpochSeconds ?? installation.installedAtEpochSeconds);
  const lifetime = grant.expiresInSeconds ?? (previousLifetime > 0 ? previousLifetime : settings.assumedTokenLifetimeSeconds);
  const expiresAtEpochSeconds = now + lifetime;
  return {
    outcome: 'refreshed',
    result: {
      status: 'active',
      refreshedGrant: {
        accessToken: sealer.seal(grant.accessToken, 'access_token'),
        // Rotation: store the new refresh token with the new access token; keep the old one only
        // when the server sent none.
        refreshToken: grant.refreshToken === undefined ? installation.refreshToken! : sealer.seal(grant.refreshToken, 'refresh_token'),
        expiresAtEpochSeconds,
        ...(grant.scope === '' ? {} : { scope: grant.scope }),
        obtainedAtEpochMs: deps.clock.nowEpochMs(),
      },
      lastRefreshedAtEpochSeconds: now,
      nextCheckAtEpochSeconds: nextCheckAt({ expiresAtEpochSeconds }, now, settings.schedule, deps.random),
    },
  };
}

/** The decision after Ecwid's profile endpoint answered (or did not) for a non-expiring token. */
export function decideAfterVerification(
  installation: Installation,
  verification: TokenVerification,
  now: number,
  settings: RefreshJobSettings,
  random: RandomSource,
): Decision {
  switch (verification.outcome) {
    case 'valid':
      return {
        outcome: 'verified',
        result: {
          status: 'active',
          lastVerifiedAtEpochSeconds: now,
          nextCheckAtEpochSeconds: nextCheckAt({}, now, settings.schedule, random),
        },
      };
    case 'revoked':
      // Stop using the token: Ecwid blocks tokens that keep failing.
      return { outcome: 'needs_reinstall', result: { status: 'needs_reinstall', statusReason: verification.errorCode } };
    case 'store_gone':
      return { outcome: 'store_gone', result: { status: 'store_gone', statusReason: verification.errorCode } };
    case 'suspended':
      return {
        outcome: 'suspended',
        result: {
          status: 'suspended',
          statusReason: verification.errorCode,
          nextCheckAtEpochSeconds: nextCheckAt({}, now, settings.schedule, random),
        },
      };
    case 'rate_limited':
      return rateLimited(installation, now, settings, verification.retryAfterSeconds);
    case 'failed':
      return failed(installation, verification.reason, now, settings, random);
  }
}

function rateLimited(
  installation: Installation,
  now: number,
  settings: RefreshJobSettings,
  retryAfterSeconds: unknown,
): Decision {
  const wait =
    typeof retryAfterSeconds === 'number' && retryAfterSeconds > 0
      ? Math.min(Math.ceil(retryAfterSeconds), settings.rateLimitMaxSeconds)
      : settings.rateLimitDefaultSeconds;
  return { outcome: 'rate_limited', result: keepAsIs(installation, { nextCheckAtEpochSeconds: now + wait }) };
}

/**
 * A passing failure (5xx, timeout, network): retry with exponential backoff and jitter; after the
 * failure budget without a success, the installation needs attention (and is still retried).
 */
function failed(installation: Installation, reason: string, now: number, settings: RefreshJobSettings, random: RandomSource): Decision {
  const count = (installation.failureCount ?? 0) + 1;
  const firstAtEpochSeconds = installation.firstFailureAtEpochSeconds ?? now;
  const backoff = Math.min(settings.retryMaxSeconds, settings.retryBaseSeconds * 2 ** Math.min(count - 1, 30));
  let next = now + Math.max(1, Math.round(backoff * (0.9 + 0.2 * randomFraction(random))));
  const expiresAt = installation.expiresAtEpochSeconds;
  // Try again before an expiring token dies, while that is still possible.
  if (expiresAt !== undefined && expiresAt - 60 > now) next = Math.min(next, expiresAt - 60);
  const overBudget = now - firstAtEpochSeconds >= settings.failureBudgetSeconds;
  const status = overBudget ? 'needs_attention' : installation.status;
  return {
    outcome: overBudget ? 'needs_attention' : 'retry_later',
    result: {
      status,
      ...(status === 'active' ? {} : { statusReason: overBudget ? reason : installation.statusReason ?? reason }),
      nextCheckAtEpochSeconds: next,
      failure: { count, firstAtEpochSeconds },
    },
  };
}

/** A result that changes nothing but the next check time. */
function keepAsIs(installation: Installation, change: { nextCheckAtEpochSeconds: number }): CheckResult {
  return {
    status: installation.status,
    ...(installation.statusReason === undefined ? {} : { statusReason: installation.statusReason }),
    ...(installation.failureCount === undefined
      ? {}
      : { failure: { count: installation.failureCount, firstAtEpochSeconds: installation.firstFailureAtEpochSeconds! } }),
    nextCheckAtEpochSeconds: change.nextCheckAtEpochSeconds,
  };
}

function epochSeconds(clock: Clock): number {
  return Math.floor(clock.nowEpochMs() / 1000);
}
