import { nextCheckAt, randomFraction, type CheckSchedulePolicy } from './check-schedule';
import { errorName, isAuthFlowError, type AuthFlowError } from './errors';
import type {
  CheckResult,
  ClientSecretSource,
  Clock,
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
  'error',
];

export interface RefreshRunSummary {
  runId: string;
  /** The instant the run took as "now" when it started. */
  startedAt: string;
  durationMs: number;
  outcomes: Record<CheckOutcome, number>;
  /** Installations handled (every outcome but `skipped`). */
  processed: number;
  /** Installations the due-index queries returned. */
  dueRead: number;
  /** The deadline came before the due index was exhausted; the rest waits for the next run. */
  stoppedAtDeadline: boolean;
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
 * - Stops taking work `deadlineMarginMs` before the deadline; the rest stays due for the next run.
 *
 * @see https://api-docs.ecwid.com/reference/get-store-profile (verification)
 * @see RFC 6749 §6 (refresh), RFC 9700 §4.14.2 (refresh token rotation and reuse detection)
 */
export async function refreshDueInstallations(
  deps: RefreshJobDependencies,
  settings: RefreshJobSettings,
  run: { runId: string; deadlineEpochMs: number },
): Promise<RefreshRunSummary> {
  const { clock } = deps;
  const startedEpochMs = clock.nowEpochMs();
  const outcomes = Object.fromEntries(CHECK_OUTCOMES.map((outcome) => [outcome, 0])) as Record<CheckOutcome, number>;
  const feed = new DueFeed(deps.installations, settings.pageSize, () => epochSeconds(clock));
  const ecwidSlots = new Semaphore(Math.max(1, settings.concurrency));
  let stoppedAtDeadline = false;

  const worker = async () => {
    for (;;) {
      if (clock.nowEpochMs() >= run.deadlineEpochMs - settings.deadlineMarginMs) {
        stoppedAtDeadline = stoppedAtDeadline || !feed.exhausted();
        return;
      }
      const installation = await feed.next();
      if (installation === undefined) return;
      outcomes[await handleInstallation(deps, settings, run.runId, installation, ecwidSlots)] += 1;
    }
  };
  await Promise.all(Array.from({ length: 2 * Math.max(1, settings.concurrency) }, worker));

  return {
    runId: run.runId,
    startedAt: new Date(startedEpochMs).toISOString(),
    durationMs: clock.nowEpochMs() - startedEpochMs,
    outcomes,
    processed: CHECK_OUTCOMES.reduce((sum, outcome) => (outcome === 'skipped' ? sum : sum + outcomes[outcome]), 0),
    dueRead: feed.read,
    stoppedAtDeadline,
  };
}

/**
 * Hands out due installations one at a time, reading the shards of the due index page by page,
 * round-robin. One reader at a time: a page is never read twice.
 */
class DueFeed {
  read = 0;
  private readonly shards: Array<{ name: string; buffer: Installation[]; cursor?: string; done: boolean }>;
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

  next(): Promise<Installation | undefined> {
    const taken = this.lock.then(() => this.take());
    this.lock = taken.catch(() => undefined);
    return taken;
  }

  private async take(): Promise<Installation | undefined> {
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
        this.read += page.installations.length;
        shard.buffer.push(...page.installations);
        shard.cursor = page.cursor;
        shard.done = page.cursor === undefined;
      }
      const installation = shard.buffer.shift();
      if (installation !== undefined) return installation;
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

async function handleInstallation(
  deps: RefreshJobDependencies,
  settings: RefreshJobSettings,
  owner: string,
  due: Installation,
  ecwidSlots: Semaphore,
): Promise<CheckOutcome> {
  const { storeId } = due;
  try {
    const leased = await deps.installations.acquireLease({
      storeId,
      owner,
      nowEpochSeconds: epochSeconds(deps.clock),
      leaseExpiresAtEpochSeconds: epochSeconds(deps.clock) + settings.leaseDurationSeconds,
    });
    if (leased === undefined) return 'skipped';

    const { outcome, result } = await checkInstallation(deps, settings, leased, ecwidSlots);
    const written = await deps.installations.completeCheck({
      storeId,
      owner,
      version: leased.version,
      nowEpochSeconds: epochSeconds(deps.clock),
      result,
    });
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

type Decision = { outcome: CheckOutcome; result: CheckResult };

/** What to do with one leased installation. Never throws for anything Ecwid or the network does. */
async function checkInstallation(
  deps: RefreshJobDependencies,
  settings: RefreshJobSettings,
  installation: Installation,
  ecwidSlots: Semaphore,
): Promise<Decision> {
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
    const verification = await ecwidSlots.use(() =>
      deps.verifier.verifyToken({ storeId: installation.storeId, accessToken: token }),
    );
    return decideAfterVerification(installation, verification, now, settings, deps.random);
  }
  return refresh(deps, settings, installation, sealer, token, now, ecwidSlots);
}

async function refresh(
  deps: RefreshJobDependencies,
  settings: RefreshJobSettings,
  installation: Installation,
  sealer: TokenSealer,
  refreshToken: string,
  now: number,
  ecwidSlots: Semaphore,
): Promise<Decision> {
  let grant;
  try {
    const clientSecret = await deps.clientSecret.clientSecret();
    grant = await ecwidSlots.use(() =>
      deps.refresher.refreshToken({ storeId: installation.storeId, refreshToken, clientId: settings.clientId, clientSecret }),
    );
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
