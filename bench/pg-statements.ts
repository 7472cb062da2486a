/**
 * Counts the SQL statements a server sends PostgreSQL, from outside it: a loopback TCP proxy in front
 * of the database that reads the client's side of the wire protocol (PostgreSQL frontend/backend
 * protocol 3.0). A statement is a simple Query ('Q') or an Execute ('E') of the extended protocol (what
 * node-postgres sends for a query with parameters); BEGIN and COMMIT count too, since each is a round
 * trip. The first message of a connection has no type byte (the startup packet, or an SSL or GSS
 * encryption request, which the real server answers before the startup packet follows). Nothing is
 * changed on the way: bytes pass through as they come.
 */
import net from 'node:net';

const SSL_REQUEST = 80877103;
const GSS_REQUEST = 80877104;

/** Reads one connection's frontend messages as they arrive in chunks; counts statements. */
export class FrontendMessages {
  statements = 0;
  private buffered: Buffer = Buffer.alloc(0);
  private startup = true;

  push(chunk: Buffer): void {
    this.buffered = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
    for (;;) {
      if (this.startup) {
        if (this.buffered.length < 8) return;
        const length = this.buffered.readInt32BE(0);
        if (this.buffered.length < length) return;
        const code = this.buffered.readInt32BE(4);
        // An encryption request is answered with one byte, then the real startup packet comes.
        if (code !== SSL_REQUEST && code !== GSS_REQUEST) this.startup = false;
        this.buffered = this.buffered.subarray(length);
        continue;
      }
      if (this.buffered.length < 5) return;
      const type = String.fromCharCode(this.buffered[0]!);
      const length = this.buffered.readInt32BE(1); // counts itself, not the type byte
      if (this.buffered.length < 1 + length) return;
      if (type === 'Q' || type === 'E') this.statements += 1;
      this.buffered = this.buffered.subarray(1 + length);
    }
  }
}

export interface StatementCounter {
  /** A postgres:// URL like the one given, pointing at the proxy. */
  url: string;
  /** Statements seen so far, over every connection. */
  count(): number;
  close(): Promise<void>;
}

/** Starts the proxy on a free loopback port in front of `databaseUrl`'s host and port. */
export async function startStatementCounter(databaseUrl: string): Promise<StatementCounter> {
  const target = new URL(databaseUrl);
  const targetHost = target.hostname || '127.0.0.1';
  const targetPort = Number(target.port || 5432);
  const connections = new Set<FrontendMessages>();
  let closedCount = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, targetHost);
    const messages = new FrontendMessages();
    connections.add(messages);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined); // the other side's close follows
    }
    client.on('data', (chunk: Buffer) => {
      messages.push(chunk);
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    client.on('close', () => {
      closedCount += messages.statements;
      connections.delete(messages);
      upstream.destroy();
    });
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as net.AddressInfo;
  const proxied = new URL(databaseUrl);
  proxied.hostname = '127.0.0.1';
  proxied.port = String(port);
  return {
    url: proxied.toString(),
    count: () => closedCount + [...connections].reduce((n, c) => n + c.statements, 0),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
