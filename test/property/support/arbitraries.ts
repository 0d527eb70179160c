import fc from 'fast-check';
import { decodeFormQuery, encodeComponent, MAX_QUERY_LENGTH, percentEncodeAll } from './query-reading';

export const BINDING_COOKIE = '__Host-ecwid-install';

/** The states the harness's `/authorize` issued in a run, and the browser-binding cookies they belong to. */
export interface IssuedStates {
  /** Browser 1, first install. */
  s1: string;
  /** Browser 2. */
  s2: string;
  /** Browser 1 again (a second tab): bound to the same cookie as `s1`. */
  s3: string;
  b1: string;
  b2: string;
}

/** One request as the browser sends it: the raw query, and cookies as API Gateway passes them. */
export interface HttpCall {
  query: string;
  /** API Gateway v2's `cookies` array. */
  cookies?: string[];
  /** A raw `Cookie` header instead (the fallback `readCookie` also reads). */
  cookieHeader?: string;
}

const CODE_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~+/=-';
const NONCE_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-';

/** Values no callback should carry: broken escapes, invalid UTF-8, markup, control characters. */
const HOSTILE_LITERALS = [
  '%',
  '%%',
  '%G1',
  '%1',
  '%zz',
  '%FF%FE',
  '%ED%A0%80',
  '%ED%B0%80',
  '%C0%AE',
  '%E2%82',
  '%F4%90%80%80',
  '%EF%BB%BF',
  '%00',
  '%0D%0ASet-Cookie:+x=y',
  '\uD800',
  '\uDFFF',
  '\uFFFD',
  '\u0000',
  '<script>alert(1)</script>',
  '%3Cscript%3Ealert(1)%3C%2Fscript%3E',
  '"><img src=x onerror=alert(1)>',
  '%22%3E%3Csvg%20onload%3Dalert(1)%3E',
  "'\"><",
  'javascript:alert(1)',
  '&#60;script',
  '${7*7}',
  '../../etc/passwd',
  '__proto__',
  'constructor',
  'null',
  'undefined',
];

const hugeValue = fc
  .record({
    unit: fc.constantFrom('A', 'a%2B', '%3C', '"', '%FF', '<', '-', '%'),
    length: fc.integer({ min: 513, max: 20_000 }),
  })
  .map(({ unit, length }) => unit.repeat(Math.ceil(length / unit.length)));

/** A raw (already encoded, or deliberately not) hostile value. */
export const hostileRaw: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...HOSTILE_LITERALS) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 24 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 24 }).map(encodeComponent) },
  { weight: 1, arbitrary: hugeValue },
);

const wellFormedCode = fc.string({ unit: fc.constantFrom(...CODE_ALPHABET), minLength: 1, maxLength: 48 });

const codeValue: fc.Arbitrary<string> = fc.oneof(
  { weight: 16, arbitrary: wellFormedCode.map(encodeComponent) },
  { weight: 1, arbitrary: wellFormedCode.map(percentEncodeAll) },
  // Unencoded: a `+` in it arrives as a space.
  { weight: 1, arbitrary: wellFormedCode },
  {
    weight: 1,
    arbitrary: fc
      .record({ length: fc.constantFrom(511, 512, 513, 4096), character: fc.constantFrom('a', 'Z', '9', '-', '%2B') })
      .map(({ length, character }) => character.repeat(length)),
  },
  { weight: 3, arbitrary: hostileRaw },
);

const EDGE_STORE_IDS = [
  '0',
  '-0',
  '-1',
  '00',
  '01003',
  '1.5',
  '1.0',
  '1e3',
  '1E3',
  '1e308',
  '1e309',
  'Infinity',
  'NaN',
  '0x10',
  '0b1',
  '0o7',
  '+5',
  '%2B5',
  '%205',
  '5%20',
  '5%00',
  '5,6',
  '1_000',
  '9007199254740991',
  '9007199254740992',
  '9007199254740993',
  '99999999999999999999',
  '18446744073709551616',
  '1'.repeat(309),
  encodeComponent('１２３'),
  encodeComponent('١٢٣'),
  '',
];

