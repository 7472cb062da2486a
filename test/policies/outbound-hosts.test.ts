/** The SSRF guard's rules for outgoing requests, and ALLOW_PRIVATE_OUTBOUND_HOSTS as the operator writes it. */
import { isOwnOrigin, isSpecialUseAddress, outboundDecision, parseOutboundAllowList } from '../../src/policies/outbound-hosts.js';
import { loadConfig, ConfigError } from '../../src/config/index.js';

describe('special-use addresses', () => {
  it.each(['127.0.0.1', '10.1.2.3', '172.20.0.5', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', 'fd00::1', 'fe80::1', '::ffff:10.0.0.1', '::ffff:127.0.0.1', '224.0.0.1'])(
    '%s is special-use',
    (address) => expect(isSpecialUseAddress(address)).toBe(true),
  );
  it.each(['8.8.8.8', '151.101.1.69', '2a00:1450:4001::1', '::ffff:8.8.8.8'])('%s is public', (address) => expect(isSpecialUseAddress(address)).toBe(false));
});

describe('the allow-list', () => {
  const { list, problems } = parseOutboundAllowList(['rp.internal', '127.0.0.1', '10.20.0.0/16', 'fd12::/16']);
  it('parses names, addresses and CIDR ranges', () => {
    expect(problems).toEqual([]);
    expect(list.entries).toEqual(['rp.internal', '127.0.0.1', '10.20.0.0/16', 'fd12::/16']);
  });
  it('allows what it names and refuses other special-use addresses with the reason', () => {
    expect(outboundDecision(list, 'rp.internal', '10.9.9.9')).toEqual({ allowed: true });
    expect(outboundDecision(list, 'localhost', '127.0.0.1')).toEqual({ allowed: true });
    expect(outboundDecision(list, 'other', '10.20.3.4')).toEqual({ allowed: true });
    expect(outboundDecision(list, 'v6', 'fd12::9')).toEqual({ allowed: true });
    expect(outboundDecision(list, 'public.example', '8.8.8.8')).toEqual({ allowed: true });
    const refused = outboundDecision(list, 'evil.example', '192.168.0.10');
    expect(refused).toEqual({ allowed: false, reason: expect.stringContaining('evil.example resolves to the special-use address 192.168.0.10') });
    expect(outboundDecision(list, 'other', '127.0.0.2').allowed).toBe(false);
  });
  it('names every bad entry in the configuration error', () => {
    expect(() => loadConfig({ ALLOW_PRIVATE_OUTBOUND_HOSTS: 'rp.internal, 10.0.0.0/99, not a host' })).toThrow(ConfigError);
    try {
      loadConfig({ ALLOW_PRIVATE_OUTBOUND_HOSTS: 'rp.internal, 10.0.0.0/99, not a host' });
    } catch (err) {
      const problems = (err as ConfigError).problems.join('\n');
      expect(problems).toContain('ALLOW_PRIVATE_OUTBOUND_HOSTS: "10.0.0.0/99" is neither');
      expect(problems).toContain('ALLOW_PRIVATE_OUTBOUND_HOSTS: "not a host" is neither');
    }
  });
});

describe('our own origin', () => {
  it('is allowed exactly: scheme, host and port, not other ports of the same host', () => {
    const { list } = parseOutboundAllowList([], ['http://localhost:3000']);
    expect(isOwnOrigin(list, new URL('http://localhost:3000/playground/backchannel'))).toBe(true);
    expect(isOwnOrigin(list, new URL('http://localhost:5432/'))).toBe(false);
    expect(isOwnOrigin(list, new URL('https://localhost:3000/'))).toBe(false);
  });
});
