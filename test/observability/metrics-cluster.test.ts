/**
 * The cluster's metrics plumbing without a cluster: a worker's request to its primary (answered,
 * refused, closed channel, no answer) and the environment the primary gives its workers. The real
 * 2-worker cluster on PostgreSQL is in test/ops/workers.test.ts.
 */
import { EventEmitter } from 'node:events';
import { askPrimary, type PrimaryChannel } from '../../src/observability/metrics-cluster.js';
import { MetricsUnavailableError } from '../../src/observability/metrics.js';
import { workerEnv } from '../../src/cluster.js';
import { namesHugetlb, RECOMMENDED_GLIBC_TUNABLES } from '../../src/config/operations.js';

/** A channel whose primary answers each request with `reply` (or never, when reply is undefined). */
function channel(connected: boolean, reply?: (id: number) => unknown): PrimaryChannel & { sent: unknown[] } {
  const events = new EventEmitter();
  const sent: unknown[] = [];
  return {
    sent,
    connected,
    send(message) {
      sent.push(message);
      const id = (message as { id: number }).id;
      // Another request's answer first: it must be ignored.
      queueMicrotask(() => events.emit('message', { type: 'nordlys:metrics-answer', id: id + 1000, body: 'not mine' }));
      if (reply) queueMicrotask(() => events.emit('message', reply(id)));
      return true;
    },
    on: (event, listener) => events.on(event, listener),
    off: (event, listener) => events.off(event, listener),
  };
}

describe('a worker asks its primary for the cluster aggregate', () => {
  test('the answer to its own request id is the scrape', async () => {
    const c = channel(true, (id) => ({ type: 'nordlys:metrics-answer', id, body: 'nordlys_logins_total 2\n' }));
    await expect(askPrimary(c, 60_000)).resolves.toBe('nordlys_logins_total 2\n');
    expect(c.sent).toEqual([{ type: 'nordlys:metrics-scrape', id: expect.any(Number) }]);
  });

  test('an error from the primary, a closed channel or no answer at all: MetricsUnavailableError, never a hang', async () => {
    await expect(askPrimary(channel(true, (id) => ({ type: 'nordlys:metrics-answer', id, error: 'Operation timed out.' })), 60_000)).rejects.toThrow(MetricsUnavailableError);
    const closed = channel(false);
    await expect(askPrimary(closed, 60_000)).rejects.toThrow(MetricsUnavailableError);
    expect(closed.sent).toEqual([]);
    await expect(askPrimary(channel(true), 1)).rejects.toThrow(/did not answer/);
  });
});

test('workers start with the recommended MALLOC_MMAP_THRESHOLD_ and GLIBC_TUNABLES unless the operator set their own', () => {
  const recommended = { mallocMmapThreshold: '131072', glibcTunables: 'glibc.malloc.hugetlb=1' };
  expect(workerEnv({ mallocMmapThreshold: undefined, glibcTunables: undefined, recommended })).toEqual({ MALLOC_MMAP_THRESHOLD_: '131072', GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1' });
  expect(workerEnv({ mallocMmapThreshold: '65536', glibcTunables: 'glibc.malloc.arena_max=2', recommended, nodeOptions: '--max-old-space-size=512' })).toEqual({
    MALLOC_MMAP_THRESHOLD_: '65536',
    GLIBC_TUNABLES: 'glibc.malloc.arena_max=2',
    NODE_OPTIONS: '--max-old-space-size=512',
  });
});

test('the start-up log names a missing huge-page tunable only when GLIBC_TUNABLES leaves it out', () => {
  expect(namesHugetlb(undefined)).toBe(false);
  expect(namesHugetlb('glibc.malloc.arena_max=2')).toBe(false);
  expect(namesHugetlb('glibc.malloc.arena_max=2:glibc.malloc.hugetlb=0')).toBe(true);
  expect(namesHugetlb(RECOMMENDED_GLIBC_TUNABLES)).toBe(true);
});
