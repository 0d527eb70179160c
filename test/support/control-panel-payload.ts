import { createCipheriv, randomBytes } from 'node:crypto';

/** What Ecwid builds for the app's iframe: IV ‖ AES-128-CBC(JSON), URL-safe base64, keyed with the secret's first 16 characters. */
export function sealPayload(value: unknown, options: { secret: string; keepPadding?: boolean; raw?: Buffer }): string {
  const iv = randomBytes(16);
  const cipher = createCipheriv('aes-128-cbc', Buffer.from(options.secret.slice(0, 16), 'utf8'), iv);
  const plaintext = options.raw ?? Buffer.from(JSON.stringify(value), 'utf8');
  const encoded = Buffer.concat([iv, cipher.update(plaintext), cipher.final()]).toString('base64url');
  return options.keepPadding === true ? encoded + '='.repeat((4 - (encoded.length % 4)) % 4) : encoded;
}
