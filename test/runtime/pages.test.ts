import { escapeHtml, PAGE_CONTENT_SECURITY_POLICY, renderPage } from '../../functions/runtime/pages';

describe('pages', () => {
  it('escapes every character that could open markup, an attribute or a template', () => {
    expect(escapeHtml(`<script>alert("x")</script> & 'y' \`z\``)).toBe(
      '&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62; &#38; &#39;y&#39; &#96;z&#96;',
    );
  });

  it('escapes every string it renders: title, paragraphs, link targets and labels, reference', () => {
    const hostile = `"><img src=x onerror=alert(1)><a href='`;
    const html = renderPage({
      title: `Store ${hostile}`,
      paragraphs: [`Paragraph ${hostile}`],
      links: [{ href: `https://example.com/?q=${hostile}`, label: `Label ${hostile}` }],
      reference: `ref ${hostile}`,
    });
    expect(html).not.toContain('<img');
    expect(html.match(/<a /g)).toHaveLength(1);
    expect(html).toContain('&#34;&#62;&#60;img src=x onerror=alert(1)&#62;&#60;a href=&#39;');
  });

  it('allows no script, no frame ancestor and no form on any page', () => {
    expect(PAGE_CONTENT_SECURITY_POLICY).toContain("default-src 'none'");
    expect(PAGE_CONTENT_SECURITY_POLICY).toContain("frame-ancestors 'none'");
    expect(PAGE_CONTENT_SECURITY_POLICY).toContain("form-action 'none'");
    expect(PAGE_CONTENT_SECURITY_POLICY).not.toMatch(/script-src|unsafe-inline/);
  });
});
