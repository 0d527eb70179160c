/**
 * Sessions and install receipts: JWTs (RFC 7519) signed with ES256 (RFC 7518 §3.4) by a key whose
 * private half never leaves KMS, so any service of the app, in any language, verifies them offline
 * against the published JWKS. What they say is built here; the signature comes from a `TokenSigner`.
 */
import type { Clock, RandomSource, TokenSigner } from '../ports';

/** How long a session is good for, at most: the iframe gets a fresh one each time Ecwid opens it. */
export const MAX_SESSION_LIFETIME_SECONDS = 15 * 60;
/** How long an install receipt is good for: the success page reads it at once. */
export const RECEIPT_LIFETIME_SECONDS = 5 * 60;

/** The JOSE `typ` of each kind, so one can never be taken for the other (RFC 8725 §3.11). */
export const TOKEN_TYPES = { session: 'session', installReceipt: 'install-receipt' } as const;

/** What every token of this app carries. */
interface CommonClaims {
  /** The app's public URL. */
  iss: string;
  /** The Ecwid client id. */
  aud: string;
  iat: number;
  exp: number;
  /** Unique per token. */
  jti: string;
}

/** Who is in front of the app, proven by Ecwid's control panel (the iframe's payload). */
export interface SessionClaims extends CommonClaims {
  /** The store id, as a string (RFC 7519 `sub`). */
  sub: string;
  store_id: number;
  scope: string;
  /** The scopes the app asks for that the store has not granted. */
  missing_scopes: string[];
  lang: string;
  view_mode: string;
}

/** Which store an install came from; `browser_bound` only when a state bound to this browser was spent. */
export interface InstallReceiptClaims extends CommonClaims {
  sub: string;
  store_id: number;
  lane: 'app_initiated' | 'app_market';
  browser_bound: boolean;
}

/**
 * Signs `claims` as a compact JWS with ES256 and the signer's key id.
 * One `TokenSigner.sign`: one KMS request.
 */
export async function signToken(signer: TokenSigner, type: string, claims: object): Promise<string> {
  const header = { alg: 'ES256', typ: type, kid: signer.keyId };
  const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
  const signature = await signer.sign(Buffer.from(signingInput, 'ascii'));
  return `${signingInput}.${Buffer.from(signature).toString('base64url')}`;
}

function base64url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}

/** Who issues the tokens, for whom, and the time and randomness they are made with. */
export interface TokenIssuer {
  signer: TokenSigner;
  /** `iss`: the app's public URL. */
  issuer: string;
  /** `aud`: the Ecwid client id. */
  audience: string;
  clock: Clock;
  random: RandomSource;
}

/**
 * An install receipt: which store installed, through which lane, and whether this browser spent a
 * state bound to it. Good for {@link RECEIPT_LIFETIME_SECONDS}. One KMS `Sign`.
 */
export async function issueInstallReceipt(
  issuer: TokenIssuer,
  install: { storeId: number; lane: InstallReceiptClaims['lane']; browserBound: boolean },
): Promise<string> {
  const claims: InstallReceiptClaims = {
    ...commonClaims(issuer, RECEIPT_LIFETIME_SECONDS),
    sub: String(install.storeId),
    store_id: install.storeId,
    lane: install.lane,
    // Only a state spent by this very browser proves who carries the receipt (never the App Market lane).
    browser_bound: install.lane === 'app_initiated' && install.browserBound,
  };
  return signToken(issuer.signer, TOKEN_TYPES.installReceipt, claims);
}

/** A session for the person in front of the app inside Ecwid's control panel. One KMS `Sign`. */
export async function issueSession(
  issuer: TokenIssuer,
  session: Omit<SessionClaims, keyof CommonClaims | 'sub'>,
  lifetimeSeconds = MAX_SESSION_LIFETIME_SECONDS,
): Promise<{ token: string; claims: SessionClaims }> {
  // Each claim by name: nothing given can override the issuer's own (`iss`, `aud`, `exp`, ...).
  const claims: SessionClaims = {
    ...commonClaims(issuer, Math.min(lifetimeSeconds, MAX_SESSION_LIFETIME_SECONDS)),
    sub: String(session.store_id),
    store_id: session.store_id,
    scope: session.scope,
    missing_scopes: [...session.missing_scopes],
    lang: session.lang,
    view_mode: session.view_mode,
  };
  return { token: await signToken(issuer.signer, TOKEN_TYPES.session, claims), claims };
}

function commonClaims(issuer: TokenIssuer, lifetimeSeconds: number): CommonClaims {
  const iat = Math.floor(issuer.clock.nowEpochMs() / 1000);
  return {
    iss: issuer.issuer,
    aud: issuer.audience,
    iat,
    exp: iat + lifetimeSeconds,
    jti: Buffer.from(issuer.random.randomBytes(16)).toString('base64url'),
  };
}
