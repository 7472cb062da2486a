/**
 * The pure rules of src/http/client-address.ts: what TRUSTED_PROXIES accepts, and which address,
 * scheme and host a request has when headers come from trusted proxies, from anyone else, or are junk.
 */
import {
  createProxyTrust,
  normaliseAddress,
  normaliseHost,
  parseProxyList,
  resolveRequest,
  MAX_FORWARDED_FOR_LENGTH,
  MAX_FORWARDED_HOPS,
  type RequestFacts,
} from '../../src/http/client-address.js';

const trust = createProxyTrust(parseProxyList('10.0.0.0/8, 2001:db8:1::/48, 192.0.2.1, loopback').entries);
const facts = (over: Partial<RequestFacts>): RequestFacts => ({
  peer: '10.0.0.5',
  encrypted: false,
  host: 'id.example.test',
  forwardedFor: undefined,
  forwardedProto: undefined,
  forwardedHost: undefined,
  ...over,
});

describe('normaliseAddress', () => {
  test.each([
    ['203.0.113.7', '203.0.113.7'],
    [' 203.0.113.7 ', '203.0.113.7'],
    ['203.0.113.7:5678', '203.0.113.7'],
    ['::ffff:203.0.113.7', '203.0.113.7'],
    ['2001:DB8::1', '2001:db8::1'],
    ['[2001:db8::1]:443', '2001:db8::1'],
    ['[2001:db8::1]', '2001:db8::1'],
    ['fe80::1%eth0', 'fe80::1'],
  ])('%s → %s', (raw, canonical) => expect(normaliseAddress(raw)).toBe(canonical));

  test.each(['', 'unknown', '203.0.113', '203.0.113.7.1', '999.1.1.1', 'evil.example', '[2001:db8::1', '<script>', 'x'.repeat(100)])(
    '%j is not an address',
    (raw) => expect(normaliseAddress(raw)).toBeUndefined(),
  );
});

describe('parseProxyList and createProxyTrust', () => {
  test('addresses, ranges (both families) and shorthands; the rest named', () => {
    expect(parseProxyList('loopback private 10.0.0.0/8 ::1 fd00::/8')).toEqual({
      entries: ['loopback', 'private', '10.0.0.0/8', '::1', 'fd00::/8'],
      problems: [],
    });
    expect(parseProxyList('10.0.0.0/8/1, 10.0.0.0/-1, ::/129, 1.2.3.4/33, [::1], everyone').problems).toHaveLength(6);
  });

  test('membership: ranges, single addresses, loopback (both families, IPv4-mapped too)', () => {
    for (const yes of ['10.1.2.3', '::ffff:10.1.2.3', '2001:db8:1:ffff::1', '192.0.2.1', '127.0.0.1', '127.8.8.8', '::1']) expect([yes, trust(yes)]).toEqual([yes, true]);
    for (const no of ['11.0.0.1', '2001:db8:2::1', '192.0.2.2', '203.0.113.7', 'garbage', '']) expect([no, trust(no)]).toEqual([no, false]);
  });

  test('private means the RFC 1918 ranges and IPv6 unique-local addresses', () => {
    const priv = createProxyTrust(['private']);
    for (const yes of ['10.0.0.1', '172.16.0.1', '172.31.255.255', '192.168.1.1', 'fd12::1', 'fc00::1']) expect([yes, priv(yes)]).toEqual([yes, true]);
    for (const no of ['172.32.0.1', '192.169.0.1', '127.0.0.1', '8.8.8.8', 'fe80::1', '2001:db8::1']) expect([no, priv(no)]).toEqual([no, false]);
  });

  test('no entries: nobody is trusted', () => {
    expect(createProxyTrust([])('127.0.0.1')).toBe(false);
  });
});

