import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseRetryAfter } from '../../functions/adapters/ecwid/http';
import { EcwidOAuthClient } from '../../functions/adapters/ecwid/oauth-client';
import { EcwidAppSubscriptionReader } from '../../functions/adapters/ecwid/app-subscription-reader';
import { EcwidProfileVerifier } from '../../functions/adapters/ecwid/profile-verifier';
import { EcwidRequestError, RateLimitedError } from '../../functions/core/errors';
import { rejectionOf } from '../support/rejections';

type Responder = (request: IncomingMessage, body: string, response: ServerResponse) => void;

let server: Server;
let baseUrl: string;
let respond: Responder;
const received: Array<{ method: string; url: string; contentType: string | undefined; body: string }> = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      received.push({ method: request.method!, url: request.url!, contentType: request.headers['content-type'], body });
      respond(request, body, response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ecwid`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  received.length = 0;
});

const exchange = { code: 'the-code', redirectUri: 'https://app.example/callback', clientId: 'cid', clientSecret: 'csecret' };
const json = (status: number, body: unknown): Responder => (_request, _body, response) => {
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
};

describe('EcwidOAuthClient.exchangeCode', () => {
  it('posts all five parameters form-encoded to the token path of the store', async () => {
    respond = json(200, { access_token: 'secret_abc', token_type: 'Bearer', scope: 'read_store_profile', store_id: 42 });
    const client = new EcwidOAuthClient({ oauthBaseUrl: baseUrl, timeoutMs: 2_000 });
    await expect(client.exchangeCode({ ...exchange, storeId: 42 })).resolves.toEqual({
      accessToken: 'secret_abc',
      scope: 'read_store_profile',
      storeId: 42,
    });
    expect(received).toHaveLength(1);
    expect(received[0]!.method).toBe('POST');
    expect(received[0]!.url).toBe('/ecwid/api/oauth/token/42');
    expect(received[0]!.contentType).toBe('application/x-www-form-urlencoded');
    expect(Object.fromEntries(new URLSearchParams(received[0]!.body))).toEqual({
      client_id: 'cid',
      client_secret: 'csecret',
      code: 'the-code',
      redirect_uri: 'https://app.example/callback',
      grant_type: 'authorization_code',
    });
  });

  it('uses the path without a store id when the redirect named none', async () => {
    respond = json(200, { access_token: 'secret_abc', token_type: 'bearer', scope: '', store_id: 42 });
    await new EcwidOAuthClient({ oauthBaseUrl: baseUrl, timeoutMs: 2_000 }).exchangeCode(exchange);
    expect(received[0]!.url).toBe('/ecwid/api/oauth/token');
  });

  it('reports a slow server as a timeout, sending the request once', async () => {
    respond = () => undefined;
    const error = await rejectionOf(new EcwidOAuthClient({ oauthBaseUrl: baseUrl, timeoutMs: 200 }).exchangeCode(exchange), EcwidRequestError);
    expect(error.code).toBe('ECWID_TIMEOUT');
    expect(error.mayHaveReachedServer).toBe(true);
    expect(received).toHaveLength(1);
  });

  it('reports a body that stops arriving as a timeout', async () => {
    respond = (_request, _body, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write('{"access_token":');
    };
    const error = await rejectionOf(new EcwidOAuthClient({ oauthBaseUrl: baseUrl, timeoutMs: 300 }).exchangeCode(exchange), EcwidRequestError);
    expect(error.code).toBe('ECWID_TIMEOUT');
  });

  it('reports a connection closed mid-request as unavailable, since the code may have arrived', async () => {
    respond = (request) => request.socket.destroy();
    const error = await rejectionOf(new EcwidOAuthClient({ oauthBaseUrl: baseUrl, timeoutMs: 2_000 }).exchangeCode(exchange), EcwidRequestError);
    expect(error.code).toBe('ECWID_UNAVAILABLE');
    expect(error.mayHaveReachedServer).toBe(true);
  });

  it('reports a TCP reset after the server read the request (ECONNRESET) as unavailable, never as "not sent"', async () => {
    respond = (request) => request.socket.resetAndDestroy();
    const error = await rejectionOf(new EcwidOAuthClient({ oauthBaseUrl: baseUrl, timeoutMs: 2_000 }).exchangeCode(exchange), EcwidRequestError);
    // The reset really reached the client as ECONNRESET, not as another error that a test could confuse with it.
    expect(error.detail).toMatchObject({ networkError: 'ECONNRESET' });
    expect(error.code).toBe('ECWID_UNAVAILABLE');
    expect(error.mayHaveReachedServer).toBe(true);
    expect(received).toHaveLength(1);
    expect(new URLSearchParams(received[0]!.body).get('code')).toBe('the-code');
  });

  it('reports a refused connection as unreachable: the code never left', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const client = new EcwidOAuthClient({ oauthBaseUrl: `http://127.0.0.1:${port}`, timeoutMs: 2_000 });
    const error = await rejectionOf(client.exchangeCode(exchange), EcwidRequestError);
    expect(error.code).toBe('ECWID_UNREACHABLE');
    expect(error.mayHaveReachedServer).toBe(false);
  });

  it('refuses an answer larger than any token response', async () => {
    respond = (_request, _body, response) => {
      response.writeHead(200, { 'content-type': 'application/json' }).end(`"${'x'.repeat(70_000)}"`);
    };
    const error = await rejectionOf(new EcwidOAuthClient({ oauthBaseUrl: baseUrl, timeoutMs: 2_000 }).exchangeCode(exchange), EcwidRequestError);
    expect(error.code).toBe('ECWID_INVALID_RESPONSE');
  });

  it('does not follow a redirect with the secret in the body', async () => {
    respond = (_request, _body, response) => {
      response.writeHead(307, { location: `${baseUrl}/elsewhere` }).end();
    };
    const error = await rejectionOf(new EcwidOAuthClient({ oauthBaseUrl: baseUrl, timeoutMs: 2_000 }).exchangeCode(exchange), EcwidRequestError);
    expect(error.code).toBe('ECWID_UNAVAILABLE');
    expect(received).toHaveLength(1);
  });

  it('passes a rejection through the strict validation', async () => {
    respond = json(400, { error: 'invalid_grant' });
    const error = await rejectionOf(new EcwidOAuthClient({ oauthBaseUrl: baseUrl, timeoutMs: 2_000 }).exchangeCode(exchange), EcwidRequestError);
    expect(error.code).toBe('CODE_REJECTED');
    expect(`${error.message}${JSON.stringify(error.detail)}`).not.toMatch(/csecret|the-code/);
  });
});

