import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSessionVerifier } from '../../client/sessions';

/**
 * A key set that cannot be had (the jwks function answering 503 while KMS is away) is
 * `keys_unavailable`, "try again", never `malformed`, which would call the token junk.
 */
describe('the reason given when the JWKS cannot be fetched', () => {
  let server: Server;
  let url: string;
  beforeAll(async () => {
    server = createServer((_request, response) => {
      response.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"encryption_unavailable"}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('says keys_unavailable when the JWKS answers 503', async () => {
    const header = Buffer.from(JSON.stringify({ alg: 'ES256', typ: 'session', kid: 'k1' })).toString('base64url');
    const body = Buffer.from(JSON.stringify({ iss: url, aud: 'a', sub: '1', store_id: 1 })).toString('base64url');
    const token = `${header}.${body}.${Buffer.alloc(64).toString('base64url')}`;
    await expect(createSessionVerifier({ issuer: url, audience: 'a' }).verifySession(token)).rejects.toMatchObject({ reason: 'keys_unavailable' });
  });
});
