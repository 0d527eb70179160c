import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { NetworkError, sendToEcwid } from '../functions/adapters/ecwid/http';
import {
  InstallationUnusableError,
  InvalidStoreIdError,
  NotInstalledError,
  TokenRenewalPendingError,
} from '../functions/core/credentials/credentials-errors';
import { isUsableStatus, parseStoreId, type StoreCredentials, type UnusableStatus } from '../functions/core/credentials/hand-out';
import { ConfigurationError } from '../functions/core/errors';
import type { InstallationStatus } from '../functions/core/model';
import { joinUrl } from '../functions/core/urls';
import { CREDENTIALS_ROUTES, pathFor, type CredentialsRoute } from '../functions/credentials/routes';
import { normalizeBaseUrl, urlProblem } from '../functions/runtime/setting-rules';
import type { CredentialsSource, RejectionVerdict, ScopeVerdict } from './credentials-source';
import { CredentialsApiError } from './errors';

/** AWS credentials to sign with (what every AWS SDK credential provider resolves to). */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

export type AwsCredentialsProvider = () => Promise<AwsCredentials>;

export interface CredentialsApiClientOptions {
  /**
   * The credentials API's origin: `EcwidAppAuth.credentialsApiUrl` (the standalone stack's output
   * `CredentialsUrl` without `/stores/...`). https, or http to a loopback host (the local stack).
   */
  url: string;
  /**
   * `iam` (the default): every request is signed with SigV4 for `execute-api`, as the deployed routes
   * require. `none`: unsigned, allowed only for a loopback URL (the local stack, which has no IAM).
   */
  auth?: 'iam' | 'none';
  /** The API's AWS region. Read from an `execute-api` host name when not given. */
  region?: string;
  /** What to sign with. Default: the AWS SDK's default chain (in Lambda, the function's role). */
  credentials?: AwsCredentials | AwsCredentialsProvider;
  /** Budget of one request, answer included. Default 29 s: the API may wait for a renewal in progress. */
  timeoutMs?: number;
  /** Attempts of a read that fails with a network error, a 5xx, or "renewal pending". Default 3. Reports are sent once. */
  maxAttempts?: number;
  /** The longest `Retry-After` waited out before trying a read again; a longer one is passed on as the error. Default 5. */
  maxRetryAfterSeconds?: number;
  fetch?: typeof fetch;
  /** How to wait between attempts (tests pass their own). */
  sleep?: (durationMs: number) => Promise<void>;
}

/** The credentials API over HTTPS: a credentials source for any code granted `grantCredentialsApi`. */
export type CredentialsApiClient = CredentialsSource;

const DEFAULT_TIMEOUT_MS = 29_000;
/** The answers of the credentials API are a few hundred bytes. */
const MAX_ANSWER_BYTES = 64 * 1024;
const EXECUTE_API_HOST = /^[a-z0-9]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/;

/**
 * A client for `GET /stores/{storeId}/credentials` and `POST /stores/{storeId}/credentials/rejected`,
 * signing each request with SigV4 (service `execute-api`). It answers exactly as the direct reader
 * does: credentials, or the same typed errors.
 *
 * @throws ConfigurationError at once for a URL that is not https (or loopback http), an unsigned
 *   client for a URL that is not loopback, or a region that cannot be known.
 */
