/**
 * A minimal browser for black-box tests: a cookie jar, manual redirects, and form helpers that read
 * our pages the way a person would (fields by name, the CSRF token from the form). Stops at any URL
 * outside the server under test and the upstreams it is told to visit too (the relying party's
 * redirect URI) and returns it. Like a browser, it keeps cookies by host, not port: servers on one
 * loopback address share them.
 */
export interface Page {
  url: string;
  status: number;
  html: string;
}

export class Browser {
  /** Cookies by name and path, as a browser keeps them (same name on different paths are different cookies). */
  private cookies = new Map<string, { name: string; value: string; path: string }>();
  /** Every Set-Cookie header received, in order (tests check cookie attributes). */
  readonly setCookieHeaders: string[] = [];
  private readonly origins: Set<string>;
  /** `alsoVisit`: other servers the person is sent to and back from, such as an upstream mock on its own port. */
  constructor(private readonly origin: string, private readonly acceptLanguage = 'en', alsoVisit: string[] = []) {
    this.origins = new Set([origin, ...alsoVisit].map((url) => new URL(url).origin));
  }

  private remember(res: Response, url: URL): void {
    for (const header of res.headers.getSetCookie()) {
      this.setCookieHeaders.push(header);
      const [pair, ...attributes] = header.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const pathAttr = attributes.map((a) => a.trim()).find((a) => /^path=/i.test(a));
      const path = pathAttr ? pathAttr.slice(5) : url.pathname.replace(/\/[^/]*$/, '') || '/';
      const key = `${name};${path}`;
      if (/expires=Thu, 01 Jan 1970/i.test(header) || /max-age=0/i.test(header) || value === '') this.cookies.delete(key);
      else this.cookies.set(key, { name, value, path });
    }
  }

  private cookieHeader(path = '/'): string {
    return [...this.cookies.values()]
      .filter((c) => path === c.path || path.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`) || c.path === '/')
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }

  /** Requests a URL and follows redirects within the server; returns the final page or the external redirect. */
  async go(url: string, init: { method?: string; body?: URLSearchParams | string; headers?: Record<string, string>; stopAt?: RegExp } = {}): Promise<Page> {
    let current = new URL(url, this.origin).toString();
    let method = init.method ?? 'GET';
    let body: URLSearchParams | string | undefined = init.body;
    for (let hop = 0; hop < 20; hop += 1) {
      const target = new URL(current);
      if (!this.origins.has(target.origin)) return { url: current, status: 0, html: '' };
      if (hop > 0 && init.stopAt?.test(current)) return { url: current, status: 0, html: '' };
      const headers: Record<string, string> = { 'accept-language': this.acceptLanguage, accept: 'text/html', ...init.headers };
      const cookie = this.cookieHeader(target.pathname);
      if (cookie) headers.cookie = cookie;
      if (body !== undefined && !headers['content-type']) headers['content-type'] = 'application/x-www-form-urlencoded';
      const res = await fetch(current, { method, headers, body, redirect: 'manual' });
      this.remember(res, target);
      const location = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && location) {
        current = new URL(location, current).toString();
        method = 'GET';
        body = undefined;
        continue;
      }
      const html = await res.text();
      // oidc-provider's auto-submitting pages (e.g. ending the previous session when another account
      // logs in): a browser runs their script; we submit the form as it would.
      if (res.status === 200 && html.includes('<title>Submitting Callback</title>')) {
        const form = /<form method="post" action="([^"]+)">([\s\S]*?)<\/form>/.exec(html);
        if (form) {
          current = new URL(decode(form[1]!), current).toString();
          method = 'POST';
          body = new URLSearchParams([...form[2]!.matchAll(/name="([^"]+)" value="([^"]*)"/g)].map((m): [string, string] => [m[1]!, decode(m[2]!)]));
          continue;
        }
      }
      return { url: current, status: res.status, html };
    }
    throw new Error('too many redirects');
  }

  /** Submits the form on `page` whose action matches, with the page's hidden fields plus `fields`. */
  async submit(page: Page, actionMatch: RegExp, fields: Record<string, string>, opts: { formaction?: string; stopAt?: RegExp } = {}): Promise<Page> {
    const forms = [...page.html.matchAll(/<form[^>]*action="([^"]+)"[^>]*>([\s\S]*?)<\/form>/g)];
    const form = forms.find((f) => actionMatch.test(decode(f[1]!)));
    if (!form) throw new Error(`no form matching ${actionMatch} on ${page.url}:\n${page.html.slice(0, 2000)}`);
    const params = new URLSearchParams();
    for (const m of form[2]!.matchAll(/<input[^>]*type="hidden"[^>]*>/g)) {
      const name = /name="([^"]+)"/.exec(m[0])?.[1];
      const value = /value="([^"]*)"/.exec(m[0])?.[1] ?? '';
      if (name) params.set(name, decode(value));
    }
    for (const [k, v] of Object.entries(fields)) params.set(k, v);
    return this.go(new URL(opts.formaction ?? decode(form[1]!), page.url).toString(), { method: 'POST', body: params, ...(opts.stopAt ? { stopAt: opts.stopAt } : {}) });
  }

  /** Takes over another browser's cookies (the same user agent talking to a second instance). */
  adoptCookiesFrom(other: Browser): void {
    for (const [k, v] of other.cookies) this.cookies.set(k, { ...v });
  }

  /** Drops every cookie of that name, on any path (a person clearing one site's cookies). */
  forget(name: string): void {
    for (const [key, cookie] of this.cookies) if (cookie.name === name) this.cookies.delete(key);
  }

  cookieNames(): string[] {
    return [...new Set([...this.cookies.values()].map((c) => c.name))];
  }
}

function decode(s: string): string {
  return s.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>');
}

/**
 * A browser behind a proxy on loopback that forwards the browser's own public address: with the service's
 * TRUSTED_PROXIES=loopback, per-IP limits count `address` (they do not count loopback itself).
 */
export class ForwardedBrowser extends Browser {
  constructor(origin: string, private readonly address: string, acceptLanguage?: string) {
    super(origin, acceptLanguage);
  }
  override go(url: string, init: Parameters<Browser['go']>[1] = {}): Promise<Page> {
    return super.go(url, { ...init, headers: { ...init.headers, 'x-forwarded-for': this.address } });
  }
}
