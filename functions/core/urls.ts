/**
 * Appends a path to a base URL, keeping any path the base already has
 * (`https://proxy.example/ecwid` + `/api/oauth/token` keeps `/ecwid`).
 */
export function joinUrl(base: string, path: string): URL {
  const url = new URL(base);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
  url.search = '';
  url.hash = '';
  return url;
}
