import { EcwidRequestError, RateLimitedError } from '../../functions/core/errors';
import { parseTokenResponse, type TokenExpectation, type TokenHttpResponse } from '../../functions/core/ecwid/token-response';

const JSON_TYPE = 'application/json;charset=utf-8';
const CODE = { grantType: 'authorization_code' } as const;
const CODE_FOR_1003 = { grantType: 'authorization_code', storeId: 1003 } as const;
const REFRESH_FOR_1003 = { grantType: 'refresh_token', storeId: 1003 } as const;
const ecwidAnswer = {
  access_token: 'secret_ab12cd34ef56gh78ij90kl12mn34op56',
  token_type: 'Bearer',
  scope: 'read_store_profile read_catalog',
  store_id: 1003,
  email: 'owner@example.com',
};

function ok(body: unknown, contentType = JSON_TYPE): TokenHttpResponse {
  return { status: 200, contentType, bodyText: typeof body === 'string' ? body : JSON.stringify(body) };
}

function failure(response: TokenHttpResponse, expectation: TokenExpectation = CODE): EcwidRequestError {
  try {
    parseTokenResponse(response, expectation);
  } catch (error) {
    if (error instanceof EcwidRequestError) return error;
    throw error;
  }
  throw new Error('expected the answer to be refused');
}

