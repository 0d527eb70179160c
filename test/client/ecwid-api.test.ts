import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ConfigurationError,
  createEcwidApi,
  EcwidApiError,
  EcwidRequestError,
  InsufficientScopeError,
  InvalidStoreIdError,
  NetworkError,
  NotInstalledError,
  RateLimitedError,
  TokenRejectedError,
  type CredentialsSource,
  type RejectionVerdict,
  type ScopeVerdict,
  type StoreCredentials,
} from '../../client';

interface Received {
  method: string;
  url: string;
  authorization: string | undefined;
  contentType: string | undefined;
  body: string;
}

type Answer = (request: IncomingMessage, response: ServerResponse) => void;

/** A real HTTP server standing in for Ecwid's REST API, answering from a script (then 200 `{"ok":true}`). */
class ScriptedServer {
  readonly received: Received[] = [];
  private readonly script: Answer[] = [];
  private server!: Server;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        this.received.push({
          method: request.method ?? '',
          url: request.url ?? '',
          authorization: request.headers.authorization,
          contentType: request.headers['content-type'],
          body: Buffer.concat(chunks).toString('utf8'),
        });
        const answer = this.script.shift() ?? json(200, { ok: true });
        answer(request, response);
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  reset(): void {
    this.received.length = 0;
    this.script.length = 0;
  }