describe('resolveRequest', () => {
  test('an untrusted peer: its X-Forwarded-* are ignored, junk included', () => {
    const resolved = resolveRequest(
      facts({ peer: '203.0.113.9', forwardedFor: '198.51.100.1, not-an-ip', forwardedProto: 'https, gopher', forwardedHost: 'evil.example' }),
      trust,
    );
    expect(resolved).toEqual({ ok: true, clientIp: '203.0.113.9', secure: false, host: 'id.example.test' });
  });

  test('the rightmost untrusted entry is the client; entries left of it (the client\'s own) are never read', () => {
    expect(resolveRequest(facts({ forwardedFor: '198.51.100.1, 203.0.113.7' }), trust)).toMatchObject({ ok: true, clientIp: '203.0.113.7' });
    expect(resolveRequest(facts({ forwardedFor: 'forged, 198.51.100.1, 203.0.113.7, 10.0.0.9' }), trust)).toMatchObject({ ok: true, clientIp: '203.0.113.7' });
    expect(resolveRequest(facts({ forwardedFor: '2001:db8:9::1, 2001:db8:1::2' }), trust)).toMatchObject({ ok: true, clientIp: '2001:db8:9::1' });
  });

  test('every hop trusted: the leftmost is the client; no header: the peer is', () => {
    expect(resolveRequest(facts({ forwardedFor: '10.9.9.9, 10.0.0.7' }), trust)).toMatchObject({ clientIp: '10.9.9.9' });
    expect(resolveRequest(facts({}), trust)).toMatchObject({ clientIp: '10.0.0.5' });
    expect(resolveRequest(facts({ peer: '::ffff:10.0.0.5' }), trust)).toMatchObject({ clientIp: '10.0.0.5' });
  });

  test('https and the host count from a trusted peer only', () => {
    expect(resolveRequest(facts({ forwardedProto: 'HTTPS', forwardedHost: 'ID.Example.Test' }), trust)).toEqual({
      ok: true,
      clientIp: '10.0.0.5',
      secure: true,
      host: 'id.example.test',
    });
    expect(resolveRequest(facts({ forwardedProto: 'http' }), trust)).toMatchObject({ secure: false });
    expect(resolveRequest(facts({ peer: '203.0.113.9', forwardedProto: 'https' }), trust)).toMatchObject({ secure: false });
    expect(resolveRequest(facts({ peer: '203.0.113.9', encrypted: true }), trust)).toMatchObject({ secure: true });
  });

  test.each([
    [{ forwardedFor: '198.51.100.1, ' }, 'X-Forwarded-For holds an entry that is not an IP address'],
    [{ forwardedFor: 'unknown' }, 'X-Forwarded-For holds an entry that is not an IP address'],
    [{ forwardedFor: '1.1.1.1'.padEnd(MAX_FORWARDED_FOR_LENGTH + 1, ' ') }, 'X-Forwarded-For is too long'],
    [{ forwardedFor: Array(MAX_FORWARDED_HOPS + 1).fill('10.0.0.1').join(',') }, 'X-Forwarded-For has too many entries'],
    [{ forwardedProto: 'https, http' }, 'X-Forwarded-Proto must be one value, http or https'],
    [{ forwardedProto: 'ftp' }, 'X-Forwarded-Proto must be one value, http or https'],
    [{ forwardedHost: 'a.example, b.example' }, 'X-Forwarded-Host must be one valid host'],
    [{ forwardedHost: 'id.example.test/../x' }, 'X-Forwarded-Host must be one valid host'],
    [{ host: 'id.example.test@evil.example' }, 'the Host header is not a valid host'],
    [{ peer: '203.0.113.9', host: 'x'.repeat(300) }, 'the Host header is not a valid host'],
  ])('%j from a trusted proxy is a problem, not a guess', (over, problem) => {
    expect(resolveRequest(facts(over), trust)).toEqual({ ok: false, problem });
  });
});

describe('normaliseHost', () => {
  test.each([
    ['id.example.test', 'id.example.test'],
    ['ID.EXAMPLE.TEST:443', 'id.example.test:443'],
    ['127.0.0.1:3000', '127.0.0.1:3000'],
    ['[::1]:3000', '[::1]:3000'],
  ])('%s → %s', (raw, host) => expect(normaliseHost(raw)).toBe(host));
  test.each(['', 'a b', 'evil.example/path', 'user@host', 'host:port', '-bad.example', '[zz::1]'])('%j is not a host', (raw) => expect(normaliseHost(raw)).toBeUndefined());
});
