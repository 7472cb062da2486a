/**
 * A read that concurrent callers share without ever being handed an answer older than their call.
 *
 * Under load many requests ask the same question at once (the clients' change counter: "has any
 * client changed?"). Sending one statement each costs every request a round trip, and on a busy
 * server the round trip, not the database, is most of the price. Rules:
 * - with no read in flight, a caller's read is sent at once: an idle server answers as fast as before;
 * - a caller that asks while a read is in flight does not join it (that read may have been answered
 *   by the database before the caller asked: a change committed in between would be missed). It waits
 *   for the next read, which is sent when the one in flight settles, and which every caller that asked
 *   meanwhile shares. So each answer comes from a statement sent after its caller asked;
 * - a failed read fails exactly the callers that were sharing it; the next caller starts afresh;
 * - nothing is kept once a read settled: there is no cache here, only shared statements.
 * The read runs in the async context of whichever caller started it, so it must not depend on the
 * request it runs in (the counter read does not: a primary-key select outside any request scope).
 */
export function coalescedRead<T>(read: () => Promise<T>): () => Promise<T> {
  let inFlight: Promise<T> | undefined;
  let next: Promise<T> | undefined;

  const send = (): Promise<T> => {
    const sent = read();
    inFlight = sent;
    const settled = () => {
      if (inFlight === sent) inFlight = undefined;
    };
    sent.then(settled, settled);
    return sent;
  };

  return () => {
    if (!inFlight) return send();
    if (!next) {
      const waitFor = inFlight;
      const ignore = () => undefined;
      next = waitFor.then(ignore, ignore).then(() => {
        next = undefined;
        return send();
      });
    }
    return next;
  };
}
