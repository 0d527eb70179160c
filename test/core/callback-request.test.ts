import { parseCallbackRequest } from '../../functions/core/install/callback-request';
import { EcwidAppAuthError } from '../../functions/core/errors';

const STATE = 'q_lxKfdEgACsSLDSOPgnJFBOiFpgVPFtfMrJPY_BYXY';

function refusal(query: string): EcwidAppAuthError {
  try {
    parseCallbackRequest(query);
  } catch (error) {
    if (error instanceof EcwidAppAuthError) return error;
    throw error;
  }
  throw new Error(`expected ${query} to be refused`);
}

describe('parseCallbackRequest', () => {
  it('reads an app-initiated callback with its state and store id', () => {
    expect(parseCallbackRequest(`code=abc123&store_id=1003&state=${STATE}`)).toEqual({
      lane: 'app_initiated',
      code: 'abc123',
      state: STATE,
      storeId: 1003,
    });
  });

  it('reads an app-initiated callback without a store id (before Ecwid added it)', () => {
    expect(parseCallbackRequest(`code=abc123&state=${STATE}`)).toEqual({ lane: 'app_initiated', code: 'abc123', state: STATE });
  });

  it('reads an App Market callback: a code and a store id, no state', () => {
    expect(parseCallbackRequest('code=abc123&store_id=42')).toEqual({ lane: 'app_market', code: 'abc123', storeId: 42 });
  });

  it('reads a denied consent, even when a code comes along with it', () => {
    expect(parseCallbackRequest('error=access_denied')).toEqual({ lane: 'consent_denied' });
    expect(parseCallbackRequest(`error=access_denied&code=abc&state=${STATE}`)).toEqual({ lane: 'consent_denied' });
  });

  it('keeps other Ecwid errors, replacing unreadable ones', () => {
    expect(parseCallbackRequest('error=invalid_scope')).toEqual({ lane: 'ecwid_error', error: 'invalid_scope' });
    expect(parseCallbackRequest('error=%3Cscript%3E')).toEqual({ lane: 'ecwid_error', error: 'unrecognised_error' });
    expect(parseCallbackRequest('error=')).toEqual({ lane: 'ecwid_error', error: 'unrecognised_error' });
  });

  it('ignores parameters it does not know, such as iss', () => {
    expect(parseCallbackRequest('code=abc&store_id=5&iss=https%3A%2F%2Fmy.ecwid.com&utm_source=x')).toEqual({
      lane: 'app_market',
      code: 'abc',
      storeId: 5,
    });
  });

  it('keeps an empty or malformed state so it is refused as unknown, not taken for an App Market install', () => {
    expect(parseCallbackRequest('code=abc&store_id=5&state=')).toEqual({ lane: 'app_initiated', code: 'abc', state: '', storeId: 5 });
  });

  it.each([
    ['no parameters at all', ''],
    ['no code', `store_id=5&state=${STATE}`],
    ['an empty code', 'code=&store_id=5'],
    ['a code with markup', 'code=%3Cb%3E&store_id=5'],
    ['a code with an invalid percent escape', 'code=ab%zz&store_id=5'],
    ['a code with invalid UTF-8', 'code=ab%FF&store_id=5'],
    ['a code of 513 characters', `code=${'a'.repeat(513)}&store_id=5`],
    ['neither state nor store id', 'code=abc'],
    ['a non-numeric store id', 'code=abc&store_id=12a'],
    ['a negative store id', 'code=abc&store_id=-5'],
    ['a zero store id', 'code=abc&store_id=0'],
    ['a store id beyond 2^53', 'code=abc&store_id=9007199254740993'],
    ['an empty store id', 'code=abc&store_id='],
    ['two codes', 'code=a&code=b&store_id=5'],
    ['two states', `code=a&state=${STATE}&state=${STATE}`],
    ['two store ids', 'code=a&store_id=5&store_id=6'],
    ['two errors', 'error=access_denied&error=x'],
    ['a query that starts with "?" (a URL written with "??")', '?code=abc&store_id=5'],
    ['a query longer than 4 KB', `code=abc&store_id=5&pad=${'x'.repeat(4096)}`],
  ])('refuses %s as an invalid request', (_description, query) => {
    expect(refusal(query).code).toBe('INVALID_REQUEST');
  });

  it('never puts the code in the refusal it raises', () => {
    const error = refusal(`code=${'x'.repeat(513)}&store_id=5`);
    expect(JSON.stringify({ message: error.message, detail: error.detail })).not.toContain('xxxx');
  });
});
