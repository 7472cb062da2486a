/** Which client addresses per-IP limits count, and the buckets they count in (src/policies/throttle.ts). */
import { countsPerIp, ipBucket } from '../../src/policies/throttle.js';

test('loopback has no per-IP limit; every other address has', () => {
  for (const ip of ['127.0.0.1', '127.8.9.10', '::1', '::ffff:127.0.0.1', ' ::1 ']) expect([ip, countsPerIp(ip)]).toEqual([ip, false]);
  for (const ip of ['203.0.113.7', '10.0.0.1', '128.0.0.1', '::ffff:203.0.113.7', '2001:db8::1', 'fe80::1%eth0']) expect([ip, countsPerIp(ip)]).toEqual([ip, true]);
});

test('IPv6 counts by its /64, IPv4-mapped as IPv4', () => {
  expect(ipBucket('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
  expect(ipBucket('2001:db8::1')).toBe('2001:db8:0:0::/64');
  expect(ipBucket('::ffff:203.0.113.7')).toBe('203.0.113.7');
});
