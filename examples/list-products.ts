/**
 * `npm run example:list-products -- --store 1003`: what the app's own code does with this backend,
 * run against the local stack (`npm start` in another terminal, and a store installed there).
 *
 * 1. Reads the store's credentials through `GET /stores/{storeId}/credentials`, with the client
 *    library's credentials API client: unsigned here, since the local stack has no IAM; deployed,
 *    the same client signs every request with SigV4 (leave out `auth: 'none'`).
 * 2. Lists the store's products from the (fake) Ecwid REST API with `createEcwidApi`, which handles
 *    rate limits, retries, and a refused token (reported back to the backend) on its own.
 *
 * Options: --store <id> (1003), --url <local stack> (http://localhost:3000), --ecwid-api-url
 * <REST API origin> (the local stack's fake Ecwid), --limit <n> (10).
 */
import { parseArgs } from 'node:util';
import {
  createCredentialsApiClient,
  createEcwidApi,
  CredentialsApiError,
  EcwidAppAuthError,
  InstallationUnusableError,
  InsufficientScopeError,
  NotInstalledError,
  RateLimitedError,
  TokenRejectedError,
} from '../client';

interface ProductPage {
  total: number;
  items: Array<{ id: number; sku: string; name: string; price: number; inStock: boolean }>;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      store: { type: 'string', default: '1003' },
      url: { type: 'string', default: 'http://localhost:3000' },
      'ecwid-api-url': { type: 'string' },
      limit: { type: 'string', default: '10' },
    },
  });
  const storeId = Number(values.store);
  const url = values.url.replace(/\/+$/, '');

  const credentials = createCredentialsApiClient({ url, auth: 'none' });
  const ecwid = createEcwidApi({ credentials, apiUrl: values['ecwid-api-url'] ?? `${url}/fake-ecwid` });

  const { scope, expiresAt } = await credentials.getCredentials(storeId);
  console.log(`Store ${storeId}: a token with scopes "${scope}", ${expiresAt === null ? 'not expiring' : `expiring at ${expiresAt}`}.`);
  const page = await ecwid.request<ProductPage>(storeId, 'GET', 'products', { query: { limit: Number(values.limit) } });
  console.log(`${page.total} products; the first ${page.items.length}:`);
  for (const product of page.items) {
    console.log(`  ${product.sku.padEnd(16)} ${product.name.padEnd(28)} ${product.price.toFixed(2).padStart(8)}  ${product.inStock ? 'in stock' : 'out of stock'}`);
  }
}

function explain(error: unknown, url: string): string {
  if (error instanceof NotInstalledError) {
    return `Store ${error.storeId} has not installed the app. Install it first: ${url}/fake-ecwid/app-market/install?store_id=${error.storeId}&scope=read_store_profile+read_catalog`;
  }
  if (error instanceof InstallationUnusableError) return `Store ${error.storeId} cannot be used: ${error.status} (${error.reason}).`;
  if (error instanceof InsufficientScopeError) return `The store did not grant the scope this needs (it granted "${error.grantedScope}"): install again with read_catalog.`;
  if (error instanceof TokenRejectedError) return `Ecwid refused the token; the backend concluded: ${error.verdict?.status ?? 'nothing (the report failed)'}.`;
  if (error instanceof RateLimitedError) return `Ecwid is rate-limiting; try again in ${error.retryAfterSeconds ?? 'a few'} seconds.`;
  if (error instanceof CredentialsApiError) return `${error.message}. Is the local stack running (npm start)?`;
  if (error instanceof EcwidAppAuthError) return `${error.code}: ${error.message}.`;
  return error instanceof Error ? error.message : String(error);
}

main().catch((error: unknown) => {
  const url = process.argv.includes('--url') ? process.argv[process.argv.indexOf('--url') + 1]! : 'http://localhost:3000';
  console.error(explain(error, url.replace(/\/+$/, '')));
  process.exitCode = 1;
});
