import fc from 'fast-check';
import { createAuthorizeHandler } from '../../functions/authorize/handler';
import { handlerHarness, lambdaContext, type Result } from '../support/handler-harness';
import { anyQuery, authorizeCookies, type HttpCall } from './support/arbitraries';
import { eventFor, expectFlowHeaders, sha256 } from './support/handler-runs';
import { presentedBinding } from './support/install-model';

const NONCE = /^[A-Za-z0-9_-]{43}$/;
const BINDING_SET_COOKIE = /^__Host-ecwid-install=([A-Za-z0-9_-]{43}); Max-Age=600; Path=\/; Secure; HttpOnly; SameSite=Lax$/;

const requests = fc.array(
  fc.record({ query: anyQuery, cookies: authorizeCookies }).map(({ query, cookies }): HttpCall => ({ query, ...cookies })),
  { minLength: 1, maxLength: 3 },
);

/** The values of every cookie the request carried, however malformed. */
function incomingCookieValues(call: HttpCall): string[] {
  const entries = call.cookies ?? (call.cookieHeader ?? '').split(';');
  return entries.map((entry) => entry.slice(entry.indexOf('=') + 1).trim()).filter((value) => value !== '');
}

describe('GET /authorize under arbitrary queries and cookies', () => {
  it('always redirects to Ecwid with a fresh state and a well-formed binding cookie, never echoing a hostile one', async () => {
    await fc.assert(
      fc.asyncProperty(requests, async (calls) => {
        const { authorizeDeps: deps, store, tokenEndpoint, logs } = handlerHarness();
        const authorize = createAuthorizeHandler(() => deps, logs.log);
        const issuedStates = new Set<string>();

        for (const call of calls) {
          const statesBefore = store.states.size;
          const result = (await authorize(eventFor('/authorize', call), lambdaContext)) as Result;

          expect(result.statusCode).toBe(302);
          expectFlowHeaders(result);
          expect(result.body).toBe('');

          const location = new URL(result.headers.location!);
          expect(`${location.origin}${location.pathname}`).toBe('https://my.ecwid.example/api/oauth/authorize');
          expect([...location.searchParams.keys()].sort()).toEqual(['client_id', 'redirect_uri', 'response_type', 'scope', 'state']);
          expect(Object.fromEntries(location.searchParams)).toMatchObject({
            client_id: 'app-client-id',
            redirect_uri: 'https://auth.example.com/callback',
            response_type: 'code',
            scope: 'read_store_profile read_catalog',
          });
          const state = location.searchParams.get('state')!;
          expect(state).toMatch(NONCE);
          expect(issuedStates.has(state)).toBe(false);
          issuedStates.add(state);

          expect(result.cookies).toHaveLength(1);
          const binding = BINDING_SET_COOKIE.exec(result.cookies![0]!)?.[1];
          expect(binding).toMatch(NONCE);
          const presented = presentedBinding(call);
          if (presented !== undefined && NONCE.test(presented)) {
            // A binding this app issued earlier is kept, so installs in two tabs both complete.
            expect(binding).toBe(presented);
          } else {
            expect(incomingCookieValues(call)).not.toContain(binding);
          }

          expect(store.states.size).toBe(statesBefore + 1);
          expect(store.states.get(sha256(state))).toMatchObject({ browserBindingHash: sha256(binding!) });
        }
        expect(tokenEndpoint.requests).toEqual([]);
        expect(store.claims.size + store.installations.size).toBe(0);
      }),
      { numRuns: 500 },
    );
  });
});
