/**
 * What the credentials API answers for an installation, decided without I/O: pure functions of the
 * stored installation and the time, shared by the API (`credentials-desk.ts`) and the client
 * library's direct reader, so both give the same answer.
 */
import type { Installation, InstallationStatus } from '../model';

/** The statuses whose token is believed to work: `needs_attention` only means checks are failing. */
export type UsableStatus = Extract<InstallationStatus, 'active' | 'needs_attention'>;
/** The statuses whose token is known not to work. */
export type UnusableStatus = Exclude<InstallationStatus, UsableStatus>;

/** A store's credentials as the API hands them out: the JSON of `GET /stores/{storeId}/credentials`. */
export interface StoreCredentials {
  storeId: number;
  accessToken: string;
  tokenType: 'Bearer';
  /** Space-separated scopes the token was granted. */
  scope: string;
  /** Present only when the `public_storefront` scope was granted. */
  publicToken: string | null;
  /** When the access token expires (ISO 8601), or null for Ecwid's non-expiring tokens. */
  expiresAt: string | null;
  status: UsableStatus;
  /** The scopes the app asks for that the store has not granted (empty when none): calls needing them get 403. */
  missingScopes: string[];
}

/** When an expiring token is renewed before it is handed out, and the least lifetime a handed-out token has. */
export interface HandOutRules {
  /** An expiring token with less than this left is renewed on read (the scheduled job normally did so long before). */
  renewBelowSeconds: number;
  /** No token with less than this left is ever handed out. */
  minimumLifetimeSeconds: number;
}

export const DEFAULT_HAND_OUT_RULES: HandOutRules = { renewBelowSeconds: 5 * 60, minimumLifetimeSeconds: 60 };

/** An installation whose token is handed out. */
export type UsableInstallation = Installation & { status: UsableStatus };

export type HandOutPlan =
  | { kind: 'unusable'; status: UnusableStatus; reason: string }
  | { kind: 'hand_out'; installation: UsableInstallation }
  /** Renew first; `fallback` says whether the current token may still be handed out if renewal cannot happen now. */
  | { kind: 'renew'; installation: UsableInstallation; fallback: boolean };

/**
 * Whether an installation's token is handed out at all. Exhaustive: a new status must be placed on
 * one side or the other before anything compiles.
 */
export function isUsableStatus(status: InstallationStatus): status is UsableStatus {
  switch (status) {
    case 'active':
    case 'needs_attention':
      return true;
    case 'needs_reinstall':
    case 'suspended':
    case 'store_gone':
    case 'uninstalled':
      return false;
  }
}

export function isUsable(installation: Installation): installation is UsableInstallation {
  return isUsableStatus(installation.status);
}

/** Seconds an installation's access token has left; undefined for a non-expiring token. */
export function remainingLifetimeSeconds(installation: Pick<Installation, 'expiresAtEpochSeconds'>, nowEpochSeconds: number): number | undefined {
  return installation.expiresAtEpochSeconds === undefined ? undefined : installation.expiresAtEpochSeconds - nowEpochSeconds;
}

/** Whether the current token may be handed out as it is: non-expiring, or with at least the minimum lifetime left. */
export function lastsLongEnough(installation: Pick<Installation, 'expiresAtEpochSeconds'>, nowEpochSeconds: number, rules: HandOutRules): boolean {
  const remaining = remainingLifetimeSeconds(installation, nowEpochSeconds);
  return remaining === undefined || remaining >= rules.minimumLifetimeSeconds;
}

/**
 * What to do with an installation a caller asks credentials for: refuse (its status says the token
 * does not work), hand out its token, or renew an expiring token that is close to its end first.
 */
export function planHandOut(installation: Installation, nowEpochSeconds: number, rules: HandOutRules): HandOutPlan {
  if (!isUsable(installation)) {
    const status = installation.status as UnusableStatus;
    return { kind: 'unusable', status, reason: installation.statusReason ?? status };
  }
  const remaining = remainingLifetimeSeconds(installation, nowEpochSeconds);
  if (remaining === undefined || remaining >= renewBelowSeconds(installation, rules)) return { kind: 'hand_out', installation };
  return { kind: 'renew', installation, fallback: remaining >= rules.minimumLifetimeSeconds };
}

/**
 * When an expiring token is renewed on read: `renewBelowSeconds` before its end, or half its
 * lifetime for a token that lives less than twice that (else every read of a short-lived token would
 * renew it), never less than the minimum lifetime.
 */
function renewBelowSeconds(installation: Installation, rules: HandOutRules): number {
  const issuedAtEpochSeconds = installation.lastRefreshedAtEpochSeconds ?? installation.installedAtEpochSeconds;
  const lifetimeSeconds = (installation.expiresAtEpochSeconds ?? issuedAtEpochSeconds) - issuedAtEpochSeconds;
  return Math.max(rules.minimumLifetimeSeconds, Math.min(rules.renewBelowSeconds, Math.floor(lifetimeSeconds / 2)));
}

/** The tokens of an installation, opened. */
export interface OpenedTokens {
  accessToken: string;
  publicToken: string | undefined;
}

/** The answer for an installation whose token is handed out. */
export function toStoreCredentials(
  installation: Pick<Installation, 'storeId' | 'scope' | 'expiresAtEpochSeconds' | 'missingScopes'> & { status: UsableStatus },
  tokens: OpenedTokens,
): StoreCredentials {
  return {
    storeId: installation.storeId,
    accessToken: tokens.accessToken,
    tokenType: 'Bearer',
    scope: installation.scope,
    publicToken: tokens.publicToken ?? null,
    expiresAt: installation.expiresAtEpochSeconds === undefined ? null : new Date(installation.expiresAtEpochSeconds * 1000).toISOString(),
    status: installation.status,
    missingScopes: [...(installation.missingScopes ?? [])],
  };
}

const STORE_ID_PATTERN = /^[1-9][0-9]{0,15}$/;

/**
 * A store id from a request: a positive integer in decimal, without sign, leading zeros or
 * anything else (so one store has one spelling). Undefined when the text is not one.
 */
export function parseStoreId(text: string | undefined): number | undefined {
  if (text === undefined || !STORE_ID_PATTERN.test(text)) return undefined;
  const storeId = Number(text);
  return Number.isSafeInteger(storeId) ? storeId : undefined;
}