const storeIdValue: fc.Arbitrary<string> = fc.oneof(
  { weight: 16, arbitrary: fc.integer({ min: 1, max: 2 ** 31 }).map(String) },
  { weight: 2, arbitrary: fc.constantFrom('1', '1003', '9007199254740991') },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 99_999 }).map((id) => percentEncodeAll(String(id))) },
  { weight: 5, arbitrary: fc.constantFrom(...EDGE_STORE_IDS) },
  {
    weight: 4,
    arbitrary: fc
      .record({
        id: fc.integer({ min: 1, max: 99_999 }),
        form: fc.constantFrom<Array<(id: number) => string>>(
          (id) => `0${id}`,
          (id) => `00${id}`,
          (id) => `-${id}`,
          (id) => `%2B${id}`,
          (id) => `+${id}`,
          (id) => `${id}.0`,
          (id) => `${id}e0`,
          (id) => `${id}%20`,
          (id) => `%20${id}`,
          (id) => `${id}%00`,
          (id) => `${id}n`,
          (id) => `0x${id.toString(16)}`,
        ),
      })
      .map(({ id, form }) => form(id)),
  },
  { weight: 1, arbitrary: fc.integer({ min: -(2 ** 31), max: 0 }).map(String) },
  { weight: 1, arbitrary: fc.double().map((value) => encodeComponent(String(value))) },
  { weight: 1, arbitrary: fc.bigInt({ min: 2n ** 53n - 2n, max: 10n ** 40n }).map(String) },
  { weight: 1, arbitrary: hostileRaw },
);

const errorValue: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.constantFrom(
      'access_denied',
      'access+denied',
      'access%20denied',
      '%61ccess_denied',
      'ACCESS_DENIED',
      'access_denied%00',
      'invalid_scope',
      'server_error',
      '',
    ),
  },
  { weight: 1, arbitrary: hostileRaw },
);

function stateValue(issued: IssuedStates): fc.Arbitrary<string> {
  const { s1, s2, s3, b1 } = issued;
  const anyIssued = fc.constantFrom(s1, s2, s3);
  return fc.oneof(
    { weight: 14, arbitrary: anyIssued },
    { weight: 1, arbitrary: anyIssued.map(percentEncodeAll) },
    {
      weight: 2,
      arbitrary: fc
        .record({ state: anyIssued, at: fc.nat({ max: 42 }), character: fc.constantFrom(...NONCE_ALPHABET) })
        .map(({ state, at, character }) => `${state.slice(0, at)}${character}${state.slice(at + 1)}`),
    },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        s1.slice(1),
        s1.slice(0, 42),
        `${s1}A`,
        s1.toLowerCase(),
        s1.toUpperCase(),
        `+${s1}`,
        `${s1}+`,
        `${s1}%20`,
        `${s1}%00`,
        `${s1}${s1}`,
        b1,
        '',
      ),
    },
    { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom(...NONCE_ALPHABET), minLength: 43, maxLength: 43 }) },
    { weight: 2, arbitrary: hostileRaw },
  );
}

/** How a meaningful parameter's name is written: mostly plainly, sometimes encoded, sometimes almost right. */
function nameOf(name: string): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 30, arbitrary: fc.constant(name) },
    {
      weight: 1,
      arbitrary: fc
        .nat({ max: name.length - 1 })
        .map((at) => `${name.slice(0, at)}${percentEncodeAll(name[at]!)}${name.slice(at + 1)}`),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        name.toUpperCase(),
        `${name}+`,
        `+${name}`,
        `${name}%20`,
        `${name}%00`,
        `${name}[]`,
        `${name}%5B%5D`,
        `%EF%BB%BF${name}`,
        `${name}\uD800`,
        name.replace('_', '-'),
      ),
    },
  );
}

