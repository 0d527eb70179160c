import { createHash, createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ConfigurationError,
  createCredentialsApiClient,
  CredentialsApiError,
  InstallationUnusableError,
  InvalidStoreIdError,
  NotInstalledError,
  TokenRenewalPendingError,
  type CredentialsApiClientOptions,
} from '../../client';

const CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', sessionToken: 'session-token-1' };
const REGION = 'eu-west-1';

const CREDENTIALS_ANSWER = {
  storeId: 1003,
  accessToken: 'secret_abcdefabcdefabcdefabcdefabcdefab',
  tokenType: 'Bearer',
  scope: 'read_store_profile read_catalog',
  publicToken: null,
  expiresAt: null,
  status: 'active',
  missingScopes: [],
};

interface Received {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  /** Whether the SigV4 signature holds, recomputed here from what arrived (not by the signing library). */
  signatureValid: boolean | undefined;
}

type Answer = (response: ServerResponse) => void;

const json = (status: number, body: unknown, headers: Record<string, string> = {}): Answer => (response) =>
  response.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));

/**
 * Checks an AWS Signature Version 4 from first principles: the canonical request from the request as
 * it arrived, the string to sign, the derived key, the HMAC.
 *
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
 */
function verifySignature(request: IncomingMessage, body: string): boolean | undefined {
  const authorization = request.headers.authorization;
  if (authorization === undefined) return undefined;
  const match = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(authorization);
  if (match === null) return false;
  const [, accessKeyId, date, region, service, signedHeaders, signature] = match as unknown as string[];
  if (accessKeyId !== CREDENTIALS.accessKeyId || region !== REGION || service !== 'execute-api') return false;
  const amzDate = String(request.headers['x-amz-date']);
  const names = signedHeaders!.split(';');
  if (!names.includes('host') || !names.includes('x-amz-date')) return false;
  const canonicalHeaders = names.map((name) => `${name}:${String(request.headers[name]).trim()}\n`).join('');
  const url = new URL(request.url ?? '/', 'http://local.invalid');
  const canonicalRequest = [request.method, url.pathname, '', canonicalHeaders, signedHeaders, createHash('sha256').update(body).digest('hex')].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, createHash('sha256').update(canonicalRequest).digest('hex')].join('\n');
  const key = [date!, region!, service!, 'aws4_request'].reduce<Buffer>(
    (previous, part) => createHmac('sha256', previous).update(part).digest(),
    Buffer.from(`AWS4${CREDENTIALS.secretAccessKey}`),
  );
  return createHmac('sha256', key).update(stringToSign).digest('hex') === signature;
}

