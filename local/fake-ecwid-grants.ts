import { randomBytes } from 'node:crypto';

/**
 * The fake Ecwid's token bookkeeping (internal to `FakeEcwid`): one grant per exchanged code, the access
 * tokens and refresh tokens descending from it, expiry against an injected clock, rotation and reuse
 * detection as RFC 9700 §4.14.2 describes for a server that rotates refresh tokens.
 */
export interface Grant {
  storeId: number;
  /** Space-separated, always including `read_store_profile`. */
  scope: string;
  /** Lifetime of the grant's first access token; undefined for a non-expiring (today's Ecwid) grant. */
  lifetimeSeconds: number | undefined;
  /** Set by a second exchange of the grant's code or by the replay of a rotated refresh token. */
  revoked: boolean;
  /** The one refresh token that may be used next; undefined for a non-expiring grant. */
  currentRefreshToken: string | undefined;
  /** The storefront's public token: only a grant with `public_storefront` has one. */
  publicToken: string | undefined;
}

/** Tokens as a token endpoint answer names them. */
export interface IssuedTokens {
  accessToken: string;
  refreshToken?: string;
  expiresInSeconds?: number;
}

export type RefreshOutcome =
  | { issued: true; grant: Grant; tokens: IssuedTokens }
  | { issued: false; description: string };

interface AccessToken {
  grant: Grant;
  expiresAtEpochMs: number | undefined;
}

export class GrantBook {
  private readonly accessTokens = new Map<string, AccessToken>();
  /** Every refresh token ever issued, current or rotated away, with its grant. */
  private readonly refreshTokens = new Map<string, Grant>();

  constructor(
    private readonly nowEpochMs: () => number,
    private readonly isUninstalled: (storeId: number) => boolean,
  ) {}

  /** Starts a grant (a code exchange); with a lifetime, its tokens expire and it gets a refresh token. */
  issue(storeId: number, scope: string, lifetimeSeconds: number | undefined): { grant: Grant; tokens: IssuedTokens } {
    const publicToken = scope.split(' ').includes('public_storefront') ? `public_${randomAlphanumeric(32)}` : undefined;
    const grant: Grant = { storeId, scope, lifetimeSeconds, revoked: false, currentRefreshToken: undefined, publicToken };
    return { grant, tokens: this.issueTokens(grant, lifetimeSeconds) };
  }

  /**
   * Redeems a refresh token. The current one rotates: a new access token and a new refresh token;
   * earlier access tokens keep working until their own expiry. A refresh token that was already
   * rotated away is a replay and revokes the whole grant. `lifetimeSeconds` undefined keeps the
   * grant's original lifetime.
   */
  refresh(refreshToken: string, pathStoreId: number | undefined, lifetimeSeconds: number | undefined): RefreshOutcome {
    const grant = this.refreshTokens.get(refreshToken);
    if (grant === undefined) return { issued: false, description: 'Unknown refresh token' };
    if (grant.revoked || this.isUninstalled(grant.storeId)) return { issued: false, description: 'The grant was revoked' };
    if (grant.currentRefreshToken !== refreshToken) {
      // Reuse detection: either the client or an attacker holds a stale token, and the server cannot tell which.
      grant.revoked = true;
      return { issued: false, description: 'Refresh token already used; the grant is revoked' };
    }
    if (pathStoreId !== undefined && pathStoreId !== grant.storeId) {
      return { issued: false, description: 'The refresh token was issued for another store' };
    }
    return { issued: true, grant, tokens: this.issueTokens(grant, lifetimeSeconds ?? grant.lifetimeSeconds) };
  }

  /**
   * Revokes every grant of a store issued so far (an uninstall): its tokens stop working, and a later
   * install's grant is a new one that works.
   */
  revokeStore(storeId: number): void {
    for (const { grant } of this.accessTokens.values()) if (grant.storeId === storeId) grant.revoked = true;
    for (const grant of this.refreshTokens.values()) if (grant.storeId === storeId) grant.revoked = true;
  }

