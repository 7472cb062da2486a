/**
 * Reads a request body by itself, with no body parser in front (mounted mocks must see the raw
 * request). At most `max` bytes are kept; past that the rest is still read to the end and dropped,
 * so the connection stays usable for the answer, and the result is undefined.
 */
import type { IncomingMessage } from 'node:http';

export async function readBody(req: IncomingMessage, max: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size <= max) chunks.push(chunk as Buffer);
  }
  return size <= max ? Buffer.concat(chunks) : undefined;
}
