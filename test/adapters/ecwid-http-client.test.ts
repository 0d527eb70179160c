import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EcwidHttpClient } from '../../functions/adapters/ecwid-http-client';
import { TokenExchangeError } from '../../functions/core/errors';

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

async function failure(promise: Promise<unknown>): Promise<TokenExchangeError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof TokenExchangeError) return error;
    throw error;
  }
  throw new Error('expected a failure');
}

describe('EcwidHttpClient.exchangeCode', () => {
  it('posts all five parameters form-encoded to the token path of the store', async () => {
    respond = json(200, { access_token: 'secret_abc', token_type: 'Bearer', scope: 'read_store_profile', store_id: 42 });
    const client = new EcwidHttpClient({ oauthBaseUrl: baseUrl, apiBaseUrl: baseUrl, timeoutMs: 2_000 });
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
    await new EcwidHttpClient({ oauthBaseUrl: baseUrl, apiBaseUrl: baseUrl, timeoutMs: 2_000 }).exchangeCode(exchange);
    expect(received[0]!.url).toBe('/ecwid/api/oauth/token');
  });

  it('reports a slow server as a timeout, sending the request once', async () => {
    respond = () => undefined;
    const error = await failure(new EcwidHttpClient({ oauthBaseUrl: baseUrl, apiBaseUrl: baseUrl, timeoutMs: 200 }).exchangeCode(exchange));
    expect(error.code).toBe('ECWID_TIMEOUT');
    expect(error.mayHaveReachedServer).toBe(true);
    expect(received).toHaveLength(1);
  });

  it('reports a body that stops arriving as a timeout', async () => {
    respond = (_request, _body, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write('{"access_token":');
    };
    const error = await failure(new EcwidHttpClient({ oauthBaseUrl: baseUrl, apiBaseUrl: baseUrl, timeoutMs: 300 }).exchangeCode(exchange));
    expect(error.code).toBe('ECWID_TIMEOUT');
  });

  it('reports a connection closed mid-request as unavailable, since the code may have arrived', async () => {
    respond = (request) => request.socket.destroy();
    const error = await failure(new EcwidHttpClient({ oauthBaseUrl: baseUrl, apiBaseUrl: baseUrl, timeoutMs: 2_000 }).exchangeCode(exchange));
    expect(error.code).toBe('ECWID_UNAVAILABLE');
    expect(error.mayHaveReachedServer).toBe(true);
  });

  it('reports a refused connection as unreachable: the code never left', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const client = new EcwidHttpClient({ oauthBaseUrl: `http://127.0.0.1:${port}`, apiBaseUrl: baseUrl, timeoutMs: 2_000 });
    const error = await failure(client.exchangeCode(exchange));
    expect(error.code).toBe('ECWID_UNREACHABLE');
    expect(error.mayHaveReachedServer).toBe(false);
  });

  it('refuses an answer larger than any token response', async () => {
    respond = (_request, _body, response) => {
      response.writeHead(200, { 'content-type': 'application/json' }).end(`"${'x'.repeat(70_000)}"`);
    };
    const error = await failure(new EcwidHttpClient({ oauthBaseUrl: baseUrl, apiBaseUrl: baseUrl, timeoutMs: 2_000 }).exchangeCode(exchange));
    expect(error.code).toBe('ECWID_INVALID_RESPONSE');
  });

  it('does not follow a redirect with the secret in the body', async () => {
    respond = (_request, _body, response) => {
      response.writeHead(307, { location: `${baseUrl}/elsewhere` }).end();
    };
    const error = await failure(new EcwidHttpClient({ oauthBaseUrl: baseUrl, apiBaseUrl: baseUrl, timeoutMs: 2_000 }).exchangeCode(exchange));
    expect(error.code).toBe('ECWID_UNAVAILABLE');
    expect(received).toHaveLength(1);
  });

  it('passes a rejection through the strict validation', async () => {
    respond = json(400, { error: 'invalid_grant' });
    const error = await failure(new EcwidHttpClient({ oauthBaseUrl: baseUrl, apiBaseUrl: baseUrl, timeoutMs: 2_000 }).exchangeCode(exchange));
    expect(error.code).toBe('CODE_REJECTED');
    expect(`${error.message}${JSON.stringify(error.detail)}`).not.toMatch(/csecret|the-code/);
  });
});
