import { encryptControlPanelPlaintext } from '../../local/fake-ecwid-control-panel';

/** What Ecwid builds for the app's iframe, from any value (valid or not), with or without base64 padding. */
export function sealPayload(value: unknown, options: { secret: string; keepPadding?: boolean; raw?: Buffer }): string {
  const encoded = encryptControlPanelPlaintext(options.raw ?? Buffer.from(JSON.stringify(value), 'utf8'), options.secret);
  return options.keepPadding === true ? encoded + '='.repeat((4 - (encoded.length % 4)) % 4) : encoded;
}
