import { rootLogger } from '../../functions/runtime/composition';
import { REDACTED, redactingReplacer, redactText, rememberSecret } from '../../functions/runtime/redaction';
import { capturingLogger } from '../support/fakes';

const TOKEN = 'secret_ab12cd34ef56gh78ij90kl12mn34op56';
const PUBLIC_TOKEN = 'public_Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0Fe';

describe('log redaction', () => {
  it.each([
    ['an Ecwid access token', `token was ${TOKEN}.`, `token was ${REDACTED}.`],
    ['a public token', `public ${PUBLIC_TOKEN}`, `public ${REDACTED}`],
    ['a Bearer header value', 'Authorization: Bearer abc.def-ghi', `Authorization: Bearer ${REDACTED}`],
    ['a code in a URL', 'GET /callback?code=Xy12Ab&store_id=5', `GET /callback?code=${REDACTED}&store_id=5`],
    ['a state in a URL', '/callback?state=q_lxKfdEgAC&x=1', `/callback?state=${REDACTED}&x=1`],
    ['a form body', 'client_id=a&client_secret=s3cr3t&refresh_token=r1', `client_id=a&client_secret=${REDACTED}&refresh_token=${REDACTED}`],
  ])('removes %s from free text', (_description, text, expected) => {
    expect(redactText(text)).toBe(expected);
  });

  it('leaves ordinary words alone', () => {
    const text = 'invalid_grant_after_unconfirmed_refresh for client_secret_value in store 1003';
    expect(redactText(text)).toBe(text);
  });

  it('redacts secret keys at any depth, and remembered secrets anywhere', () => {
    rememberSecret('the-client-secret-value');
    const line = JSON.stringify(
      {
        message: 'failed with the-client-secret-value inside',
        detail: { headers: { authorization: 'Bearer x', cookie: '__Host-ecwid-install=abc' }, code: 'abc', accessToken: 't' },
        list: [TOKEN],
      },
      redactingReplacer,
    );
    expect(line).not.toMatch(/the-client-secret-value|Bearer x|__Host-ecwid-install=abc|"abc"|secret_ab12/);
    expect(JSON.parse(line)).toEqual({
      message: `failed with ${REDACTED} inside`,
      detail: { headers: { authorization: REDACTED, cookie: REDACTED }, code: REDACTED, accessToken: REDACTED },
      list: [REDACTED],
    });
  });

  it('is applied by the JSON logger', () => {
    const { log, lines } = capturingLogger();
    log.child({ correlationId: 'c-1' }).error('boom', { refreshToken: 'r', note: `saw ${TOKEN}` });
    expect(JSON.parse(lines[0]!)).toMatchObject({ correlationId: 'c-1', refreshToken: REDACTED, note: `saw ${REDACTED}` });
  });

  it('is applied by the Lambda functions\' logger, which writes to stdout and keeps the correlation id of its child', () => {
    const written: string[] = [];
    const capture = (chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    };
    const spies = [jest.spyOn(process.stdout, 'write').mockImplementation(capture), jest.spyOn(process.stderr, 'write').mockImplementation(capture)];
    try {
      rootLogger
        .child({ correlationId: 'request-7' })
        .warn('exchange failed', { body: `access_token=${TOKEN}`, authorization: 'Bearer abc' });
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
    const entry = JSON.parse(written.join('').trim().split('\n').pop()!) as Record<string, unknown>;
    expect(entry).toMatchObject({
      level: 'WARN',
      message: 'exchange failed',
      service: 'ecwid-app-auth',
      correlationId: 'request-7',
      body: `access_token=${REDACTED}`,
      authorization: REDACTED,
    });
    expect(written.join('')).not.toContain(TOKEN);
  });
});