describe('parseTokenResponse', () => {
  it("accepts Ecwid's answer: no expiry, no refresh token", () => {
    expect(parseTokenResponse(ok(ecwidAnswer), CODE_FOR_1003)).toEqual({
      accessToken: ecwidAnswer.access_token,
      scope: 'read_store_profile read_catalog',
      storeId: 1003,
    });
  });

  it('takes expires_in, refresh_token and public_token when the server sends them', () => {
    const grant = parseTokenResponse(
      ok({ ...ecwidAnswer, expires_in: 3600, refresh_token: 'refresh_xyz', public_token: 'public_abc' }),
      CODE,
    );
    expect(grant).toMatchObject({ expiresInSeconds: 3600, refreshToken: 'refresh_xyz', publicToken: 'public_abc' });
  });

  it('accepts the token type in any case, and a numeric string store id', () => {
    expect(parseTokenResponse(ok({ ...ecwidAnswer, token_type: 'bearer' }), CODE).storeId).toBe(1003);
    expect(parseTokenResponse(ok({ ...ecwidAnswer, token_type: 'BEARER', store_id: '1003' }), CODE_FOR_1003).storeId).toBe(1003);
  });

  it('accepts JSON media types with a suffix and normalises scope whitespace', () => {
    const grant = parseTokenResponse(ok({ ...ecwidAnswer, scope: ' read_catalog   read_store_profile ' }, 'application/vnd.ecwid+json'), CODE);
    expect(grant.scope).toBe('read_catalog read_store_profile');
  });

  it.each([
    ['an HTML body', ok('<html>maintenance</html>', 'text/html')],
    ['JSON content type with an HTML body', ok('<html>maintenance</html>')],
    ['no content type', { status: 200, contentType: undefined, bodyText: JSON.stringify(ecwidAnswer) }],
    ['a JSON array', ok([ecwidAnswer])],
    ['no access_token', ok({ ...ecwidAnswer, access_token: undefined })],
    ['an empty access_token', ok({ ...ecwidAnswer, access_token: '' })],
    ['an access_token with spaces', ok({ ...ecwidAnswer, access_token: 'secret abc' })],
    ['a mac token', ok({ ...ecwidAnswer, token_type: 'mac' })],
    ['no token_type', ok({ ...ecwidAnswer, token_type: undefined })],
    ['no store_id', ok({ ...ecwidAnswer, store_id: undefined })],
    ['a non-numeric store_id', ok({ ...ecwidAnswer, store_id: 'abc' })],
    ['a fractional store_id', ok({ ...ecwidAnswer, store_id: 10.5 })],
    ['no scope', ok({ ...ecwidAnswer, scope: undefined })],
    ['a negative expires_in', ok({ ...ecwidAnswer, expires_in: -1 })],
    ['a textual expires_in', ok({ ...ecwidAnswer, expires_in: 'soon' })],
    ['an empty refresh_token', ok({ ...ecwidAnswer, refresh_token: '' })],
    ['an OAuth error inside a 200', ok({ error: 'invalid_grant' })],
  ])('refuses a 200 with %s as an invalid answer', (_description, response) => {
    expect(failure(response).code).toBe('ECWID_INVALID_RESPONSE');
  });

  it('refuses an answer for another store than the redirect named', () => {
    const error = failure(ok({ ...ecwidAnswer, store_id: 2000 }), CODE_FOR_1003);
    expect(error.code).toBe('ECWID_INVALID_RESPONSE');
    expect(error.detail).toMatchObject({ expectedStoreId: 1003, answeredStoreId: 2000 });
  });

  it('treats a 4xx refusal of the grant as a rejected code and keeps the OAuth error', () => {
    const error = failure({ status: 400, contentType: JSON_TYPE, bodyText: '{"error":"invalid_grant","error_description":"used"}' });
    expect(error.code).toBe('CODE_REJECTED');
    expect(error.detail).toEqual({ ecwidStatus: 400, oauthError: 'invalid_grant' });
    expect(failure({ status: 403, contentType: 'text/html', bodyText: '<h1>no</h1>' }).code).toBe('CODE_REJECTED');
  });

  it('blames the app credentials, not the merchant, for 401 and invalid_client', () => {
    expect(failure({ status: 401, contentType: undefined, bodyText: '' }).code).toBe('CLIENT_REJECTED');
    expect(failure({ status: 400, contentType: JSON_TYPE, bodyText: '{"error":"invalid_client"}' }).code).toBe('CLIENT_REJECTED');
  });

  it.each([500, 502, 503, 408, 302, 204])('treats status %i as Ecwid being unavailable', (status) => {
    expect(failure({ status, contentType: undefined, bodyText: '' }).code).toBe('ECWID_UNAVAILABLE');
  });

  it('never copies a token from the answer into the error', () => {
    const error = failure(ok({ ...ecwidAnswer, store_id: 2000 }), CODE_FOR_1003);
    expect(`${error.message} ${JSON.stringify(error.detail)}`).not.toContain('secret_');
  });

  it('reports 429 as rate limiting, with the Retry-After the server gave', () => {
    const error = failure({ status: 429, contentType: undefined, bodyText: '', retryAfterSeconds: 30 });
    expect(error.code).toBe('ECWID_RATE_LIMITED');
    expect(error).toBeInstanceOf(RateLimitedError);
    expect((error as RateLimitedError).retryAfterSeconds).toBe(30);
  });

  describe('refresh answers', () => {
    const standardAnswer = { access_token: 'new_access', token_type: 'Bearer', expires_in: 3600, refresh_token: 'rotated' };

    it("accepts a standard OAuth answer without store_id or scope, for the installation's store", () => {
      expect(parseTokenResponse(ok(standardAnswer), REFRESH_FOR_1003)).toEqual({
        accessToken: 'new_access',
        scope: '',
        storeId: 1003,
        expiresInSeconds: 3600,
        refreshToken: 'rotated',
      });
    });

    it('still refuses an answer for another store', () => {
      expect(failure(ok({ ...standardAnswer, store_id: 7 }), REFRESH_FOR_1003).code).toBe('ECWID_INVALID_RESPONSE');
    });

    it('tells a revoked grant (invalid_grant) apart from other refusals', () => {
      const body = (error: string) => ({ status: 400, contentType: JSON_TYPE, bodyText: JSON.stringify({ error }) });
      expect(failure(body('invalid_grant'), REFRESH_FOR_1003).code).toBe('REFRESH_TOKEN_REJECTED');
      expect(failure(body('invalid_client'), REFRESH_FOR_1003).code).toBe('CLIENT_REJECTED');
      expect(failure(body('invalid_request'), REFRESH_FOR_1003).code).toBe('ECWID_UNAVAILABLE');
    });
  });
});
