/** What a test needs of an HTTP answer. */
export interface Page {
  status: number;
  headers: Headers;
  body: string;
  location: string | undefined;
}

/**
 * A minimal browser over real HTTP: it keeps cookies (per name, as a browser does for one host)
 * and never follows redirects by itself, so tests see every hop.
 */
export class TestBrowser {
  readonly cookies = new Map<string, string>();

  /** @param onResponse sees every answer: tests that look for leaks read them all. */
  constructor(private readonly onResponse?: (url: string, page: Page) => void) {}

  async get(url: string): Promise<Page> {
    return this.request(url, { method: 'GET' });
  }

  async postForm(url: string, form: Record<string, string>): Promise<Page> {
    return this.request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form).toString(),
    });
  }

  private async request(url: string, init: RequestInit): Promise<Page> {
    const cookieHeader = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    const response = await fetch(url, {
      ...init,
      redirect: 'manual',
      headers: { ...(init.headers as Record<string, string> | undefined), ...(cookieHeader ? { cookie: cookieHeader } : {}) },
    });
    for (const cookie of response.headers.getSetCookie()) {
      const [pair] = cookie.split(';');
      const separator = pair!.indexOf('=');
      this.cookies.set(pair!.slice(0, separator), pair!.slice(separator + 1));
    }
    const location = response.headers.get('location') ?? undefined;
    const page: Page = {
      status: response.status,
      headers: response.headers,
      body: await response.text(),
      location: location === undefined ? undefined : new URL(location, url).toString(),
    };
    this.onResponse?.(url, page);
    return page;
  }
}

/** Ecwid's consent page, answered as a merchant would. Returns the redirect back to the app. */
export async function decideOnConsentPage(
  browser: TestBrowser,
  consentUrl: string,
  decision: 'approve' | 'deny',
  storeId = 1003,
): Promise<string> {
  const consent = new URL(consentUrl);
  const page = await browser.get(consentUrl);
  if (page.status !== 200) throw new Error(`consent page answered ${page.status}: ${page.body}`);
  const decisionUrl = new URL(consent.pathname.replace(/\/api\/oauth\/authorize$/, '/api/oauth/authorize/decision'), consent);
  const answer = await browser.postForm(decisionUrl.toString(), {
    client_id: consent.searchParams.get('client_id')!,
    redirect_uri: consent.searchParams.get('redirect_uri')!,
    scope: consent.searchParams.get('scope')!,
    ...(consent.searchParams.has('state') ? { state: consent.searchParams.get('state')! } : {}),
    store_id: String(storeId),
    decision,
  });
  if (answer.location === undefined) throw new Error(`consent decision answered ${answer.status}`);
  return answer.location;
}
