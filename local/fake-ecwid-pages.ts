import { escapeHtml } from '../functions/runtime/pages';

/** The fake Ecwid's HTML (internal to `FakeEcwid`): its consent page and its error pages. */

export interface ConsentPageInput {
  clientId: string;
  redirectUri: string;
  scope: string;
  state: string | null;
  /** Where the form posts the merchant's decision. */
  decisionPath: string;
  defaultStoreId: number;
}

/** Ecwid's consent page: the scopes asked for, a store id, Approve and Deny. */
export function consentPageHtml(input: ConsentPageInput): string {
  const hidden = (name: string, value: string | null) =>
    value === null ? '' : `<input type="hidden" name="${name}" value="${escapeHtml(value)}">`;
  const scopes = input.scope.split(/\s+/).filter(Boolean).map((item) => `<li><code>${escapeHtml(item)}</code></li>`);
  return fakeEcwidPage(
    'Install app',
    `<p>The application <b>${escapeHtml(input.clientId)}</b> asks for access to your store:</p>
<ul>${scopes.join('')}</ul>
<form method="post" action="${escapeHtml(input.decisionPath)}">
${hidden('client_id', input.clientId)}${hidden('redirect_uri', input.redirectUri)}${hidden('scope', input.scope)}${hidden('state', input.state)}
<p><label>Store id <input name="store_id" id="store_id" value="${input.defaultStoreId}" inputmode="numeric"></label></p>
<p><button type="submit" name="decision" value="approve" id="approve">Approve</button>
<button type="submit" name="decision" value="deny" id="deny">Deny</button></p>
</form>`,
  );
}

/** A page of the fake; `body` is HTML the caller has escaped. */
export function fakeEcwidPage(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)} · Fake Ecwid</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:10vh auto;padding:0 1rem}button{font-size:1rem;padding:.5rem 1rem;margin-right:.5rem}</style>
</head><body><p><small>Fake Ecwid (local stack)</small></p><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
}
