import type { IncomingMessage, ServerResponse } from 'node:http';
import { storeBearer } from './fake-ecwid-rest-api';
import type { GrantBook } from './fake-ecwid-grants';
import { sendJson } from './http-util';

/**
 * The fake Ecwid's catalogue (internal to `FakeEcwid`): `GET /api/v3/{storeId}/products`, with the
 * token checks Ecwid makes. Every store has the same few made-up products, named after it.
 */

/** One request to the products endpoint, as the fake answered it. */
export interface ProductRequestRecord {
  storeId: number;
  status: number;
  /** `ok`, `invalid_token` (403 `INVALID_API_TOKEN`), `insufficient_scope` (403 `INSUFFICIENT_APP_SCOPE`), `rate_limited`, `bad_request`. */
  outcome: 'ok' | 'invalid_token' | 'insufficient_scope' | 'rate_limited' | 'bad_request';
}

/** How many products each store has. */
export const PRODUCTS_PER_STORE = 5;

/** What Ecwid's product search answers for one product, trimmed to the usual fields. */
export interface FakeProduct {
  id: number;
  sku: string;
  name: string;
  price: number;
  enabled: boolean;
  inStock: boolean;
}

/** The products of a store, always the same ones. */
export function productsOf(storeId: number): FakeProduct[] {
  return Array.from({ length: PRODUCTS_PER_STORE }, (_, index) => ({
    id: storeId * 1000 + index + 1,
    sku: `SKU-${storeId}-${index + 1}`,
    name: `Product ${index + 1} of store ${storeId}`,
    price: 10 * (index + 1) - 0.01,
    enabled: true,
    inStock: index % 2 === 0,
  }));
}

/**
 * Answers a product search. The token must come as `Authorization: Bearer`, be alive, unexpired and
 * the store's (else 403 `INVALID_API_TOKEN`), and its grant must include `read_catalog` (else 403
 * `INSUFFICIENT_APP_SCOPE`). `offset` and `limit` (at most 100) page through the results.
 *
 * @see https://api-docs.ecwid.com/reference/search-products
 */
export function answerProducts(
  request: IncomingMessage,
  response: ServerResponse,
  storeId: number,
  query: URLSearchParams,
  grants: GrantBook,
): ProductRequestRecord['outcome'] {
  const bearer = storeBearer(request, response, storeId, grants);
  if (bearer === undefined) return 'invalid_token';
  if (!(grants.scopeOf(bearer) ?? '').split(' ').includes('read_catalog')) {
    sendJson(response, 403, { errorMessage: 'The app is not allowed to read the catalog', errorCode: 'INSUFFICIENT_APP_SCOPE' });
    return 'insufficient_scope';
  }
  const offset = wholeNumber(query.get('offset'), 0);
  const limit = wholeNumber(query.get('limit'), 100);
  if (offset === undefined || limit === undefined || limit > 100) {
    sendJson(response, 400, { errorMessage: 'offset and limit must be whole numbers, limit at most 100', errorCode: 'INVALID_PARAMETER' });
    return 'bad_request';
  }
  const all = productsOf(storeId);
  const items = all.slice(offset, offset + limit);
  sendJson(response, 200, { total: all.length, count: items.length, offset, limit, items });
  return 'ok';
}

function wholeNumber(text: string | null, fallback: number): number | undefined {
  if (text === null) return fallback;
  return /^\d{1,6}$/.test(text) ? Number(text) : undefined;
}
