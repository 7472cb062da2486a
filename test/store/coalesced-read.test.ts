/**
 * coalescedRead: callers that ask while a read is in flight share the next read, never the one in
 * flight (it may have been answered before they asked); an idle caller's read is sent at once; a failure
 * reaches exactly the callers of that read. Driven by hand-settled promises: nothing is timed.
 */
import { coalescedRead } from '../../src/store/coalesced-read.js';

function controlledReads() {
  const sent: Array<{ resolve(v: number): void; reject(e: unknown): void }> = [];
  const read = () => new Promise<number>((resolve, reject) => sent.push({ resolve, reject }));
  return { sent, read };
}
/** Lets every settled promise's continuations run. */
const drain = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('coalescedRead', () => {
  test('an idle caller is sent at once; callers during a read share the next one, sent after it settles', async () => {
    const { sent, read } = controlledReads();
    const shared = coalescedRead(read);
    const first = shared();
    expect(sent).toHaveLength(1);
    const during = [shared(), shared(), shared()];
    await drain();
    expect(sent).toHaveLength(1); // not joined to the read in flight, and not sent beside it
    sent[0]!.resolve(1);
    expect(await first).toBe(1);
    await drain();
    expect(sent).toHaveLength(2); // one statement for the three that waited
    const later = shared(); // asked while the second is in flight: waits for a third
    sent[1]!.resolve(2);
    expect(await Promise.all(during)).toEqual([2, 2, 2]);
    await drain();
    expect(sent).toHaveLength(3);
    sent[2]!.resolve(3);
    expect(await later).toBe(3);
    await drain();
    // Nothing is kept: the next caller is sent again.
    const again = shared();
    expect(sent).toHaveLength(4);
    sent[3]!.resolve(4);
    expect(await again).toBe(4);
  });

  test('a failed read fails its own callers only', async () => {
    const { sent, read } = controlledReads();
    const shared = coalescedRead(read);
    const first = shared();
    const waiting = shared();
    sent[0]!.reject(new Error('connection lost'));
    await expect(first).rejects.toThrow('connection lost');
    await drain();
    expect(sent).toHaveLength(2);
    const third = shared();
    sent[1]!.reject(new Error('timeout'));
    await expect(waiting).rejects.toThrow('timeout');
    await drain();
    sent[2]!.resolve(7);
    expect(await third).toBe(7);
  });
});