describe('the credentials API client, against a real HTTP server', () => {
  const received: Received[] = [];
  const script: Answer[] = [];
  let server: Server;
  let url: string;
  let sleeps: number[];

  beforeAll(async () => {
    server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        received.push({ method: request.method ?? '', path: request.url ?? '', headers: request.headers, signatureValid: verifySignature(request, body) });
        (script.shift() ?? json(200, CREDENTIALS_ANSWER))(response);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  beforeEach(() => {
    received.length = 0;
    script.length = 0;
    sleeps = [];
  });

  const client = (overrides: Partial<CredentialsApiClientOptions> = {}) =>
    createCredentialsApiClient({
      url,
      region: REGION,
      credentials: CREDENTIALS,
      timeoutMs: 1_000,
      sleep: async (durationMs) => {
        sleeps.push(durationMs);
      },
      ...overrides,
    });

  it('gets credentials with a request signed with SigV4 for execute-api', async () => {
    await expect(client().getCredentials(1003)).resolves.toEqual(CREDENTIALS_ANSWER);
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({ method: 'GET', path: '/stores/1003/credentials', signatureValid: true });
    expect(received[0]!.headers['x-amz-security-token']).toBe('session-token-1');
  });

  it('signs what it sends: a signature checked against another path does not hold', async () => {
    await client().getCredentials(1003);
    const tampered = { ...received[0]!.headers };
    expect(received[0]!.signatureValid).toBe(true);
    expect(verifySignature({ method: 'GET', url: '/stores/1004/credentials', headers: tampered } as IncomingMessage, '')).toBe(false);
  });

  it('reports a rejection with a signed POST, and reads the verdict', async () => {
    script.push(json(200, { status: 'needs_reinstall' }));
    await expect(client().reportRejected(1003)).resolves.toEqual({ status: 'needs_reinstall' });
    expect(received[0]).toMatchObject({ method: 'POST', path: '/stores/1003/credentials/rejected', signatureValid: true });
  });

  it('reads an unconfirmed rejection as a verdict with its Retry-After', async () => {
    script.push(json(503, { error: 'rejection_unconfirmed', reason: 'rate_limited', reference: 'r' }, { 'retry-after': '42' }));
    await expect(client().reportRejected(1003)).resolves.toEqual({ status: 'unconfirmed', reason: 'rate_limited', retryAfterSeconds: 42 });
    expect(received).toHaveLength(1);
  });

  it('sends a report once, even when it fails', async () => {
    script.push(json(500, { error: 'internal', reference: 'r' }));
    await expect(client().reportRejected(1003)).rejects.toBeInstanceOf(CredentialsApiError);
    expect(received).toHaveLength(1);
  });

  it.each([
    [json(404, { error: 'not_installed' }), NotInstalledError, {}],
    [json(409, { error: 'needs_reinstall', reason: 'INVALID_API_TOKEN' }), InstallationUnusableError, { status: 'needs_reinstall', reason: 'INVALID_API_TOKEN' }],
    [json(409, { error: 'suspended', reason: 'STORE_IS_SUSPENDED' }), InstallationUnusableError, { status: 'suspended' }],
    [json(400, { error: 'invalid_store_id' }), InvalidStoreIdError, {}],
    [json(403, { message: 'Forbidden' }), CredentialsApiError, { status: 403, message: expect.stringContaining('grantCredentialsApi') }],
    [json(404, { message: 'Not Found' }), CredentialsApiError, { status: 404 }],
    [json(200, { ...CREDENTIALS_ANSWER, storeId: 1004 }), CredentialsApiError, { status: 200 }],
    [json(200, { ...CREDENTIALS_ANSWER, status: 'needs_reinstall' }), CredentialsApiError, { status: 200 }],
    [json(200, { ...CREDENTIALS_ANSWER, accessToken: 7 }), CredentialsApiError, { status: 200 }],
  ] as const)('turns %# into the same typed error the direct reader throws', async (answer, type, fields) => {
    script.push(answer);
    const failure = await client({ maxAttempts: 1 }).getCredentials(1003).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(type);
    expect(failure).toMatchObject(fields);
  });

  it('waits out a short "renewal pending" and asks again', async () => {
    script.push(json(503, { error: 'token_renewal_pending', reference: 'r' }, { 'retry-after': '1' }));
    await expect(client().getCredentials(1003)).resolves.toEqual(CREDENTIALS_ANSWER);
    expect(sleeps).toEqual([1_000]);
    expect(received).toHaveLength(2);
  });

  it('passes on a long "renewal pending" as its typed error', async () => {
    script.push(json(503, { error: 'token_renewal_pending', reference: 'r' }, { 'retry-after': '60' }));
    const failure = await client().getCredentials(1003).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(TokenRenewalPendingError);
    expect(failure).toMatchObject({ retryAfterSeconds: 60 });
    expect(received).toHaveLength(1);
  });

  it('retries a read after a 5xx or a broken connection, a bounded number of times', async () => {
    script.push(json(502, { error: 'ecwid_unavailable', reference: 'r' }), (response) => response.socket?.destroy());
    await expect(client().getCredentials(1003)).resolves.toEqual(CREDENTIALS_ANSWER);
    expect(received).toHaveLength(3);

    received.length = 0;
    script.push(...Array.from({ length: 3 }, () => json(503, { error: 'storage_unavailable', reference: 'r' })));
    const failure = await client({ maxAttempts: 3 }).getCredentials(1003).catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 'CREDENTIALS_API_UNAVAILABLE', status: 503, error: 'storage_unavailable' });
    expect(received).toHaveLength(3);
  });

  it('times out a request that gets no answer', async () => {
    script.push(() => undefined);
    const failure = await client({ timeoutMs: 200, maxAttempts: 1 }).getCredentials(1003).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(CredentialsApiError);
  });

  it('sends nothing unsigned, unless told so for a loopback URL', async () => {
    await client({ auth: 'none' }).getCredentials(1003);
    expect(received[0]!.headers.authorization).toBeUndefined();
    expect(() => createCredentialsApiClient({ url: 'https://abc123.execute-api.eu-west-1.amazonaws.com', auth: 'none' })).toThrow(ConfigurationError);
  });

  it('reads the region from an execute-api host name, and needs it given otherwise', async () => {
    let authorization: string | null = null;
    const recording: typeof fetch = async (_input, init) => {
      authorization = new Headers(init?.headers).get('authorization');
      return new Response(JSON.stringify(CREDENTIALS_ANSWER), { status: 200, headers: { 'content-type': 'application/json' } });
    };
    await createCredentialsApiClient({ url: 'https://abc123.execute-api.eu-central-1.amazonaws.com', credentials: CREDENTIALS, fetch: recording }).getCredentials(1003);
    expect(authorization).toMatch(/Credential=AKIDEXAMPLE\/\d{8}\/eu-central-1\/execute-api\/aws4_request/);
    expect(() => createCredentialsApiClient({ url: 'https://auth.example.com', credentials: CREDENTIALS })).toThrow(/region/);
  });

  it('refuses a URL that is not https, and a store id that is not a positive integer', async () => {
    expect(() => createCredentialsApiClient({ url: 'http://auth.example.com', region: REGION })).toThrow(ConfigurationError);
    await expect(client().getCredentials(-3)).rejects.toBeInstanceOf(InvalidStoreIdError);
    await expect(client().reportRejected(1.5)).rejects.toBeInstanceOf(InvalidStoreIdError);
    expect(received).toHaveLength(0);
  });
});
