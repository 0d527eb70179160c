import { startLocalStack, type LocalStack } from '../../local/stack';
import { capturingLogger } from '../support/fakes';

describe('the local admin routes', () => {
  let stack: LocalStack;

  beforeAll(async () => {
    stack = await startLocalStack({ port: 0, clientId: 'local-routes-app', clientSecret: 'local-routes-secret', scopes: ['read_store_profile'], log: capturingLogger().log });
  });
  afterAll(async () => stack?.close());

  const refresh = (headers: Record<string, string>) => fetch(`${stack.url}/__local/refresh`, { method: 'POST', headers });

  it('refuse what another site makes a browser send, so no web page can fire them', async () => {
    const crossSite = await refresh({ 'sec-fetch-site': 'cross-site' });
    expect(crossSite.status).toBe(403);
    await expect(crossSite.json()).resolves.toMatchObject({ error: 'cross_site_request' });
    expect((await refresh({ 'sec-fetch-site': 'same-site' })).status).toBe(403);
    expect((await refresh({ origin: 'https://evil.example' })).status).toBe(403);
    expect((await fetch(`${stack.url}/__local/installations`, { headers: { 'sec-fetch-site': 'cross-site' } })).status).toBe(403);
  });

  it('answer the stack\'s own pages, the address bar, and tools like curl', async () => {
    expect((await refresh({})).status).toBe(200);
    expect((await refresh({ 'sec-fetch-site': 'same-origin', origin: stack.url })).status).toBe(200);
    expect((await fetch(`${stack.url}/__local/installations`, { headers: { 'sec-fetch-site': 'none' } })).status).toBe(200);
  });
});