describe('EcwidOAuthClient.refreshToken', () => {
  it('posts the refresh grant form-encoded to the token path of the store', async () => {
    respond = json(200, { access_token: 'new_access', token_type: 'Bearer', expires_in: 3600, refresh_token: 'rotated' });
    const client = new EcwidOAuthClient({ oauthBaseUrl: baseUrl, timeoutMs: 2_000 });
    await expect(client.refreshToken({ storeId: 42, refreshToken: 'old_refresh', clientId: 'cid', clientSecret: 'csecret' })).resolves.toEqual({
      accessToken: 'new_access',
      scope: '',
      storeId: 42,
      expiresInSeconds: 3600,
      refreshToken: 'rotated',
    });
    expect(received[0]!.url).toBe('/ecwid/api/oauth/token/42');
    expect(received[0]!.contentType).toBe('application/x-www-form-urlencoded');
    expect(Object.fromEntries(new URLSearchParams(received[0]!.body))).toEqual({
      client_id: 'cid',
      client_secret: 'csecret',
      refresh_token: 'old_refresh',
      grant_type: 'refresh_token',
    });
  });

  it('passes Retry-After on to a rate-limited refresh', async () => {
    respond = (_request, _body, response) => {
      response.writeHead(429, { 'retry-after': '17', 'content-type': 'application/json' }).end('{}');
    };
    const client = new EcwidOAuthClient({ oauthBaseUrl: baseUrl, timeoutMs: 2_000 });
    const error = await rejectionOf(client.refreshToken({ storeId: 42, refreshToken: 'r', clientId: 'c', clientSecret: 's' }), RateLimitedError);
    expect(error.code).toBe('ECWID_RATE_LIMITED');
    expect(error.retryAfterSeconds).toBe(17);
  });
});