  answer(...answers: Answer[]): this {
    this.script.push(...answers);
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Answer {
  return (_request, response) => {
    response.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
  };
}

const ecwidError = (status: number, errorCode: string, errorMessage = 'error', headers: Record<string, string> = {}) =>
  json(status, { errorCode, errorMessage }, headers);

const hangUp: Answer = (request) => request.socket.destroy();
const neverAnswer: Answer = () => undefined;

/** A credentials source in memory: one token per store, a scripted verdict per report. */
class FakeCredentials implements CredentialsSource {
  readonly reports: number[] = [];
  readonly scopeReports: number[] = [];
  scopeVerdict: ScopeVerdict | Error = { status: 'active', missingScopes: ['read_catalog'] };
  tokens = new Map<number, string>([[1003, 'secret_first_token_aaaaaaaaaaaaaaaa']]);
  verdict: RejectionVerdict | Error = { status: 'needs_reinstall' };
  /** The token to hold after a report (a reinstall the backend knows of). */
  tokenAfterReport: string | undefined;

  async getCredentials(storeId: number): Promise<StoreCredentials> {
    const accessToken = this.tokens.get(storeId);
    if (accessToken === undefined) throw new NotInstalledError(storeId);
    return { storeId, accessToken, tokenType: 'Bearer', scope: 'read_store_profile', publicToken: null, expiresAt: null, status: 'active', missingScopes: [] };
  }

  async reportInsufficientScope(storeId: number): Promise<ScopeVerdict> {
    this.scopeReports.push(storeId);
    if (this.scopeVerdict instanceof Error) throw this.scopeVerdict;
    return this.scopeVerdict;
  }

  async reportRejected(storeId: number): Promise<RejectionVerdict> {
    this.reports.push(storeId);
    if (this.tokenAfterReport !== undefined) this.tokens.set(storeId, this.tokenAfterReport);
    if (this.verdict instanceof Error) throw this.verdict;
    return this.verdict;
  }
}

describe('the Ecwid REST API client, against a real HTTP server', () => {
  const server = new ScriptedServer();
  let credentials: FakeCredentials;
  let sleeps: number[];

  beforeAll(() => server.start());
  afterAll(() => server.stop());
  beforeEach(() => {
    server.reset();
    credentials = new FakeCredentials();
    sleeps = [];
  });

  const api = (overrides: Partial<Parameters<typeof createEcwidApi>[0]> = {}) =>
    createEcwidApi({
      credentials,
      apiUrl: server.url,
      timeoutMs: 1_000,
      sleep: async (durationMs) => {
        sleeps.push(durationMs);
      },
      random: () => 0.5,
      ...overrides,
    });

  async function failureOf(promise: Promise<unknown>): Promise<Error> {
    try {
      await promise;
    } catch (error) {
      return error as Error;
    }
    throw new Error('expected a failure');
  }

  it("sends the store's token in the Authorization header and reads the JSON answer", async () => {
    server.answer(json(200, { total: 1, items: [{ id: 7 }] }));
    const answer = await api().request(1003, 'GET', 'products', { query: { limit: 2, keyword: 'a b', unused: undefined } });
    expect(answer).toEqual({ total: 1, items: [{ id: 7 }] });
    expect(server.received).toEqual([
      { method: 'GET', url: '/api/v3/1003/products?limit=2&keyword=a+b', authorization: 'Bearer secret_first_token_aaaaaaaaaaaaaaaa', contentType: undefined, body: '' },
    ]);
  });

  it('sends a body as JSON', async () => {
    await api().request(1003, 'POST', '/orders', { body: { email: 'a@example.com' } });
    expect(server.received[0]).toMatchObject({ method: 'POST', url: '/api/v3/1003/orders', contentType: 'application/json', body: '{"email":"a@example.com"}' });
  });

  it('resolves to undefined for an empty answer', async () => {
    server.answer((_request, response) => response.writeHead(204).end());
    await expect(api().request(1003, 'DELETE', 'products/7')).resolves.toBeUndefined();
  });

  describe('429', () => {
    it('waits out Retry-After and sends the request again', async () => {
      server.answer(ecwidError(429, 'RATE_LIMITED', 'Too many requests', { 'retry-after': '2' }));
      await expect(api().request(1003, 'POST', 'orders', { body: {} })).resolves.toEqual({ ok: true });
      expect(sleeps).toEqual([2_000]);
      expect(server.received).toHaveLength(2);
    });

    it('gives up after the bounded number of waits, with a typed error carrying Retry-After', async () => {
      server.answer(...Array.from({ length: 3 }, () => ecwidError(429, 'RATE_LIMITED', 'Too many requests', { 'retry-after': '3' })));
      const failure = await failureOf(api({ rateLimitRetries: 2 }).request(1003, 'GET', 'products'));
      expect(failure).toBeInstanceOf(RateLimitedError);
      expect(failure).toMatchObject({ code: 'ECWID_RATE_LIMITED', retryAfterSeconds: 3 });
      expect(sleeps).toEqual([3_000, 3_000]);
      expect(server.received).toHaveLength(3);
    });

    it('does not wait out a Retry-After longer than allowed', async () => {
      server.answer(ecwidError(429, 'RATE_LIMITED', 'Too many requests', { 'retry-after': '120' }));
      const failure = await failureOf(api({ maxRetryAfterSeconds: 10 }).request(1003, 'GET', 'products'));
      expect(failure).toMatchObject({ code: 'ECWID_RATE_LIMITED', retryAfterSeconds: 120 });
      expect(sleeps).toEqual([]);
      expect(server.received).toHaveLength(1);
    });
  });

  describe('5xx and network errors', () => {
    it('retries an idempotent request with growing waits, then succeeds', async () => {
      server.answer(ecwidError(500, 'INTERNAL_ERROR'), ecwidError(503, 'INTERNAL_ERROR'));
      await expect(api().request(1003, 'GET', 'products')).resolves.toEqual({ ok: true });
      expect(server.received).toHaveLength(3);
      expect(sleeps).toEqual([Math.round(250 * 0.75), Math.round(500 * 0.75)]);
    });

    it('stops after the last attempt with ECWID_UNAVAILABLE', async () => {
      server.answer(...Array.from({ length: 3 }, () => ecwidError(502, 'INTERNAL_ERROR')));
      const failure = await failureOf(api({ maxAttempts: 3 }).request(1003, 'PUT', 'products/7', { body: { price: 1 } }));
      expect(failure).toBeInstanceOf(EcwidRequestError);
      expect(failure).toMatchObject({ code: 'ECWID_UNAVAILABLE' });
      expect(server.received).toHaveLength(3);
    });

    it('never sends a POST twice after a 5xx', async () => {
      server.answer(ecwidError(500, 'INTERNAL_ERROR'));
      const failure = await failureOf(api().request(1003, 'POST', 'orders', { body: {} }));
      expect(failure).toMatchObject({ code: 'ECWID_UNAVAILABLE' });
      expect(server.received).toHaveLength(1);
    });

    it('retries a GET whose connection broke, but not a POST', async () => {
      server.answer(hangUp);
      await expect(api().request(1003, 'GET', 'products')).resolves.toEqual({ ok: true });
      expect(server.received).toHaveLength(2);

      server.received.length = 0;
      server.answer(hangUp);
      const failure = await failureOf(api().request(1003, 'PATCH', 'products/7', { body: {} }));
      expect(failure).toBeInstanceOf(NetworkError);
      expect(server.received).toHaveLength(1);
    });

    it('times out every request', async () => {
      server.answer(neverAnswer);
      const startedAt = Date.now();
      const failure = await failureOf(api({ timeoutMs: 200 }).request(1003, 'POST', 'orders', { body: {} }));
      expect(failure).toMatchObject({ code: 'ECWID_TIMEOUT' });
      expect(Date.now() - startedAt).toBeLessThan(2_000);
    });
  });

  describe('403', () => {
    it('INVALID_API_TOKEN: reports the rejection, then raises a typed error with the verdict', async () => {
      server.answer(ecwidError(403, 'INVALID_API_TOKEN', 'Invalid token'));
      const failure = await failureOf(api().request(1003, 'GET', 'products'));
      expect(failure).toBeInstanceOf(TokenRejectedError);
      expect(failure).toMatchObject({ code: 'ECWID_TOKEN_REJECTED', storeId: 1003, verdict: { status: 'needs_reinstall' } });
      expect(credentials.reports).toEqual([1003]);
      expect(server.received).toHaveLength(1);
      expect(JSON.stringify({ ...failure, message: failure.message })).not.toContain('secret_first_token');
    });

    it('INVALID_API_TOKEN: sends the request once more when the backend holds a newer token that works', async () => {
      credentials.verdict = { status: 'active' };
      credentials.tokenAfterReport = 'secret_reinstalled_token_bbbbbbbbbbb';
      server.answer(ecwidError(403, 'INVALID_API_TOKEN'));
      await expect(api().request(1003, 'GET', 'products')).resolves.toEqual({ ok: true });
      expect(server.received.map((request) => request.authorization)).toEqual([
        'Bearer secret_first_token_aaaaaaaaaaaaaaaa',
        'Bearer secret_reinstalled_token_bbbbbbbbbbb',
      ]);
    });

    it('INVALID_API_TOKEN: does not loop when the backend finds the same token working', async () => {
      credentials.verdict = { status: 'active' };
      server.answer(ecwidError(403, 'INVALID_API_TOKEN'), ecwidError(403, 'INVALID_API_TOKEN'));
      const failure = await failureOf(api().request(1003, 'GET', 'products'));
      expect(failure).toMatchObject({ code: 'ECWID_TOKEN_REJECTED', verdict: { status: 'active' } });
      expect(server.received).toHaveLength(1);
    });

    it('INVALID_API_TOKEN: still raises the typed error when the report itself fails', async () => {
      credentials.verdict = new Error('the credentials API is down');
      server.answer(ecwidError(403, 'INVALID_API_TOKEN'));
      const failure = await failureOf(api().request(1003, 'GET', 'products'));
      expect(failure).toMatchObject({ code: 'ECWID_TOKEN_REJECTED', verdict: undefined });
      expect((failure as TokenRejectedError).cause).toBeInstanceOf(Error);
    });

    it('INSUFFICIENT_APP_SCOPE: reported (the backend recomputes the gap), then a typed error of its own with its verdict', async () => {
      server.answer(ecwidError(403, 'INSUFFICIENT_APP_SCOPE', 'read_catalog scope is required'));
      const failure = await failureOf(api().request(1003, 'GET', 'products'));
      expect(failure).toBeInstanceOf(InsufficientScopeError);
      expect(failure).toMatchObject({
        code: 'ECWID_SCOPE_INSUFFICIENT',
        grantedScope: 'read_store_profile',
        ecwidMessage: 'read_catalog scope is required',
        verdict: { status: 'active', missingScopes: ['read_catalog'] },
      });
      expect(credentials.scopeReports).toEqual([1003]);
      expect(credentials.reports).toEqual([]);
    });

    it('INSUFFICIENT_APP_SCOPE whose report fails: still the typed error, the report failure as its cause', async () => {
      server.answer(ecwidError(403, 'INSUFFICIENT_APP_SCOPE', 'read_orders scope is required'));
      credentials.scopeVerdict = new Error('credentials API down');
      const failure = await failureOf(api().request(1003, 'GET', 'orders'));
      expect(failure).toBeInstanceOf(InsufficientScopeError);
      expect((failure as InsufficientScopeError).verdict).toBeUndefined();
      expect((failure as InsufficientScopeError).cause).toMatchObject({ message: 'credentials API down' });
    });
  });

  it('raises any other 4xx as an EcwidApiError with Ecwid’s code', async () => {
    server.answer(ecwidError(404, 'PRODUCT_NOT_FOUND', 'Product not found'));
    const failure = await failureOf(api().request(1003, 'GET', 'products/404'));
    expect(failure).toBeInstanceOf(EcwidApiError);
    expect(failure).toMatchObject({ status: 404, ecwidErrorCode: 'PRODUCT_NOT_FOUND', ecwidMessage: 'Product not found' });
    expect(server.received).toHaveLength(1);
  });

  it('never follows a redirect with the token', async () => {
    server.answer((_request, response) => response.writeHead(302, { location: `${server.url}/elsewhere` }).end());
    const failure = await failureOf(api().request(1003, 'GET', 'products'));
    expect(failure).toMatchObject({ status: 302 });
    expect(server.received.map((request) => request.url)).toEqual(['/api/v3/1003/products']);
  });

  it('refuses an answer that is not JSON', async () => {
    server.answer((_request, response) => response.writeHead(200, { 'content-type': 'text/html' }).end('<html></html>'));
    await expect(api().request(1003, 'GET', 'products')).rejects.toMatchObject({ code: 'ECWID_INVALID_RESPONSE' });
  });

  it.each(['../1004/products', 'products?limit=1', 'products/../../1004', 'a//b', '%2e%2e/1004', 'products#x', ''])(
    'refuses the path %j before sending anything',
    async (path) => {
      await expect(api().request(1003, 'GET', path)).rejects.toBeInstanceOf(ConfigurationError);
      expect(server.received).toHaveLength(0);
    },
  );

  it('refuses a store id that is not a positive integer, and passes on what the credentials say', async () => {
    await expect(api().request(0, 'GET', 'products')).rejects.toBeInstanceOf(InvalidStoreIdError);
    await expect(api().request(42, 'GET', 'products')).rejects.toBeInstanceOf(NotInstalledError);
    expect(server.received).toHaveLength(0);
  });

  it('refuses an API URL that is not https', () => {
    expect(() => createEcwidApi({ credentials, apiUrl: 'http://app.ecwid.com' })).toThrow(ConfigurationError);
  });
});
