import { openControlPanelPayload } from '../../functions/core/native-app/control-panel-payload';
import { EcwidAppAuthError } from '../../functions/core/errors';
import { sealPayload } from '../support/control-panel-payload';

const CLIENT_SECRET = 'Xq3p9LmN2vB7tR5w-and-the-rest-of-it';

function seal(value: unknown, options: { secret?: string; keepPadding?: boolean; raw?: Buffer } = {}): string {
  return sealPayload(value, { ...options, secret: options.secret ?? CLIENT_SECRET });
}

const valid = { store_id: 1003, lang: 'en', access_token: 'secret_abcdefghijklmnopqrstuvwxyz123456', public_token: 'public_xyz', view_mode: 'PAGE' };

function refusal(payload: string, secret = CLIENT_SECRET): EcwidAppAuthError {
  try {
    openControlPanelPayload(payload, secret);
  } catch (error) {
    if (error instanceof EcwidAppAuthError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('openControlPanelPayload', () => {
  it('opens what Ecwid sends, with or without base64 padding', () => {
    const expected = { storeId: 1003, lang: 'en', accessToken: valid.access_token, publicToken: 'public_xyz', viewMode: 'PAGE' };
    expect(openControlPanelPayload(seal(valid), CLIENT_SECRET)).toEqual(expected);
    expect(openControlPanelPayload(seal(valid, { keepPadding: true }), CLIENT_SECRET)).toEqual(expected);
    const { public_token: _public, ...withoutPublic } = valid;
    expect(openControlPanelPayload(seal({ ...withoutPublic, lang: 'pt_BR', view_mode: 'INLINE' }), CLIENT_SECRET)).toEqual({
      storeId: 1003,
      lang: 'pt_BR',
      accessToken: valid.access_token,
      viewMode: 'INLINE',
    });
  });

  it.each([
    ['tampered', () => { const text = seal(valid); return text.slice(0, 30) + (text[30] === 'A' ? 'B' : 'A') + text.slice(31); }],
    ['encrypted with another key', () => seal(valid, { secret: 'another-secret-value-entirely' })],
    ['truncated', () => seal(valid).slice(0, -6)],
    ['not base64', () => 'this is not <base64>!'],
    ['too short for an IV and a block', () => Buffer.alloc(16).toString('base64url')],
    ['oversized', () => 'A'.repeat(4097)],
    ['empty', () => ''],
    ['not JSON', () => seal(null, { raw: Buffer.from('store_id=1003') })],
    ['a JSON array', () => seal([valid])],
    ['without a store id', () => seal({ ...valid, store_id: undefined })],
    ['with a store id as text', () => seal({ ...valid, store_id: '1003' })],
    ['with a negative store id', () => seal({ ...valid, store_id: -4 })],
    ['without a token', () => seal({ ...valid, access_token: undefined })],
    ['with a token holding spaces or markup', () => seal({ ...valid, access_token: 'secret_<script> x' })],
    ['with an unknown view mode', () => seal({ ...valid, view_mode: 'FULLSCREEN' })],
    ['with a language that is not one', () => seal({ ...valid, lang: '"><img src=x>' })],
  ])('refuses a payload %s, the same way every time and without saying why', (_description, build) => {
    const error = refusal(build());
    expect(error.code).toBe('APP_PAYLOAD_INVALID');
    expect(error.message).toBe('the control panel payload does not decrypt or validate');
    expect(error.detail).toEqual({});
  });

  it('refuses everything when the client secret is too short to key it', () => {
    expect(refusal(seal(valid, { secret: 'short-secret-16c' }), 'short').code).toBe('APP_PAYLOAD_INVALID');
  });
});