  /** Whether a store has a grant that is alive (installed, as Ecwid sees it). */
  hasLiveGrant(storeId: number): boolean {
    return [...this.accessTokens.values()].some(({ grant }) => grant.storeId === storeId && this.isGrantAlive(grant));
  }

  /** Whether a grant of the store was ever issued, alive or not. */
  hasEverGranted(storeId: number): boolean {
    return [...this.accessTokens.values()].some(({ grant }) => grant.storeId === storeId);
  }

  /**
   * The store's newest access token that works now (its grant alive, not expired on the clock), with
   * its grant's public token: what Ecwid hands the app's iframe. Undefined when none works.
   */
  currentTokens(storeId: number): { accessToken: string; publicToken: string | undefined } | undefined {
    let current: { accessToken: string; publicToken: string | undefined } | undefined;
    // Insertion order is issue order: the last match is the newest.
    for (const [accessToken, token] of this.accessTokens) {
      if (token.grant.storeId === storeId && this.isAccessTokenValid(accessToken)) current = { accessToken, publicToken: token.grant.publicToken };
    }
    return current;
  }

  /** The store of the grant a refresh token belongs to, if the token was ever issued. */
  storeOfRefreshToken(refreshToken: string): number | undefined {
    return this.refreshTokens.get(refreshToken)?.storeId;
  }

  /** Whether an access token works: issued here, grant not revoked nor uninstalled, not expired, for `storeId` when given. */
  isAccessTokenValid(accessToken: string, storeId?: number): boolean {
    const token = this.accessTokens.get(accessToken);
    if (token === undefined || !this.isGrantAlive(token.grant)) return false;
    if (storeId !== undefined && token.grant.storeId !== storeId) return false;
    return token.expiresAtEpochMs === undefined || this.nowEpochMs() < token.expiresAtEpochMs;
  }

  /** Whether a refresh token would be honoured: the current one of a live grant. */
  isRefreshTokenValid(refreshToken: string): boolean {
    const grant = this.refreshTokens.get(refreshToken);
    return grant !== undefined && this.isGrantAlive(grant) && grant.currentRefreshToken === refreshToken;
  }

  /** The scope of the grant an access token belongs to, if the token was ever issued. */
  scopeOf(accessToken: string): string | undefined {
    return this.accessTokens.get(accessToken)?.grant.scope;
  }

  issuedAccessTokens(): string[] {
    return [...this.accessTokens.keys()];
  }

  issuedRefreshTokens(): string[] {
    return [...this.refreshTokens.keys()];
  }

  private isGrantAlive(grant: Grant): boolean {
    return !grant.revoked && !this.isUninstalled(grant.storeId);
  }

  private issueTokens(grant: Grant, lifetimeSeconds: number | undefined): IssuedTokens {
    const accessToken = `secret_${randomAlphanumeric(32)}`;
    const expiresAtEpochMs = lifetimeSeconds === undefined ? undefined : this.nowEpochMs() + lifetimeSeconds * 1000;
    this.accessTokens.set(accessToken, { grant, expiresAtEpochMs });
    if (lifetimeSeconds === undefined) return { accessToken };
    const refreshToken = `refresh_${randomAlphanumeric(32)}`;
    this.refreshTokens.set(refreshToken, grant);
    grant.currentRefreshToken = refreshToken;
    return { accessToken, refreshToken, expiresInSeconds: lifetimeSeconds };
  }
}

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export function randomAlphanumeric(length: number): string {
  // 248 = 4 * 62: dropping bytes >= 248 keeps every character equally likely.
  let text = '';
  while (text.length < length) {
    for (const byte of randomBytes(length)) {
      if (byte < 248 && text.length < length) text += ALPHANUMERIC[byte % 62];
    }
  }
  return text;
}