const UNKNOWN_NAMES = [
  'iss',
  'utm_source',
  'utm_medium',
  'utm_campaign',
  'utm_content',
  'lang',
  'hmac',
  'timestamp',
  'client_id',
  'redirect_uri',
  'scope',
  'error_description',
  'storeId',
  'store',
  'codes',
  'state_',
  '',
  '%3Cscript%3E',
  '<script>',
  '"',
  '%FF',
  '\uD800',
  '%C3%A9',
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
];

/** Where a parameter goes in the query: fields are sorted by it, so any order can come up. */
const rank = fc.nat({ max: 1000 });

const unknownField = fc.record({
  name: fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...UNKNOWN_NAMES) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 8 }) },
  ),
  value: fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom('https%3A%2F%2Fmy.ecwid.com', 'ecwid', 'a+b', 'a%20b', 'x') },
    { weight: 2, arbitrary: hostileRaw },
    { weight: 1, arbitrary: fc.constant(undefined) },
  ),
  rank,
});

interface Field {
  name: string;
  value: string | undefined;
  rank: number;
}

/** Zero, one or two occurrences of a parameter, with the given weights. */
function occurrences(name: string, value: fc.Arbitrary<string>, weights: [number, number, number]): fc.Arbitrary<Field[]> {
  const field = fc.record({
    name: nameOf(name),
    value: fc.oneof({ weight: 40, arbitrary: value }, { weight: 1, arbitrary: fc.constant(undefined) }),
    rank,
  });
  return fc.oneof(
    { weight: weights[0], arbitrary: fc.constant<Field[]>([]) },
    { weight: weights[1], arbitrary: fc.tuple(field).map((list): Field[] => [...list]) },
    { weight: weights[2], arbitrary: fc.tuple(field, field).map((list): Field[] => [...list]) },
  );
}

/** Junk before the first parameter, including the `?` of a URL written with `??`. */
const QUERY_PREFIXES = ['?', '&', '&&', '=&', ';', '%3F'];

function renderQuery(fields: Field[], prefix = '', suffix = ''): string {
  const pairs = [...fields].sort((a, b) => a.rank - b.rank).map(({ name, value }) => (value === undefined ? name : `${name}=${value}`));
  return `${prefix}${pairs.join('&')}${suffix}`;
}

const extraFields: fc.Arbitrary<Field[]> = fc.oneof(
  { weight: 3, arbitrary: fc.constant<Field[]>([]) },
  { weight: 2, arbitrary: fc.array(unknownField, { minLength: 1, maxLength: 4 }) },
);

/** A redirect as Ecwid sends it (a consent, a denial, an App Market install), with unknown parameters mixed in. */
function wellFormedCallback(issued: IssuedStates): fc.Arbitrary<string> {
  const field = (name: string, value: fc.Arbitrary<string>): fc.Arbitrary<Field> => fc.record({ name: fc.constant(name), value, rank });
  const code = field('code', fc.oneof({ weight: 6, arbitrary: wellFormedCode.map(encodeComponent) }, { weight: 1, arbitrary: wellFormedCode.map(percentEncodeAll) }));
  const state = field('state', fc.constantFrom(issued.s1, issued.s2, issued.s3));
  const storeId = field('store_id', fc.integer({ min: 1, max: 2 ** 31 }).map(String));
  const lane: fc.Arbitrary<Array<Field | undefined>> = fc.oneof(
    { weight: 4, arbitrary: fc.tuple(code, state, fc.option(storeId, { nil: undefined })) },
    { weight: 2, arbitrary: fc.tuple(code, storeId) },
    { weight: 1, arbitrary: fc.tuple(field('error', fc.constant('access_denied')), fc.option(state, { nil: undefined })) },
  );
  // Sometimes padded by a tracking parameter to just within, or just beyond, the length limit.
  const paddedTo = fc.oneof({ weight: 12, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom(MAX_QUERY_LENGTH, MAX_QUERY_LENGTH + 1) });
  return fc.tuple(lane, extraFields, paddedTo).map(([fields, extras, length]) => {
    const query = renderQuery([...fields.filter((item): item is Field => item !== undefined), ...extras]);
    const padding = '&utm_content=';
    return length === undefined ? query : `${query}${padding}${'x'.repeat(Math.max(0, length - query.length - padding.length))}`;
  });
}

