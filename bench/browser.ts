/**
 * A minimal browser for the benchmark (a trimmed copy of test/support/browser.ts; bench/ must not import
 * from test/): a cookie jar, manual redirects within the server, and a form helper that posts a form's
 * hidden fields (the `_csrf` token) plus the fields a person would type. Stops at any URL outside the
 * server (the relying party's redirect URI) and returns it. Every request is bounded by a timeout.
 */
export interface Page {
  url: string;
  status: number;
  html: string;
}

export class Browser {
  private readonly cookies = new Map<string, string>();
  private readonly origin: string;

  constructor(origin: string, private readonly timeoutMs: number) {
    this.origin = new URL(origin).origin;
  }

  private remember(res: Response): void {
    for (const header of res.headers.getSetCookie()) {
      const pair = header.split(';')[0] ?? '';
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (/expires=Thu, 01 Jan 1970/i.test(header) || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  /** Requests a URL and follows redirects within the server; returns the final page or the external redirect. */
  async go(url: string, init: { method?: string; body?: URLSearchParams } = {}): Promise<Page> {
    let current = new URL(url, this.origin).toString();
    let method = init.method ?? 'GET';
    let body = init.body;
    for (let hop = 0; hop < 20; hop += 1) {
      if (new URL(current).origin !== this.origin) return { url: current, status: 0, html: '' };
      const headers: Record<string, string> = { 'accept-language': 'en', accept: 'text/html' };
      if (this.cookies.size) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
      if (body !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
      const res = await fetch(current, { method, headers, body, redirect: 'manual', signal: AbortSignal.timeout(this.timeoutMs) });
      this.remember(res);
      const location = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && location) {
        await res.body?.cancel();
        current = new URL(location, current).toString();
        method = 'GET';
        body = undefined;
        continue;
      }
      return { url: current, status: res.status, html: await res.text() };
    }
    throw new Error(`too many redirects from ${url}`);
  }

  /** Submits the form on `page` whose action matches, with the page's hidden fields plus `fields`. */
  async submit(page: Page, actionMatch: RegExp, fields: Record<string, string>): Promise<Page> {
    const forms = [...page.html.matchAll(/<form[^>]*action="([^"]+)"[^>]*>([\s\S]*?)<\/form>/g)];
    const form = forms.find((f) => actionMatch.test(decode(f[1] ?? '')));
    if (!form) throw new Error(`no form matching ${actionMatch} on ${page.url} (status ${page.status})`);
    const params = new URLSearchParams();
    for (const m of (form[2] ?? '').matchAll(/<input[^>]*type="hidden"[^>]*>/g)) {
      const name = /name="([^"]+)"/.exec(m[0])?.[1];
      const value = /value="([^"]*)"/.exec(m[0])?.[1] ?? '';
      if (name) params.set(name, decode(value));
    }
    for (const [k, v] of Object.entries(fields)) params.set(k, v);
    return this.go(new URL(decode(form[1] ?? ''), page.url).toString(), { method: 'POST', body: params });
  }
}

function decode(s: string): string {
  return s.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>');
}
