import { ConfigurationError } from '../core/errors';

/** What the stack stores in a secret it creates, until an operator puts the real client secret there. */
export const CLIENT_SECRET_PLACEHOLDER = 'REPLACE_WITH_THE_ECWID_CLIENT_SECRET';

/**
 * The client secret inside a secret's string: the string itself, or the `clientSecret` (or
 * `client_secret`) field of a JSON object.
 *
 * @throws ConfigurationError when the secret is empty, is still the placeholder, or is broken JSON.
 */
export function extractClientSecret(secretString: string | undefined): string {
  let value = secretString?.trim() ?? '';
  if (value.startsWith('{')) {
    try {
      const parsed = JSON.parse(value) as Record<string, unknown>;
      const field = parsed.clientSecret ?? parsed.client_secret;
      value = typeof field === 'string' ? field.trim() : '';
    } catch {
      throw new ConfigurationError('the client secret is not valid JSON');
    }
  }
  if (value === '' || value === CLIENT_SECRET_PLACEHOLDER) {
    throw new ConfigurationError('the client secret has not been set in Secrets Manager');
  }
  return value;
}