export function createCredentialsApiClient(options: CredentialsApiClientOptions): CredentialsApiClient {
  const problem = urlProblem(options.url, { kind: 'base', allowLoopbackHttp: true });
  if (problem !== undefined) throw new ConfigurationError(`the credentials API url ${problem}`);
  const base = normalizeBaseUrl(options.url);
  const host = new URL(base).hostname;
  const auth = options.auth ?? 'iam';
  if (auth === 'none' && !['localhost', '127.0.0.1', '[::1]'].includes(host)) {
    throw new ConfigurationError('unsigned requests are only for the local stack: a deployed credentials API requires SigV4');
  }
  const signer = auth === 'iam' ? createSigner(host, options) : undefined;
  const fetchImplementation = options.fetch ?? globalThis.fetch;
  const sleep = options.sleep ?? ((durationMs: number) => new Promise<void>((resolve) => setTimeout(resolve, durationMs)));
  const maxAttempts = Math.max(1, options.maxAttempts ?? 3);
  const maxRetryAfterSeconds = options.maxRetryAfterSeconds ?? 5;

  async function send(
    route: CredentialsRoute,
    storeId: number,
    payload?: Record<string, unknown>,
  ): Promise<{ status: number; body: Record<string, unknown> | undefined; retryAfterSeconds?: number }> {
    const url = joinUrl(base, pathFor(route, storeId));
    const requestBody = payload === undefined ? '' : JSON.stringify(payload);
    const headers: Record<string, string> = { accept: 'application/json', ...(payload === undefined ? {} : { 'content-type': 'application/json' }) };
    if (signer !== undefined) {
      const signed = await signer.sign({
        method: route.method,
        protocol: url.protocol,
        hostname: url.hostname,
        ...(url.port === '' ? {} : { port: Number(url.port) }),
        path: url.pathname,
        query: {},
        headers: { host: url.host, ...headers },
        body: requestBody,
      });
      // fetch sends the same Host itself, from the URL that was signed.
      for (const [name, value] of Object.entries(signed.headers)) if (name.toLowerCase() !== 'host') headers[name] = value;
    }
    let response;
    try {
      response = await sendToEcwid(url, { method: route.method, headers, ...(payload === undefined ? {} : { body: requestBody }) }, { timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS, maxResponseBytes: MAX_ANSWER_BYTES, fetch: fetchImplementation });
    } catch (error) {
      const reason = error instanceof NetworkError ? error.networkError : 'invalid answer';
      throw new CredentialsApiError(`the credentials API could not be reached (${reason})`, { cause: error });
    }
    return {
      status: response.status,
      body: parseObject(response.bodyText),
      ...(response.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: response.retryAfterSeconds }),
    };
  }

  return {
    async getCredentials(storeId: number): Promise<StoreCredentials> {
      requireStoreId(storeId);
      for (let attempt = 1; ; attempt += 1) {
        let answer;
        try {
          answer = await send(CREDENTIALS_ROUTES.read, storeId);
        } catch (error) {
          if (attempt >= maxAttempts) throw error;
          await sleep(backoffMs(attempt));
          continue;
        }
        const { status, body } = answer;
        if (status === 200) return readCredentials(body, storeId);
        const failure = answerError(status, body, storeId, answer.retryAfterSeconds);
        // Worth asking again: a renewal in progress, or the service's own failure (5xx), after its Retry-After.
        const retryAfterSeconds =
          failure instanceof TokenRenewalPendingError ? failure.retryAfterSeconds : status >= 500 ? (answer.retryAfterSeconds ?? 0) : undefined;
        if (retryAfterSeconds === undefined || retryAfterSeconds > maxRetryAfterSeconds || attempt >= maxAttempts) throw failure;
        await sleep(Math.max(retryAfterSeconds * 1000, backoffMs(attempt)));
      }
    },

    async reportRejected(storeId: number): Promise<RejectionVerdict> {
      requireStoreId(storeId);
      const { status, body, retryAfterSeconds } = await send(CREDENTIALS_ROUTES.reportRejection, storeId);
      if (status === 200 && typeof body?.status === 'string' && isInstallationStatus(body.status)) return { status: body.status };
      if (status === 503 && body?.error === 'rejection_unconfirmed') {
        return { status: 'unconfirmed', reason: typeof body.reason === 'string' ? body.reason : 'unknown', retryAfterSeconds: retryAfterSeconds ?? 30 };
      }
      throw answerError(status, body, storeId, retryAfterSeconds);
    },

    async reportInsufficientScope(storeId: number): Promise<ScopeVerdict> {
      requireStoreId(storeId);
      const { status, body, retryAfterSeconds } = await send(CREDENTIALS_ROUTES.reportRejection, storeId, { ecwidError: 'INSUFFICIENT_APP_SCOPE' });
      if (status === 200 && typeof body?.status === 'string' && isInstallationStatus(body.status) && isScopeList(body.missingScopes)) {
        return { status: body.status, missingScopes: [...body.missingScopes] };
      }
      throw answerError(status, body, storeId, retryAfterSeconds);
    },
  };
}

