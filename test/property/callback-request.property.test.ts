import fc from 'fast-check';
import { parseCallbackRequest, type CallbackRequest } from '../../functions/core/install/callback-request';
import { EcwidAppAuthError } from '../../functions/core/errors';
import { callbackQuery, type IssuedStates } from './support/arbitraries';
import { readCallbackQuery, WELL_FORMED_CODE } from './support/query-reading';

/** Stand-ins for issued states: the parser only needs their shape. */
const STATES: IssuedStates = {
  s1: 'q_lxKfdEgACsSLDSOPgnJFBOiFpgVPFtfMrJPY_BYXY',
  s2: 'Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5',
  s3: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
  b1: 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb',
  b2: 'BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB',
};

/** Strings made of the pieces a query parser cares about, so they often look almost right. */
const tokenSoup = fc
  .array(
    fc.constantFrom('code', 'state', 'store_id', 'error', 'access_denied', '=', '&', '%', '+', '%2B', '%3D', '%26', '%5F', '1', '0', '9', '-', 'a', '?', '%FF', '\uD800', ' ', STATES.s1),
    { maxLength: 30 },
  )
  .map((pieces) => pieces.join(''));

const anyCallbackQuery = fc.oneof(
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
  { weight: 3, arbitrary: tokenSoup },
  { weight: 4, arbitrary: callbackQuery(STATES) },
);

type Outcome = { returned: CallbackRequest } | { refused: EcwidAppAuthError };

function parse(query: string): Outcome {
  try {
    return { returned: parseCallbackRequest(query) };
  } catch (error) {
    expect(error).toBeInstanceOf(EcwidAppAuthError);
    return { refused: error as EcwidAppAuthError };
  }
}

const SAFE_ERROR = /^[a-z0-9_]{1,64}$/;

describe('parseCallbackRequest on arbitrary queries', () => {
  it('returns one of the four lanes with well-formed fields, or refuses with INVALID_REQUEST and nothing else', () => {
    fc.assert(
      fc.property(anyCallbackQuery, (query) => {
        const outcome = parse(query);
        if ('refused' in outcome) {
          expect(outcome.refused.code).toBe('INVALID_REQUEST');
          return;
        }
        const request = outcome.returned;
        switch (request.lane) {
          case 'consent_denied':
            expect(Object.keys(request)).toEqual(['lane']);
            break;
          case 'ecwid_error':
            expect(request.error).toMatch(SAFE_ERROR);
            break;
          case 'app_initiated':
            expect(request.code).toMatch(WELL_FORMED_CODE);
            expect(typeof request.state).toBe('string');
            if (request.storeId !== undefined) expect(Number.isSafeInteger(request.storeId) && request.storeId > 0).toBe(true);
            break;
          case 'app_market':
            expect(request.code).toMatch(WELL_FORMED_CODE);
            expect(Number.isSafeInteger(request.storeId) && request.storeId > 0).toBe(true);
            break;
          default:
            throw new Error(`unknown lane in ${JSON.stringify(request)}`);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('reads every query exactly as the form-urlencoded standard and the Ecwid protocol do', () => {
    fc.assert(
      fc.property(anyCallbackQuery, (candidate) => {
        const reading = readCallbackQuery(candidate);
        const outcome = parse(candidate);
        switch (reading.kind) {
          case 'invalid':
            expect({ reading: reading.reason, outcome }).toEqual({ reading: reading.reason, outcome: { refused: expect.any(EcwidAppAuthError) } });
            break;
          case 'consent_denied':
            expect(outcome).toEqual({ returned: { lane: 'consent_denied' } });
            break;
          case 'ecwid_error':
            expect(outcome).toEqual({
              returned: { lane: 'ecwid_error', error: SAFE_ERROR.test(reading.error) ? reading.error : 'unrecognised_error' },
            });
            break;
          case 'code':
            expect(outcome).toEqual({
              returned:
                reading.state === undefined
                  ? { lane: 'app_market', code: reading.code, storeId: reading.storeId }
                  : {
                      lane: 'app_initiated',
                      code: reading.code,
                      state: reading.state,
                      ...(reading.storeId === undefined ? {} : { storeId: reading.storeId }),
                    },
            });
            break;
        }
      }),
      { numRuns: 3000 },
    );
  });
});
