import fc from 'fast-check';
import { callbackCall, type HttpCall, type IssuedStates } from './support/arbitraries';
import {
  expectFlowHeaders,
  expectNothingReflected,
  pageTemplateText,
  sha256,
  startedFlow,
  storeSnapshot,
  SUCCESS_URL,
  type Deployment,
} from './support/handler-runs';
import { InstallModel, type Expectation } from './support/install-model';
import { readCallbackQuery } from './support/query-reading';

const STATE_LIFETIME_SECONDS = 600;

let reference: IssuedStates;
let templateText: string;

beforeAll(async () => {
  const flow = await startedFlow('default');
  reference = flow.issued;
  const cancelled = await flow.call('/callback', { query: 'error=access_denied' });
  const installed = await flow.call('/callback', { query: 'code=reference-code&store_id=1003' });
  templateText = pageTemplateText([cancelled!.body, installed!.body]);
});

interface Scenario {
  deployment: Deployment;
  advanceSeconds: number;
  calls: HttpCall[];
}

function scenarios(issued: IssuedStates): fc.Arbitrary<Scenario> {
  const call = callbackCall(issued);
  return fc.record({
    deployment: fc.oneof(
      { weight: 6, arbitrary: fc.constant('default' as const) },
      { weight: 2, arbitrary: fc.constant('success_url' as const) },
      { weight: 1, arbitrary: fc.constant('no_app_market' as const) },
    ),
    advanceSeconds: fc.oneof(
      { weight: 10, arbitrary: fc.constant(0) },
      { weight: 1, arbitrary: fc.constantFrom(1, STATE_LIFETIME_SECONDS - 1, STATE_LIFETIME_SECONDS, STATE_LIFETIME_SECONDS + 1, 86_401) },
    ),
    // Later calls in a run are often a reload of the first one.
    calls: fc
      .tuple(call, fc.array(fc.oneof(fc.constant('reload' as const), call), { maxLength: 2 }))
      .map(([first, rest]) => [first, ...rest.map((next) => (next === 'reload' ? first : next))]),
  });
}

const counts = { calls: 0, exchanges: 0, stateSpent: 0, replayed: 0, refused: 0, cancelled: 0 };

/** Runs one scenario through the real handlers and checks every call against the model. */
async function checkScenario(scenario: Scenario): Promise<void> {
  const flow = await startedFlow(scenario.deployment);
  // The arbitraries were built with the states a fresh harness issues; the harness is seeded.
  expect(flow.issued).toEqual(reference);
  flow.clock.advanceSeconds(scenario.advanceSeconds);
  const model = new InstallModel(flow.issued, {
    appMarketInstalls: scenario.deployment !== 'no_app_market',
    statesExpired: scenario.advanceSeconds >= STATE_LIFETIME_SECONDS,
  });

  for (const [index, call] of scenario.calls.entries()) {
    const expected = model.expect(call);
    const before = storeSnapshot(flow.store);
    const requestsBefore = flow.tokenEndpoint.requests.length;

    let result: Awaited<ReturnType<typeof flow.call>>;
    try {
      result = await flow.call('/callback', call);
    } catch (error) {
      throw new Error(`call #${index}: the handler threw instead of answering: ${String(error)}`);
    }

    try {
      checkCall(flow, call, expected, result, before, requestsBefore);
    } catch (error) {
      if (error instanceof Error) error.message = `call #${index} (expected ${JSON.stringify(expected)}):\n${error.message}`;
      throw error;
    }
    model.record(expected);
    countCall(expected);
  }
}

