import type { TokenVerification } from '../../functions/core/model';
import { interpretProfileResponse } from '../../functions/core/ecwid/profile-response';

const profileOf = (storeId: unknown) => JSON.stringify({ generalInfo: { storeId } });
const ecwidError = (errorCode: string) => JSON.stringify({ errorMessage: 'message', errorCode });

describe('interpretProfileResponse', () => {
  it.each<[string, { status: number; bodyText: string; retryAfterSeconds?: number }, TokenVerification]>([
    ["the store's profile", { status: 200, bodyText: profileOf(42) }, { outcome: 'valid' }],
    ['the profile with a string store id', { status: 200, bodyText: profileOf('42') }, { outcome: 'valid' }],
    ["another store's profile", { status: 200, bodyText: profileOf(43) }, { outcome: 'failed', reason: 'unexpected_profile_answer' }],
    ['a 200 that is not JSON', { status: 200, bodyText: '<html>ok</html>' }, { outcome: 'failed', reason: 'unexpected_profile_answer' }],
    ['a 200 without the field', { status: 200, bodyText: '{}' }, { outcome: 'failed', reason: 'unexpected_profile_answer' }],
    ['403 INVALID_API_TOKEN', { status: 403, bodyText: ecwidError('INVALID_API_TOKEN') }, { outcome: 'revoked', errorCode: 'INVALID_API_TOKEN' }],
    ['401 INVALID_API_TOKEN', { status: 401, bodyText: ecwidError('INVALID_API_TOKEN') }, { outcome: 'revoked', errorCode: 'INVALID_API_TOKEN' }],
    ['403 INSUFFICIENT_APP_SCOPE', { status: 403, bodyText: ecwidError('INSUFFICIENT_APP_SCOPE') }, { outcome: 'failed', reason: 'INSUFFICIENT_APP_SCOPE' }],
    ['a bare 403 from a proxy', { status: 403, bodyText: '<h1>Forbidden</h1>' }, { outcome: 'failed', reason: 'http_403' }],
    ['a bare 401', { status: 401, bodyText: '' }, { outcome: 'failed', reason: 'http_401' }],
    ['402 STORE_IS_SUSPENDED', { status: 402, bodyText: ecwidError('STORE_IS_SUSPENDED') }, { outcome: 'suspended', errorCode: 'STORE_IS_SUSPENDED' }],
    ['402 NOT_AVAILABLE_ON_CURRENT_PLAN', { status: 402, bodyText: ecwidError('NOT_AVAILABLE_ON_CURRENT_PLAN') }, { outcome: 'suspended', errorCode: 'NOT_AVAILABLE_ON_CURRENT_PLAN' }],
    ['404 STORE_NOT_FOUND', { status: 404, bodyText: ecwidError('STORE_NOT_FOUND') }, { outcome: 'store_gone', errorCode: 'STORE_NOT_FOUND' }],
    ['a bare 404 (a wrong API URL)', { status: 404, bodyText: 'Not Found' }, { outcome: 'failed', reason: 'http_404' }],
    ['429 with Retry-After', { status: 429, bodyText: ecwidError('RATE_LIMITED'), retryAfterSeconds: 30 }, { outcome: 'rate_limited', retryAfterSeconds: 30 }],
    ['429 without Retry-After', { status: 429, bodyText: '' }, { outcome: 'rate_limited' }],
    ['500 INTERNAL_ERROR', { status: 500, bodyText: ecwidError('INTERNAL_ERROR') }, { outcome: 'failed', reason: 'INTERNAL_ERROR' }],
    ['a bare 502', { status: 502, bodyText: 'Bad gateway' }, { outcome: 'failed', reason: 'http_502' }],
  ])('reads %s', (_description, response, expected) => {
    expect(interpretProfileResponse(response, 42)).toEqual(expected);
  });

  it('ignores an error code that is not one of the shapes Ecwid uses', () => {
    expect(interpretProfileResponse({ status: 403, bodyText: ecwidError('<script>') }, 42)).toEqual({ outcome: 'failed', reason: 'http_403' });
  });
});
