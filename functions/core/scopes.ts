/**
 * Scopes as Ecwid spells them: a space-separated list (a comma is tolerated on input). Pure.
 *
 * @see ../shared/ecwid-protocol.md, "Scopes"
 */

/** Granted to every app, whatever it asked for: never missing. */
export const ALWAYS_GRANTED_SCOPE = 'read_store_profile';

/** The scopes of a list, each once, in their first order. */
export function parseScopes(text: string): string[] {
  return [...new Set(text.split(/[\s,]+/).filter((scope) => scope.length > 0))];
}

/**
 * The configured scopes a grant lacks, sorted: what a re-consent would add. `read_store_profile` is
 * never missing (every grant has it).
 */
export function missingScopes(configured: readonly string[], granted: string): string[] {
  const grantedScopes = new Set(parseScopes(granted));
  return [...new Set(configured)].filter((scope) => scope !== ALWAYS_GRANTED_SCOPE && !grantedScopes.has(scope)).sort();
}

/** Whether two lists of missing scopes say the same (both as `missingScopes` returns them, or absent). */
export function sameScopes(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  const left = a ?? [];
  const right = b ?? [];
  return left.length === right.length && left.every((scope, index) => scope === right[index]);
}