function checkCall(
  flow: Awaited<ReturnType<typeof startedFlow>>,
  call: HttpCall,
  expected: Expectation,
  result: Awaited<ReturnType<Awaited<ReturnType<typeof startedFlow>>['call']>>,
  before: ReturnType<typeof storeSnapshot>,
  requestsBefore: number,
): void {
  // Invariant 1.
  expect(result).toBeDefined();
  expect(result!.statusCode).toBeLessThan(500);
  expectFlowHeaders(result!);

  // Invariant 2, stated on its own so a violation reads plainly: a token request only in a valid lane.
  const newRequests = flow.tokenEndpoint.requests.slice(requestsBefore);
  if (newRequests.length > 0) {
    expect({ tokenRequestSent: true, validLane: expected.outcome === 'installed' }).toEqual({ tokenRequestSent: true, validLane: true });
  }
  // ...and exactly one, with the callback's code and store id, in a valid lane with a code not yet exchanged.
  if (expected.outcome === 'installed' && expected.exchange !== undefined) {
    expect(newRequests).toEqual([
      expect.objectContaining({
        code: expected.exchange.code,
        ...(expected.exchange.storeId === undefined ? {} : { storeId: expected.exchange.storeId }),
        redirectUri: 'https://auth.example.com/callback',
        clientId: 'app-client-id',
      }),
    ]);
    if (expected.exchange.storeId === undefined) expect(newRequests[0]!.storeId).toBeUndefined();
  } else {
    expect(newRequests).toEqual([]);
  }

  // The answer the model predicts.
  switch (expected.outcome) {
    case 'refused':
      expect(result!.statusCode).toBe(expected.status);
      break;
    case 'cancelled':
      expect(result!.statusCode).toBe(200);
      expect(result!.body).toContain('Installation cancelled');
      break;
    case 'installed':
      if (result!.statusCode === 303) {
        const location = new URL(result!.headers.location!);
        expect(`${location.origin}${location.pathname}`).toBe(new URL(SUCCESS_URL).origin + new URL(SUCCESS_URL).pathname);
        expect(location.searchParams.getAll('store_id')).toEqual([String(expected.storeId)]);
      } else {
        expect(result!.statusCode).toBe(200);
        expect(result!.body).toContain(`installed in store ${expected.storeId}.`);
      }
      break;
  }

  // Invariant 3: a refused or cancelled callback stores nothing; a state changes only by being spent.
  const after = storeSnapshot(flow.store);
  const spentHash = expected.outcome === 'installed' && expected.spendsState !== undefined ? sha256(expected.spendsState) : undefined;
  expect([...after.states.keys()].sort()).toEqual([...before.states.keys()].sort());
  for (const [hash, record] of after.states) {
    if (hash !== spentHash) expect({ hash, record }).toEqual({ hash, record: before.states.get(hash) });
  }
  if (spentHash !== undefined) {
    expect(flow.store.states.get(spentHash)).toMatchObject({ consumedByCodeHash: expect.any(String) });
  }
  if (expected.outcome === 'installed' && expected.exchange !== undefined) {
    const codeHash = sha256(expected.code);
    expect(flow.store.claims.get(codeHash)).toMatchObject({ status: 'installed', storeId: expected.storeId });
    expect(flow.store.claims.size).toBe(JSON.parse(before.claims).length + 1);
    expect(flow.store.installations.get(expected.storeId)).toMatchObject({ grantCodeHash: codeHash });
    for (const [storeId, item] of after.installations) {
      if (storeId !== expected.storeId) expect(item).toBe(before.installations.get(storeId));
    }
  } else {
    expect(after.claims).toBe(before.claims);
    expect(after.installations).toEqual(before.installations);
  }

  // Invariant 4.
  if (String(result!.headers['content-type']).startsWith('text/html')) expectNothingReflected(result!.body, call, templateText);
  else expect(result!.body ?? '').toBe('');

  // Codes never reach a log line (long ones only: a short code can occur in ordinary text).
  const reading = readCallbackQuery(call.query);
  if (reading.kind === 'code' && reading.code.length >= 16) {
    const logs = flow.logs.lines.join('\n');
    expect(logs.includes(reading.code) || logs.includes(JSON.stringify(reading.code).slice(1, -1))).toBe(false);
  }
}

