import { createHash } from 'node:crypto';

/** A page a merchant sees. Every string is escaped when rendered. */
export interface Page {
  title: string;
  paragraphs: string[];
  /** `newWindow`: opened at the top, out of a frame (Ecwid's consent page cannot be framed). */
  links?: Array<{ href: string; label: string; newWindow?: boolean }>;
  /** Shown small, so a merchant can quote it to support. */
  reference?: string;
}

const STYLE = [
  'body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f5f6f8;color:#1f2933;margin:0}',
  'main{max-width:34rem;margin:12vh auto;padding:2rem 2.25rem;background:#fff;border-radius:12px;box-shadow:0 1px 4px rgba(0,0,0,.08)}',
  'h1{font-size:1.4rem;margin:0 0 1rem}',
  'p{line-height:1.5;margin:0 0 1rem}',
  'a.button{display:inline-block;margin-top:.5rem;padding:.6rem 1.1rem;border-radius:8px;background:#0c6bd6;color:#fff;text-decoration:none}',
  'small{display:block;margin-top:1.5rem;color:#6b7785}',
].join('');

/**
 * The Content-Security-Policy of a page: no scripts, no forms, and only the one inline stylesheet
 * above (allowed by its hash, not by `unsafe-inline`). Framed by nobody, unless `frameAncestors`
 * names who may (the app's pages inside Ecwid's control panel).
 */
export function pageContentSecurityPolicy(frameAncestors?: readonly string[]): string {
  return [
    "default-src 'none'",
    `style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`,
    "base-uri 'none'",
    "form-action 'none'",
    `frame-ancestors ${frameAncestors === undefined || frameAncestors.length === 0 ? "'none'" : frameAncestors.join(' ')}`,
  ].join('; ');
}

/** The policy of every page that is never framed. */
export const PAGE_CONTENT_SECURITY_POLICY = pageContentSecurityPolicy();

export function renderPage(page: Page): string {
  const parts = [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width,initial-scale=1">',
    '<meta name="referrer" content="no-referrer">',
    `<title>${escapeHtml(page.title)}</title>`,
    `<style>${STYLE}</style>`,
    '</head><body><main>',
    `<h1>${escapeHtml(page.title)}</h1>`,
    ...page.paragraphs.map((paragraph) => `<p>${escapeHtml(paragraph)}</p>`),
  ];
  for (const link of page.links ?? []) {
    const target = link.newWindow === true ? ' target="_blank" rel="noopener noreferrer"' : '';
    parts.push(`<p><a class="button" href="${escapeHtml(link.href)}"${target}>${escapeHtml(link.label)}</a></p>`);
  }
  if (page.reference !== undefined) parts.push(`<small>Reference: ${escapeHtml(page.reference)}</small>`);
  parts.push('</main></body></html>');
  return parts.join('\n');
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (character) => `&#${character.charCodeAt(0)};`);
}
