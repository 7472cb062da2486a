/**
 * Requests that start together, for the exactly-once tests. Each racer gets a keep-alive socket opened
 * beforehand: on fresh connections the one request that finds a warm socket is often finished before
 * the others have connected, and nothing races.
 */
import http from 'node:http';

export interface RaceResponse {
  status: number;
  location: string | null;
  body: string;
}

export class Racer {
  private readonly agent: http.Agent;

  constructor(private readonly size: number) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets: size });
  }

  /** Opens `size` idle sockets to each origin (a cheap GET each, all at once). */
  async warm(...origins: string[]): Promise<void> {
    await Promise.all(origins.flatMap((origin) => Array.from({ length: this.size }, () => this.request(new URL('/healthz', origin)))));
  }

  /** One request, redirects not followed. */
  request(url: URL, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<RaceResponse> {
    return new Promise((resolve, reject) => {
      const req = http.request(url, { agent: this.agent, method: init.method ?? 'GET', headers: init.headers ?? {} }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, location: res.headers.location ?? null, body }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(init.body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
