/**
 * Reference for `npm run bench`, not part of the app: the Lambda function a user of the `grant` package
 * writes for Ecwid's install flow instead of this project, following grant's README (`grant.aws`) with
 * its built-in `ecwid` provider. The handler is created at module scope, as a user would, so a cold
 * start pays for it. Like any grant user's code it reads its settings straight from the environment.
 *
 * `GET /connect/ecwid` redirects to Ecwid; `GET /connect/ecwid/callback` exchanges the code and, with
 * the `state` transport, hands the token response back to this handler, which has nowhere to keep it:
 * see `grant-with-storage.ts` for what keeping it takes.
 */
import grant from 'grant';

const ecwid = grant.aws({
  config: {
    defaults: { origin: process.env.PUBLIC_URL, prefix: '/connect', transport: 'state', state: true },
    ecwid: {
      key: process.env.ECWID_CLIENT_ID,
      secret: process.env.ECWID_CLIENT_SECRET,
      scope: (process.env.ECWID_SCOPES ?? '').split(' '),
      callback: '/installed',
    },
  },
  session: { secret: process.env.GRANT_SESSION_SECRET ?? '' },
});

export async function handler(event: unknown): Promise<unknown> {
  const { redirect, response } = await ecwid(event);
  if (redirect !== undefined) return redirect;
  // The store the token was issued for, never the token itself.
  const storeId: unknown = response?.raw?.store_id;
  return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ storeId }) };
}