function countCall(expected: Expectation): void {
  counts.calls += 1;
  if (expected.outcome === 'refused') counts.refused += 1;
  if (expected.outcome === 'cancelled') counts.cancelled += 1;
  if (expected.outcome === 'installed') {
    if (expected.exchange !== undefined) counts.exchanges += 1;
    else counts.replayed += 1;
    if (expected.spendsState !== undefined) counts.stateSpent += 1;
  }
}

describe('GET /callback under arbitrary queries and cookies', () => {
  it('never fails, never leaks, and exchanges a code only in a valid lane, exactly as the protocol model says', async () => {
    await fc.assert(fc.asyncProperty(scenarios(reference), checkScenario), { numRuns: 1000 });

    // The generator must reach deep into the flow, not only the parser's refusals.
    expect(counts.exchanges / counts.calls).toBeGreaterThan(0.15);
    expect(counts.stateSpent / counts.calls).toBeGreaterThan(0.08);
    expect(counts.replayed).toBeGreaterThan(0);
    expect(counts.refused / counts.calls).toBeGreaterThan(0.25);
  });
});

describe('GET /callback: cases the properties explore, pinned as examples', () => {
  const withState = async (query: (issued: IssuedStates) => string) => {
    const flow = await startedFlow('default');
    const call: HttpCall = { query: query(flow.issued), cookies: [`__Host-ecwid-install=${flow.issued.b1}`] };
    const result = (await flow.call('/callback', call))!;
    return { result, requests: flow.tokenEndpoint.requests, store: flow.store };
  };

  it('refuses a code given twice when one of the names is percent-encoded, without a token request', async () => {
    const { result, requests } = await withState(({ s1 }) => `code=first&c%6Fde=second&state=${s1}`);
    expect(result.statusCode).toBe(400);
    expect(requests).toEqual([]);
  });

  it('exchanges a %2B in the code as a plus, and refuses a raw plus, which is a space', async () => {
    const encoded = await withState(({ s1 }) => `code=a%2Bb&state=${s1}`);
    expect(encoded.result.statusCode).toBe(200);
    expect(encoded.requests.map((request) => request.code)).toEqual(['a+b']);

    const raw = await withState(({ s1 }) => `code=a+b&state=${s1}`);
    expect(raw.result.statusCode).toBe(400);
    expect(raw.requests).toEqual([]);
  });

  it.each(['9007199254740992', '1e3', '1e308', '01003', '%2B5', '1.0'])(
    'refuses the store id %s without a token request or a stored item',
    async (storeId) => {
      const { result, requests, store } = await withState(() => `code=abc&store_id=${storeId}`);
      expect(result.statusCode).toBe(400);
      expect(requests).toEqual([]);
      expect(store.claims.size + store.installations.size).toBe(0);
    },
  );

  it('does not take a name that only resembles code (a BOM before it, another case) for the code', async () => {
    const { result, requests } = await withState(() => '%EF%BB%BFcode=abc&Code=abc&store_id=5');
    expect(result.statusCode).toBe(400);
    expect(requests).toEqual([]);
  });

  // Found by the property: `URLSearchParams` drops one leading `?`, so `/callback??code=...` was read
  // as `code=...`. A raw query starting with `?` is now refused (API Gateway never sends one).
  it('refuses a query whose first parameter name starts with "?" (sends no token request)', async () => {
    const { result, requests } = await withState(() => '?code=abc&store_id=5');
    expect(requests).toEqual([]);
    expect(result.statusCode).toBe(400);
  });

  it('does not read "?state" as the state', async () => {
    const { result, requests, store } = await withState(({ s1 }) => `?state=${s1}&code=abc&store_id=5`);
    expect(result.statusCode).toBe(400);
    expect(requests).toEqual([]);
    expect([...store.states.values()].filter((state) => state.consumedAtEpochSeconds !== undefined)).toEqual([]);
  });
});
