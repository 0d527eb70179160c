/**
 * Verifying what the backend signs: the session `/app` hands the app's UI (who is in front of the
 * app, proven by Ecwid's control panel) and the install receipt the callback hands `SUCCESS_URL`.
 * Both are ES256 JWTs checked offline against the backend's JWKS (`/.well-known/jwks.json`, fetched
 * once and kept; fetched again when a token names a key not seen yet).
 */
import { createRemoteJWKSet, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { EcwidAppAuthError } from '../functions/core/errors';
import {
  MAX_SESSION_LIFETIME_SECONDS,
  RECEIPT_LIFETIME_SECONDS,
  TOKEN_TYPES,
  type InstallReceiptClaims,
  type SessionClaims,
} from '../functions/core/native-app/signed-tokens';

export interface SessionVerifierOptions {
  /** The backend's public URL (`EcwidAppAuth.apiUrl`): the tokens' `iss`. */
  issuer: string;
  /** The Ecwid client id: the tokens' `aud`. */
  audience: string;
  /** @default `{issuer}/.well-known/jwks.json` */
  jwksUrl?: string;
  /** Clock skew tolerated on `iat`/`exp`, in seconds. @default 30 */
  clockToleranceSeconds?: number;
  /** For tests: the key set, instead of fetching it. */
  keys?: JWTVerifyGetKey;
  /** For tests: the time to verify at. @default now */
  now?: () => Date;
}

/** A verified session: the store the person in front of the app manages, and what the app may do there. */
export interface VerifiedSession {
  storeId: number;
  /** The scopes the store granted, space-separated. */
  scope: string;
  /** The scopes the app asks for that the store has not granted: offer a re-consent (`/authorize`). */
  missingScopes: string[];
  /** The merchant's control panel language (`en`, `pt_BR`, ...). */
  lang: string;
  viewMode: string;
  expiresAt: Date;
  /** The session's unique id (`jti`). */
  sessionId: string;
  claims: SessionClaims;
}

/**
 * A verified install receipt. Link an account to `storeId` only when `browserBound` is true: an App
 * Market receipt proves which store installed, not who is at the browser.
 */
export interface VerifiedInstallReceipt {
  storeId: number;
  lane: InstallReceiptClaims['lane'];
  browserBound: boolean;
  expiresAt: Date;
  receiptId: string;
  claims: InstallReceiptClaims;
}

/** A session or receipt that does not verify. `reason` says why, for logs; show the user only "open the app again". */
export class SessionInvalidError extends EcwidAppAuthError {
  override readonly name = 'SessionInvalidError';
  declare readonly code: 'SESSION_INVALID';
  readonly reason: string;

  constructor(reason: string, cause?: unknown) {
    super('SESSION_INVALID', `the token does not verify: ${reason}`, { ...(cause === undefined ? {} : { cause }), detail: { reason } });
    this.reason = reason;
  }
}

export interface SessionVerifier {
  /** @throws SessionInvalidError (another signer or audience, expired, altered, a receipt, malformed) */
  verifySession(token: string): Promise<VerifiedSession>;
  /** @throws SessionInvalidError (another signer or audience, expired, altered, a session, malformed) */
  verifyInstallReceipt(token: string): Promise<VerifiedInstallReceipt>;
}

/** A verifier for one backend; keep one per process (it keeps the key set). */
export function createSessionVerifier(options: SessionVerifierOptions): SessionVerifier {
  const issuer = options.issuer.replace(/\/+$/, '');
  const keys =
    options.keys ??
    createRemoteJWKSet(new URL(options.jwksUrl ?? `${issuer}/.well-known/jwks.json`), {
      timeoutDuration: 5_000,
      // A token naming an unknown key fetches again, at most this often.
      cooldownDuration: 30_000,
      cacheMaxAge: 10 * 60_000,
    });
  const verify = async (token: string, typ: string, maxLifetimeSeconds: number): Promise<JWTPayload> => {
    if (typeof token !== 'string' || token.length === 0 || token.length > 8192) throw new SessionInvalidError('malformed');
    try {
      const { payload } = await jwtVerify(token, keys, {
        algorithms: ['ES256'],
        typ,
        issuer,
        audience: options.audience,
        requiredClaims: ['iat', 'exp', 'jti', 'sub'],
        maxTokenAge: maxLifetimeSeconds,
        clockTolerance: options.clockToleranceSeconds ?? 30,
        ...(options.now === undefined ? {} : { currentDate: options.now() }),
      });
      return payload;
    } catch (error) {
      throw new SessionInvalidError(reasonOf(error), error);
    }
  };
  return {
    async verifySession(token) {
      const payload = await verify(token, TOKEN_TYPES.session, MAX_SESSION_LIFETIME_SECONDS);
      const claims = payload as unknown as SessionClaims;
      const storeId = storeIdOf(payload);
      if (!Array.isArray(claims.missing_scopes) || !claims.missing_scopes.every((scope) => typeof scope === 'string')) {
        throw new SessionInvalidError('claims');
      }
      if (typeof claims.scope !== 'string' || typeof claims.lang !== 'string' || typeof claims.view_mode !== 'string') throw new SessionInvalidError('claims');
      return {
        storeId,
        scope: claims.scope,
        missingScopes: [...claims.missing_scopes],
        lang: claims.lang,
        viewMode: claims.view_mode,
        expiresAt: new Date(claims.exp * 1000),
        sessionId: claims.jti,
        claims,
      };
    },
    async verifyInstallReceipt(token) {
      const payload = await verify(token, TOKEN_TYPES.installReceipt, RECEIPT_LIFETIME_SECONDS);
      const claims = payload as unknown as InstallReceiptClaims;
      const storeId = storeIdOf(payload);
      if ((claims.lane !== 'app_initiated' && claims.lane !== 'app_market') || typeof claims.browser_bound !== 'boolean') {
        throw new SessionInvalidError('claims');
      }
      return {
        storeId,
        lane: claims.lane,
        // Never trusted on the App Market lane, whatever the token says.
        browserBound: claims.lane === 'app_initiated' && claims.browser_bound,
        expiresAt: new Date(claims.exp * 1000),
        receiptId: claims.jti,
        claims,
      };
    },
  };
}

const verifiers = new Map<string, SessionVerifier>();

/**
 * Verifies a session with a verifier kept per backend (issuer, audience, JWKS URL), so its key set is
 * fetched once per process.
 *
 * @throws SessionInvalidError
 */
export function verifySession(token: string, options: Omit<SessionVerifierOptions, 'keys' | 'now'>): Promise<VerifiedSession> {
  return verifierFor(options).verifySession(token);
}

/** As {@link verifySession}, for an install receipt. */
export function verifyInstallReceipt(token: string, options: Omit<SessionVerifierOptions, 'keys' | 'now'>): Promise<VerifiedInstallReceipt> {
  return verifierFor(options).verifyInstallReceipt(token);
}

function verifierFor(options: Omit<SessionVerifierOptions, 'keys' | 'now'>): SessionVerifier {
  const key = JSON.stringify([options.issuer, options.audience, options.jwksUrl ?? '', options.clockToleranceSeconds ?? 30]);
  let verifier = verifiers.get(key);
  if (verifier === undefined) {
    verifier = createSessionVerifier(options);
    verifiers.set(key, verifier);
  }
  return verifier;
}

function storeIdOf(payload: JWTPayload): number {
  const storeId = (payload as { store_id?: unknown }).store_id;
  if (typeof storeId !== 'number' || !Number.isSafeInteger(storeId) || storeId <= 0 || payload.sub !== String(storeId)) {
    throw new SessionInvalidError('claims');
  }
  return storeId;
}

/** jose's error codes, in the words of this library (never the token). */
function reasonOf(error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return 'expired';
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return 'signature';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      return `claim_${String((error as { claim?: unknown }).claim ?? 'unknown')}`;
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return 'algorithm';
    case 'ERR_JWKS_TIMEOUT':
    case 'ERR_JWKS_INVALID':
    // What the remote key set throws when the JWKS answers other than 200 (the backend's 503).
    case 'ERR_JOSE_GENERIC':
      return 'keys_unavailable';
    default:
      // Anything but jose's own refusals is the key set's fetch failing (the network, the backend).
      return typeof code === 'string' && code.startsWith('ERR_') ? 'malformed' : 'keys_unavailable';
  }
}