describe('EcwidProfileVerifier.verifyToken', () => {
  it('asks for the profile with the token in the Authorization header only', async () => {
    const headers: Array<string | undefined> = [];
    respond = (request, _body, response) => {
      headers.push(request.headers.authorization);
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ generalInfo: { storeId: 42 } }));
    };
    const client = new EcwidProfileVerifier({ apiBaseUrl: baseUrl, timeoutMs: 2_000 });
    await expect(client.verifyToken({ storeId: 42, accessToken: 'secret_token' })).resolves.toEqual({ outcome: 'valid' });
    expect(received[0]!.method).toBe('GET');
    const url = new URL(received[0]!.url, 'http://x');
    expect(url.pathname).toBe('/ecwid/api/v3/42/profile');
    expect(Object.fromEntries(url.searchParams)).toEqual({ responseFields: 'generalInfo(storeId)' });
    expect(headers).toEqual(['Bearer secret_token']);
  });

  it('reports a timeout or a refused connection as a passing failure, never throwing', async () => {
    respond = () => undefined;
    const slow = new EcwidProfileVerifier({ apiBaseUrl: baseUrl, timeoutMs: 200 });
    await expect(slow.verifyToken({ storeId: 42, accessToken: 't' })).resolves.toEqual({ outcome: 'failed', reason: 'timeout' });
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const unreachable = new EcwidProfileVerifier({ apiBaseUrl: `http://127.0.0.1:${port}`, timeoutMs: 2_000 });
    await expect(unreachable.verifyToken({ storeId: 42, accessToken: 't' })).resolves.toEqual({ outcome: 'failed', reason: 'econnrefused' });
  });
});

describe('EcwidAppSubscriptionReader.readAppSubscription', () => {
  it("asks for the app's status in the store with the token in the Authorization header only, and reads its subscription", async () => {
    const headers: Array<string | undefined> = [];
    respond = (request, _body, response) => {
      headers.push(request.headers.authorization);
      response
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ subscriptionStatus: 'TRIAL', subscription: { status: 'TRIAL', startDate: '2026-11-01 00:00:00 +0000', expirationDate: '2026-12-01 00:00:00 +0000' } }));
    };
    const reader = new EcwidAppSubscriptionReader({ apiBaseUrl: baseUrl, timeoutMs: 2_000 });
    await expect(reader.readAppSubscription({ storeId: 42, accessToken: 'secret_token' })).resolves.toEqual({ outcome: 'found', subscriptionStatus: 'TRIAL' });
    expect(received[0]!.method).toBe('GET');
    expect(received[0]!.url).toBe('/ecwid/api/v3/42/application');
    expect(headers).toEqual(['Bearer secret_token']);
  });

  it('reports a 429, a 5xx, a timeout or a refused connection as unavailable (asked again later), never throwing', async () => {
    const reader = (timeoutMs = 2_000, apiBaseUrl = baseUrl) => new EcwidAppSubscriptionReader({ apiBaseUrl, timeoutMs });
    respond = (_request, _body, response) => response.writeHead(429, { 'retry-after': '7' }).end(JSON.stringify({ errorCode: 'RATE_LIMITED' }));
    await expect(reader().readAppSubscription({ storeId: 42, accessToken: 't' })).resolves.toEqual({ outcome: 'unavailable', reason: 'rate_limited', retryAfterSeconds: 7 });
    respond = json(500, { errorMessage: 'boom', errorCode: 'INTERNAL_ERROR' });
    await expect(reader().readAppSubscription({ storeId: 42, accessToken: 't' })).resolves.toEqual({ outcome: 'unavailable', reason: 'INTERNAL_ERROR' });
    respond = () => undefined;
    await expect(reader(200).readAppSubscription({ storeId: 42, accessToken: 't' })).resolves.toEqual({ outcome: 'unavailable', reason: 'timeout' });
    await expect(reader(200).readAppSubscription({ storeId: 42, accessToken: 't', timeoutMs: 100 })).resolves.toEqual({ outcome: 'unavailable', reason: 'timeout' });
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    await expect(reader(2_000, `http://127.0.0.1:${port}`).readAppSubscription({ storeId: 42, accessToken: 't' })).resolves.toEqual({
      outcome: 'unavailable',
      reason: 'econnrefused',
    });
  });

  it("reports Ecwid's refusal of the token as refused: nothing to record, nothing to ask again", async () => {
    respond = json(403, { errorMessage: 'Invalid token', errorCode: 'INVALID_API_TOKEN' });
    await expect(new EcwidAppSubscriptionReader({ apiBaseUrl: baseUrl, timeoutMs: 2_000 }).readAppSubscription({ storeId: 42, accessToken: 't' })).resolves.toEqual({
      outcome: 'refused',
      reason: 'INVALID_API_TOKEN',
    });
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates, and nothing else', () => {
    expect(parseRetryAfter('120')).toBe(120);
    expect(parseRetryAfter('Thu, 26 Nov 2026 12:00:30 GMT', Date.UTC(2026, 10, 26, 12, 0, 0))).toBe(30);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
  });
});
