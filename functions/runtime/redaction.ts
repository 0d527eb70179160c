/**
 * What every log line goes through before it is written, whichever logger writes it: nothing that
 * looks like a token, an authorization code, a client secret or an `Authorization` header survives.
 * Defence in depth: the code never logs these on purpose; this catches what slips through (an
 * error message from a library, a field added carelessly).
 */
export const REDACTED = '[REDACTED]';

/** Keys whose values are secret whatever they hold. */
const SECRET_KEY = /^(?:authorization|cookie|set-cookie|code|state|client_?secret|(?:access|refresh|public)_?token|token|secret|password|x-ecwid-app-auth-origin)$/i;

/** Ecwid's token shapes: `secret_` / `public_` and a long alphanumeric tail (also refresh tokens of other servers). */
const ECWID_TOKEN = /\b(?:secret|public|refresh)_[A-Za-z0-9]{16,}\b/g;

/** `Authorization: Bearer ...` or `Basic ...` in free text. */
const AUTHORIZATION_VALUE = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi;

/** Secret parameters inside a URL or a form body in free text. */
const SECRET_PARAMETER = /\b(code|state|client_secret|refresh_token|access_token|token)=[^&\s"'#<>]+/gi;

/** Values known to be secret at run time (the client secret once read), redacted wherever they appear. */
const knownSecrets = new Set<string>();

/** Remembers a secret value so no log line can carry it. Short values are ignored: they would redact words. */
export function rememberSecret(value: string): void {
  if (value.length >= 8) knownSecrets.add(value);
}

export function redactText(text: string): string {
  let redacted = text;
  for (const secret of knownSecrets) {
    if (redacted.includes(secret)) redacted = redacted.split(secret).join(REDACTED);
  }
  return redacted
    .replace(ECWID_TOKEN, REDACTED)
    .replace(AUTHORIZATION_VALUE, `$1 ${REDACTED}`)
    .replace(SECRET_PARAMETER, `$1=${REDACTED}`);
}

/** A `JSON.stringify` replacer that redacts secret keys and secret-looking text at any depth. */
export function redactingReplacer(key: string, value: unknown): unknown {
  if (key !== '' && SECRET_KEY.test(key) && value !== undefined && value !== null) return REDACTED;
  if (typeof value === 'string') return redactText(value);
  return value;
}
