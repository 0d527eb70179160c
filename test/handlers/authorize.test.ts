import { createAuthorizeHandler } from '../../functions/authorize/handler';
import { ConfigurationError, StorageError } from '../../functions/core/errors';
import { getEvent, handlerHarness, lambdaContext, type Result } from '../support/handler-harness';

describe('GET /authorize', () => {
  it('redirects to the consent page and binds the state to the browser with a __Host- cookie', async () => {
    const { authorizeDeps: deps, logs } = handlerHarness();
    const handler = createAuthorizeHandler(() => deps, logs.log);
    const result = (await handler(getEvent('/authorize'), lambdaContext)) as Result;

    expect(result.statusCode).toBe(302);
    const location = new URL(result.headers.location!);
    expect(`${location.origin}${location.pathname}`).toBe('https://my.ecwid.example/api/oauth/authorize');
    expect(location.searchParams.get('redirect_uri')).toBe('https://auth.example.com/callback');
    expect(result.headers['cache-control']).toBe('no-store');
    expect(result.cookies).toHaveLength(1);
    expect(result.cookies![0]).toMatch(
      /^__Host-ecwid-install=[A-Za-z0-9_-]{43}; Max-Age=600; Path=\/; Secure; HttpOnly; SameSite=Lax$/,
    );
    expect(result.cookies![0]).not.toMatch(/Domain=/i);
  });

  it('keeps the binding cookie the browser sent', async () => {
    const { authorizeDeps: deps, logs } = handlerHarness();
    const handler = createAuthorizeHandler(() => deps, logs.log);
    const binding = 'b'.repeat(43);
    const result = (await handler(getEvent('/authorize', '', [`other=1`, `__Host-ecwid-install=${binding}`]), lambdaContext)) as Result;
    expect(result.cookies![0]).toContain(`__Host-ecwid-install=${binding};`);
  });

  it('answers a readable 503 page when the state cannot be stored', async () => {
    const { authorizeDeps: deps, store, logs } = handlerHarness();
    store.saveState = async () => {
      throw new StorageError('DynamoDB PutItem failed', { operation: 'PutItem', detail: { awsError: 'InternalServerError' } });
    };
    const result = (await createAuthorizeHandler(() => deps, logs.log)(getEvent('/authorize'), lambdaContext)) as Result;
    expect(result.statusCode).toBe(503);
    expect(result.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(result.headers['cache-control']).toBe('no-store');
    expect(result.body).toContain('temporarily unavailable');
    expect(result.body).toContain('href="https://auth.example.com/authorize"');
    expect(result.body).toContain('Reference: request-id-1');
    expect(result.body).not.toMatch(/at .*\.ts:\d+|StorageError|PutItem/);
    expect(logs.entries()).toEqual([
      expect.objectContaining({
        level: 'ERROR',
        errorCode: 'STORAGE_UNAVAILABLE',
        operation: 'PutItem',
        correlationId: 'request-id-1',
        route: 'GET /authorize',
      }),
    ]);
  });

  describe('behind the edge (EDGE_ORIGIN_SECRET set)', () => {
    const SECRET = 'an-edge-origin-secret-of-forty-two-chars-x';

    it('answers only requests that carry the edge secret, so the origin cannot be used to go around the edge', async () => {
      const { authorizeDeps: deps, store, logs } = handlerHarness({ EDGE_ORIGIN_SECRET: SECRET });
      const handler = createAuthorizeHandler(() => deps, logs.log);
      const withHeader = (value?: string) => {
        const event = getEvent('/authorize');
        if (value !== undefined) event.headers = { ...event.headers, 'x-ecwid-app-auth-origin': value };
        return handler(event, lambdaContext) as Promise<Result>;
      };
      for (const refused of [await withHeader(), await withHeader('wrong'), await withHeader(`${SECRET}x`)]) {
        expect(refused.statusCode).toBe(403);
        expect(refused.body).toContain('own address');
        expect(refused.body).not.toContain(SECRET);
      }
      expect(store.states.size).toBe(0);
      expect((await withHeader(SECRET)).statusCode).toBe(302);
      expect(store.states.size).toBe(1);
      expect(logs.lines.join('\n')).not.toContain(SECRET);
    });

    it('refuses a secret too short to be one', () => {
      expect(() => handlerHarness({ EDGE_ORIGIN_SECRET: 'short' })).toThrow(/EDGE_ORIGIN_SECRET must be at least 32 characters/);
    });
  });

  it('answers an event it cannot read with a 500 page and a logged stack, never a crash of its own error mapping', async () => {
    const { authorizeDeps: deps, logs } = handlerHarness();
    const handler = createAuthorizeHandler(() => deps, logs.log);
    const result = (await handler(null as unknown as Parameters<typeof handler>[0], lambdaContext)) as Result;
    expect(result.statusCode).toBe(500);
    expect(result.body).toContain('Reference: aws-request-id');
    expect(logs.entries()[0]).toMatchObject({ level: 'ERROR', errorCode: 'INTERNAL', correlationId: 'aws-request-id' });
  });

  it('answers "not set up yet" with 503, never a bare 500, when the configuration is broken', async () => {
    const { logs } = handlerHarness();
    const broken = () => {
      throw new ConfigurationError('invalid configuration: ECWID_CLIENT_ID is required', {
        problems: ['ECWID_CLIENT_ID is required'],
      });
    };
    const result = (await createAuthorizeHandler(broken, logs.log)(getEvent('/authorize'), lambdaContext)) as Result;
    expect(result.statusCode).toBe(503);
    expect(result.body).toContain('This app is not set up yet');
    expect(logs.entries()[0]).toMatchObject({ errorCode: 'NOT_CONFIGURED', problems: 'ECWID_CLIENT_ID is required' });
  });
});
