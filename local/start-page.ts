import type { InstallationReport } from '../functions/runtime/installation-report';
import { escapeHtml } from '../functions/runtime/pages';

/**
 * The local stack's start page, with forms of its own (the product's pages allow none): links to
 * start an install, and each stored installation with **Open the app** (the fake Ecwid's control
 * panel, framing `/app` as Ecwid does), **Uninstall** and **Change subscription**.
 */
export const START_PAGE_CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

const SUBSCRIPTION_STATUSES = ['TRIAL', 'ACTIVE', 'SUSPENDED', 'CANCELLED'];

export function startPageHtml(input: {
  publicUrl: string;
  builtInFake: boolean;
  stores: InstallationReport[];
  fakePath: string;
  /** The scopes the app asks for, space-separated: what a simulated App Market install grants. */
  scopes: string;
}): string {
  const { publicUrl, builtInFake } = input;
  const link = (href: string, label: string) => `<a class="button" href="${escapeHtml(href)}">${escapeHtml(label)}</a>`;
  const rows = input.stores.map((store) => {
    const actions =
      builtInFake && store.status !== 'uninstalled' && store.status !== 'not_installed'
        ? `${link(`${publicUrl}${input.fakePath}/control-panel?store_id=${store.storeId}`, 'Open the app')}
<form method="post" action="/__local/stores/uninstall"><input type="hidden" name="store_id" value="${store.storeId}"><button type="submit">Uninstall</button></form>
<form method="post" action="/__local/stores/subscription"><input type="hidden" name="store_id" value="${store.storeId}">
<select name="status" aria-label="Subscription status">${SUBSCRIPTION_STATUSES.map((status) => `<option>${status}</option>`).join('')}</select>
<button type="submit">Change subscription</button></form>`
        : '';
    return `<tr><td>${store.storeId}</td><td>${escapeHtml(store.status)}</td><td>${escapeHtml(store.statusReason ?? '')}</td><td>${escapeHtml(store.subscriptionStatus ?? '')}</td><td>${actions}</td></tr>`;
  });
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Ecwid app authorization: local stack</title>
<style>body{font-family:system-ui,sans-serif;max-width:56rem;margin:6vh auto;padding:0 1rem;color:#1f2933}a.button{display:inline-block;margin:.25rem .5rem .25rem 0;padding:.5rem 1rem;border-radius:8px;background:#0c6bd6;color:#fff;text-decoration:none}table{border-collapse:collapse;width:100%;margin-top:1rem}td,th{border-bottom:1px solid #ddd;padding:.4rem;text-align:left;vertical-align:top}form{display:inline-block;margin-right:.5rem}</style>
</head><body><h1>Ecwid app authorization: local stack</h1>
<p>${escapeHtml(
    builtInFake
      ? 'Connect a store to start an app-initiated install: the built-in fake Ecwid shows its consent page, and an approved install is stored in the local database. Open the app shows it inside the fake control panel, as Ecwid frames it: /app gets an encrypted payload for the store and sends a session to the demo app UI. Uninstall and Change subscription act as the merchant would in Ecwid: the fake revokes the token (for an uninstall) and delivers a signed webhook, sometimes twice.'
      : 'Connect a store to start an app-initiated install with the OAuth server you configured.',
  )}</p>
<p>${escapeHtml(
    `A store's credentials are at ${publicUrl}/stores/{storeId}/credentials (and a refused token is reported with POST to .../credentials/rejected). ` +
      'Here they answer without IAM authorization, to anyone who can reach this loopback address; deployed, callers must sign with SigV4 and be granted access.',
  )}</p>
<p>${link(`${publicUrl}/authorize`, 'Connect a store')}${
    builtInFake
      ? link(`${publicUrl}${input.fakePath}/app-market/install?${new URLSearchParams({ store_id: '1003', scope: input.scopes })}`, 'Simulate an App Market install')
      : ''
  }${link(`${publicUrl}/__local/installations`, 'Stored installations')}${link(`${publicUrl}/__local/events`, 'Published events')}${link(
    `${publicUrl}/stores/1003/credentials`,
    'Credentials of store 1003 (no IAM locally)',
  )}</p>
<h2>Stores</h2>
${rows.length === 0 ? '<p>No store yet.</p>' : `<table><thead><tr><th>Store</th><th>Status</th><th>Reason</th><th>Subscription</th><th></th></tr></thead><tbody>${rows.join('\n')}</tbody></table>`}
</body></html>`;
}
