import { interpretApplicationResponse } from '../../functions/core/ecwid/application-response';

const answer = (status: number, body: unknown, retryAfterSeconds?: number) =>
  interpretApplicationResponse({ status, bodyText: typeof body === 'string' ? body : JSON.stringify(body), ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }) });

describe('interpretApplicationResponse (GET /api/v3/{storeId}/application)', () => {
  it("reads the app's subscription status from subscription.status, or subscriptionStatus", () => {
    expect(answer(200, { subscriptionStatus: 'ACTIVE', subscription: { status: 'ACTIVE', startDate: 'x', expirationDate: 'y' } })).toEqual({ outcome: 'found', subscriptionStatus: 'ACTIVE' });
    expect(answer(200, { subscription: { status: 'TRIAL' } })).toEqual({ outcome: 'found', subscriptionStatus: 'TRIAL' });
    expect(answer(200, { subscriptionStatus: 'SUSPENDED' })).toEqual({ outcome: 'found', subscriptionStatus: 'SUSPENDED' });
  });

  it.each([
    ['no status', {}],
    ['a status of another shape', { subscriptionStatus: 'ACTIVE; DROP' }],
    ['a status that is not text', { subscription: { status: 1 } }],
    ['a body that is not JSON', '<html>'],
  ])('finds nothing to record in a 200 with %s', (_name, body) => {
    expect(answer(200, body)).toEqual({ outcome: 'refused', reason: 'no_subscription_status' });
  });

  it("takes Ecwid's verdicts on the token or the store as refusals", () => {
    expect(answer(403, { errorCode: 'INVALID_API_TOKEN' })).toEqual({ outcome: 'refused', reason: 'INVALID_API_TOKEN' });
    expect(answer(402, { errorCode: 'STORE_IS_SUSPENDED' })).toEqual({ outcome: 'refused', reason: 'STORE_IS_SUSPENDED' });
    expect(answer(404, { errorCode: 'STORE_NOT_FOUND' })).toEqual({ outcome: 'refused', reason: 'STORE_NOT_FOUND' });
  });

  it('treats a rate limit, a server error, and an answer without Ecwid’s error code as passing', () => {
    expect(answer(429, { errorCode: 'RATE_LIMITED' }, 12)).toEqual({ outcome: 'unavailable', reason: 'rate_limited', retryAfterSeconds: 12 });
    expect(answer(500, { errorCode: 'INTERNAL_ERROR' })).toEqual({ outcome: 'unavailable', reason: 'INTERNAL_ERROR' });
    expect(answer(503, 'Service Unavailable')).toEqual({ outcome: 'unavailable', reason: 'http_503' });
    expect(answer(403, '<html>Forbidden</html>')).toEqual({ outcome: 'unavailable', reason: 'http_403' });
  });
});