/** A callback query shaped like Ecwid's redirect, with hostile parts mixed into any of its parameters. */
function hostileCallback(issued: IssuedStates): fc.Arbitrary<string> {
  return fc
    .record({
      codes: occurrences('code', codeValue, [1, 30, 1]),
      states: occurrences('state', stateValue(issued), [10, 20, 1]),
      storeIds: occurrences('store_id', storeIdValue, [8, 16, 1]),
      errors: occurrences('error', errorValue, [30, 2, 1]),
      extras: extraFields,
      prefix: fc.oneof({ weight: 20, arbitrary: fc.constant('') }, { weight: 1, arbitrary: fc.constantFrom(...QUERY_PREFIXES) }),
      suffix: fc.oneof({ weight: 20, arbitrary: fc.constant('') }, { weight: 1, arbitrary: fc.constantFrom('&', '&&', '#top', '=', ';') }),
    })
    .map(({ codes, states, storeIds, errors, extras, prefix, suffix }) =>
      renderQuery([...codes, ...states, ...storeIds, ...errors, ...extras], prefix, suffix),
    );
}

/** A callback query: a third as Ecwid would send it, the rest with hostile parts. */
export function callbackQuery(issued: IssuedStates): fc.Arbitrary<string> {
  return fc.oneof({ weight: 1, arbitrary: wellFormedCallback(issued) }, { weight: 2, arbitrary: hostileCallback(issued) });
}

/**
 * The cookies sent with a callback. `own` is the binding cookie of the browser the query's state
 * was issued to (what a real browser sends); the others are another browser's, none, or hostile.
 */
type CookieChoice =
  | { kind: 'own' | 'other' | 'none' }
  | { kind: 'entries'; entries: Array<string | 'own'> }
  | { kind: 'header'; entries: Array<string | 'own'> };

function cookieEntry(issued: IssuedStates): fc.Arbitrary<string | 'own'> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.constant('own' as const) },
    { weight: 2, arbitrary: fc.constantFrom('theme=dark', 'session=abc', '_ga=GA1.2.3', `${BINDING_COOKIE}-other=1`) },
    {
      weight: 3,
      arbitrary: fc.constantFrom(
        `${BINDING_COOKIE}=`,
        BINDING_COOKIE,
        '=',
        '',
        `  ${BINDING_COOKIE} =  ${issued.b1}  `,
        `${BINDING_COOKIE}="${issued.b1}"`,
        `__HOST-ecwid-install=${issued.b1}`,
        `${BINDING_COOKIE}=${issued.b1}; theme=dark`,
        `${BINDING_COOKIE}=${issued.b2}`,
        `${BINDING_COOKIE}=${issued.s1}`,
        `${BINDING_COOKIE}=${issued.b1}${issued.b1}`,
        `${BINDING_COOKIE}=${issued.b1.slice(1)}`,
      ),
    },
    { weight: 2, arbitrary: hostileRaw.map((value) => `${BINDING_COOKIE}=${value}`) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
  );
}

function cookieChoice(issued: IssuedStates): fc.Arbitrary<CookieChoice> {
  const entries = fc.array(cookieEntry(issued), { minLength: 1, maxLength: 4 });
  return fc.oneof(
    { weight: 10, arbitrary: fc.constant({ kind: 'own' as const }) },
    { weight: 2, arbitrary: fc.constantFrom({ kind: 'other' as const }, { kind: 'none' as const }) },
    { weight: 3, arbitrary: entries.map((list) => ({ kind: 'entries' as const, entries: list })) },
    { weight: 1, arbitrary: entries.map((list) => ({ kind: 'header' as const, entries: list })) },
  );
}

