/**
 * A small JSON-over-HTTPS client for BankID's RP API v6.0 (reference/BANKID-SE.md). Rules:
 * - POST only, JSON in and out; `https:` with mutual TLS (the relying party's certificate as pfx or
 *   cert + key, and BankID's CA, which replaces the default trust store); `http:` only makes sense for
 *   our local mock;
 * - every request has a hard deadline covering connect, TLS, sending and reading the whole answer;
 * - a non-2xx answer is an RpApiError with the status and BankID's `{ errorCode, details }` when the body
 *   has them: unknown codes are kept as written, a body that is not JSON leaves them undefined;
 * - failing to talk at all is an RpTransportError whose `reason` tells a network failure from a
 *   timeout and from a 2xx answer that is not JSON;
 * - no keep-alive: BankID is polled every 2 s, and reusing a socket the server has just closed would
 *   fail a non-idempotent POST; TLS sessions are still resumed by the agent.
 */
import http from 'node:http';
import https from 'node:https';

export interface RpTls {
  /** PKCS#12 with the relying party's key and certificate (BankID's test certificate comes as one). */
  pfx?: Buffer | undefined;
  passphrase?: string | undefined;
  cert?: Buffer | undefined;
  key?: Buffer | undefined;
  /** BankID's issuing CA for the server certificate; replaces the system trust store. */
  ca?: Buffer | undefined;
}

export interface RpClientConfig {
  /** E.g. `https://appapi2.test.bankid.com/rp/v6.0` or `http://127.0.0.1:3000/mock/bankid/rp/v6.0`. */
  baseUrl: string;
  tls?: RpTls | undefined;
  /** The hard deadline of one request, in milliseconds. */
  timeoutMs: number;
}

export interface RpClient {
  /** POSTs `body` as JSON to `<baseUrl>/<path>` and returns the parsed answer. */
  post(path: string, body: unknown): Promise<unknown>;
}

/** BankID answered with an error status. */
export class RpApiError extends Error {
  constructor(
    readonly status: number,
    /** BankID's errorCode as written (possibly one we do not know); undefined if the body had none. */
    readonly errorCode: string | undefined,
    readonly details: string | undefined,
  ) {
    super(`BankID RP API answered ${status}${errorCode ? ` ${errorCode}` : ''}${details ? `: ${details}` : ''}`);
    this.name = 'RpApiError';
  }
}

/** No usable answer: could not connect or TLS failed (`network`), too slow (`timeout`), 2xx but not JSON (`malformed`). */
export class RpTransportError extends Error {
  constructor(
    readonly reason: 'network' | 'timeout' | 'malformed',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'RpTransportError';
  }
}

/** More than any real answer (completionData with signature and OCSP response is some tens of kB). */
const MAX_BODY_BYTES = 1024 * 1024;

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function apiError(status: number, text: string): RpApiError {
  const parsed = parseJson(text);
  const field = (name: string): string | undefined => {
    if (parsed === null || typeof parsed !== 'object') return undefined;
    const value = (parsed as Record<string, unknown>)[name];
    return typeof value === 'string' ? value : undefined;
  };
  return new RpApiError(status, field('errorCode'), field('details'));
}

export function createRpClient(config: RpClientConfig): RpClient {
  const base = new URL(config.baseUrl);
  if (base.protocol !== 'https:' && base.protocol !== 'http:') throw new Error(`BankID base URL must be https: (or http: for the mock), got ${base.protocol}`);
  if (!(config.timeoutMs > 0)) throw new Error('BankID timeoutMs must be positive');
  const secure = base.protocol === 'https:';
  const tls = config.tls ?? {};
  const agent = secure
    ? new https.Agent({ keepAlive: false, pfx: tls.pfx, passphrase: tls.passphrase, cert: tls.cert, key: tls.key, ca: tls.ca })
    : new http.Agent({ keepAlive: false });
  const prefix = base.href.replace(/\/+$/, '');

  return {
    post(path: string, body: unknown): Promise<unknown> {
      const url = new URL(`${prefix}/${path.replace(/^\/+/, '')}`);
      const payload = Buffer.from(JSON.stringify(body));
      return new Promise<unknown>((resolve, reject) => {
        let settled = false;
        const settle = (fn: () => void): void => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          fn();
        };
        const fail = (err: Error): void => settle(() => reject(err));

        const request = (secure ? https : http).request(url, {
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/json', accept: 'application/json', 'content-length': payload.length },
        });
        const timer = setTimeout(() => {
          fail(new RpTransportError('timeout', `BankID did not answer ${url.pathname} within ${config.timeoutMs} ms`));
          request.destroy();
        }, config.timeoutMs);

        request.on('error', (err) => fail(new RpTransportError('network', `BankID could not be reached: ${err.message}`, { cause: err })));
        request.on('response', (response) => {
          const chunks: Buffer[] = [];
          let size = 0;
          response.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_BODY_BYTES) {
              fail(new RpTransportError('malformed', `BankID's answer to ${url.pathname} is larger than ${MAX_BODY_BYTES} bytes`));
              request.destroy();
              return;
            }
            chunks.push(chunk);
          });
          response.on('error', (err) => fail(new RpTransportError('network', `BankID's answer broke off: ${err.message}`, { cause: err })));
          // After 'end' this is a no-op; before it, the connection closed mid-answer.
          response.on('close', () => fail(new RpTransportError('network', "BankID's answer broke off")));
          response.on('end', () => {
            const status = response.statusCode ?? 0;
            const text = Buffer.concat(chunks).toString('utf8');
            if (status < 200 || status > 299) return fail(apiError(status, text));
            // cancel answers `{}`; an empty 2xx body means the same thing.
            const parsed = text.trim() === '' ? {} : parseJson(text);
            if (parsed === undefined) return fail(new RpTransportError('malformed', `BankID answered ${url.pathname} with a ${status} that is not JSON`));
            settle(() => resolve(parsed));
          });
        });
        request.end(payload);
      });
    },
  };
}