/** The typed error for an answer that is not credentials: the same classes the direct reader throws. */
function answerError(status: number, body: Record<string, unknown> | undefined, storeId: number, retryAfterSeconds: number | undefined): Error {
  const error = typeof body?.error === 'string' ? body.error : undefined;
  if (status === 404 && error === 'not_installed') return new NotInstalledError(storeId);
  if (status === 409 && error !== undefined && isInstallationStatus(error) && !isUsableStatus(error)) {
    return new InstallationUnusableError(storeId, error as UnusableStatus, typeof body?.reason === 'string' ? body.reason : error);
  }
  if (status === 400 && error === 'invalid_store_id') return new InvalidStoreIdError();
  if (status === 503 && error === 'token_renewal_pending') {
    return new TokenRenewalPendingError('the token is being renewed', { storeId, retryAfterSeconds: retryAfterSeconds ?? 1 });
  }
  const message =
    status === 403
      ? 'the credentials API refused the caller: grant it with grantCredentialsApi (or grantCredentialsRead), and sign with its credentials'
      : `the credentials API answered ${status}${error === undefined ? '' : ` (${error})`}`;
  return new CredentialsApiError(message, { status, ...(error === undefined ? {} : { error }) });
}

/** A 200 answer, checked field by field: a caller never gets half a credential. */
function readCredentials(body: Record<string, unknown> | undefined, storeId: number): StoreCredentials {
  const valid =
    body !== undefined &&
    body.storeId === storeId &&
    typeof body.accessToken === 'string' &&
    body.accessToken !== '' &&
    body.tokenType === 'Bearer' &&
    typeof body.scope === 'string' &&
    (body.publicToken === null || typeof body.publicToken === 'string') &&
    (body.expiresAt === null || (typeof body.expiresAt === 'string' && !Number.isNaN(Date.parse(body.expiresAt)))) &&
    typeof body.status === 'string' &&
    isInstallationStatus(body.status) &&
    isUsableStatus(body.status) &&
    (body.missingScopes === undefined || isScopeList(body.missingScopes));
  if (!valid) throw new CredentialsApiError('the credentials API answered 200 without usable credentials', { status: 200 });
  // An older backend says nothing of missing scopes: none are known.
  return { ...(body as unknown as StoreCredentials), missingScopes: body.missingScopes === undefined ? [] : [...(body.missingScopes as string[])] };
}

function isScopeList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((scope) => typeof scope === 'string');
}

function createSigner(host: string, options: CredentialsApiClientOptions): SignatureV4 {
  const region = options.region ?? EXECUTE_API_HOST.exec(host)?.[1];
  if (region === undefined) {
    throw new ConfigurationError('the region of the credentials API is needed to sign requests: pass `region` (it is read from execute-api host names only)');
  }
  return new SignatureV4({ service: 'execute-api', region, credentials: options.credentials ?? defaultCredentials(), sha256: NodeSha256 });
}

/** The AWS SDK's default credential chain, loaded only when no credentials are given. */
function defaultCredentials(): AwsCredentialsProvider {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { defaultProvider } = require('@aws-sdk/credential-provider-node') as typeof import('@aws-sdk/credential-provider-node');
  return defaultProvider();
}

/** SHA-256 and HMAC-SHA-256 from node:crypto, in the shape the signer expects. */
class NodeSha256 {
  private hash: Hash | Hmac;

  constructor(private readonly secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = this.start();
  }

  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(toBuffer(data));
  }

  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }

  reset(): void {
    this.hash = this.start();
  }

  private start(): Hash | Hmac {
    return this.secret === undefined ? createHash('sha256') : createHmac('sha256', toBuffer(this.secret));
  }
}

function toBuffer(data: string | ArrayBuffer | ArrayBufferView): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

/** Every status, so that a new one is a type error here until it is listed. */
const INSTALLATION_STATUSES = {
  active: true,
  needs_attention: true,
  needs_reinstall: true,
  suspended: true,
  store_gone: true,
  uninstalled: true,
} as const satisfies Record<InstallationStatus, true>;

function isInstallationStatus(value: string): value is InstallationStatus {
  return Object.hasOwn(INSTALLATION_STATUSES, value);
}

function requireStoreId(storeId: number): void {
  if (parseStoreId(String(storeId)) !== storeId) throw new InvalidStoreIdError();
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function backoffMs(attempt: number): number {
  return Math.min(2_000, 200 * 2 ** (attempt - 1));
}