/** The binding of the browser a query's (first decoded) state belongs to; browser 1 by default. */
function bindingFor(query: string, issued: IssuedStates): { own: string; other: string } {
  const state = decodeFormQuery(query).find(([name]) => name === 'state')?.[1];
  return state === issued.s2 ? { own: issued.b2, other: issued.b1 } : { own: issued.b1, other: issued.b2 };
}

function withCookies(query: string, choice: CookieChoice, issued: IssuedStates): HttpCall {
  const { own, other } = bindingFor(query, issued);
  const resolve = (entries: Array<string | 'own'>) => entries.map((entry) => (entry === 'own' ? `${BINDING_COOKIE}=${own}` : entry));
  switch (choice.kind) {
    case 'own':
      return { query, cookies: [`${BINDING_COOKIE}=${own}`] };
    case 'other':
      return { query, cookies: [`${BINDING_COOKIE}=${other}`] };
    case 'none':
      return { query };
    case 'entries':
      return { query, cookies: resolve(choice.entries) };
    case 'header':
      return { query, cookieHeader: resolve(choice.entries).join('; ') };
  }
}

export function callbackCall(issued: IssuedStates): fc.Arbitrary<HttpCall> {
  return fc
    .record({ query: callbackQuery(issued), cookies: cookieChoice(issued) })
    .map(({ query, cookies }) => withCookies(query, cookies, issued));
}

/** Any string at all, for places that take no query (`/authorize`). */
export const anyQuery: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 80 }) },
  { weight: 2, arbitrary: hostileRaw },
  {
    weight: 3,
    arbitrary: fc
      .array(
        fc.tuple(
          fc.constantFrom('state', 'redirect_uri', 'client_id', 'scope', 'response_type', 'code', 'store_id', 'error', 'utm_source', ''),
          fc.oneof(fc.constantFrom('https%3A%2F%2Fevil.example%2Fcallback', 'evil', 'a'.repeat(43), 'update_catalog'), hostileRaw),
        ),
        { maxLength: 5 },
      )
      .map((pairs) => pairs.map(([name, value]) => `${name}=${value}`).join('&')),
  },
);

/** Cookies an `/authorize` request may carry: none, a previous binding, or anything at all. */
export const authorizeCookies: fc.Arbitrary<{ cookies?: string[]; cookieHeader?: string }> = (() => {
  const nonce = fc.string({ unit: fc.constantFrom(...NONCE_ALPHABET), minLength: 43, maxLength: 43 });
  const entry = fc.oneof(
    { weight: 3, arbitrary: nonce.map((value) => `${BINDING_COOKIE}=${value}`) },
    { weight: 3, arbitrary: hostileRaw.map((value) => `${BINDING_COOKIE}=${value}`) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        `${BINDING_COOKIE}=`,
        BINDING_COOKIE,
        `${BINDING_COOKIE}=${'a'.repeat(42)}`,
        `${BINDING_COOKIE}=${'a'.repeat(44)}`,
        `${BINDING_COOKIE}=${'a'.repeat(42)}=`,
        `${BINDING_COOKIE}=${'a'.repeat(42)}/`,
        `${BINDING_COOKIE}=${'a'.repeat(42)}+`,
        `${BINDING_COOKIE}="${'a'.repeat(43)}"`,
        `${BINDING_COOKIE}=${'a'.repeat(43)}; Path=/`,
        `__host-ecwid-install=${'a'.repeat(43)}`,
        'theme=dark',
        '=',
        '',
      ),
    },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 60 }) },
  );
  const entries = fc.array(entry, { minLength: 1, maxLength: 3 });
  return fc.oneof(
    { weight: 1, arbitrary: fc.constant({}) },
    { weight: 4, arbitrary: entries.map((cookies) => ({ cookies })) },
    { weight: 1, arbitrary: entries.map((cookies) => ({ cookieHeader: cookies.join('; ') })) },
  );
})();
