import { BadRequestException } from '@nestjs/common';
import { CallbackNetworkPolicy } from '../config/app-config';
import {
  assertCallbackUrlAllowed,
  describeRefusal,
  NetworkPolicy,
  networkPolicyOf,
  Refusal,
} from './network-policy';

function policy(mode: CallbackNetworkPolicy = 'private', allow: string[] = []): NetworkPolicy {
  return new NetworkPolicy({ callbackNetworkPolicy: mode, callbackAllowCidrs: allow });
}

/** The rule that refuses `address`, or 'allowed'. */
function ruleFor(address: string, p: NetworkPolicy = policy()): string {
  const verdict = p.checkAddress(address);
  return verdict.allowed ? 'allowed' : verdict.rule;
}

describe('NetworkPolicy', () => {
  describe('by default (private)', () => {
    it.each([
      ['127.0.0.1', 'loopback'],
      ['127.0.0.2', 'loopback'],
      ['127.255.255.254', 'loopback'],
      ['::1', 'loopback'],
      ['169.254.169.254', 'cloud metadata'],
      ['169.254.170.2', 'cloud metadata'],
      ['100.100.100.200', 'cloud metadata'],
      ['fd00:ec2::254', 'cloud metadata'],
      ['169.254.1.1', 'link-local'],
      ['fe80::1', 'link-local'],
      ['fe80::1%eth0', 'link-local'],
      ['0.0.0.0', 'unspecified'],
      ['0.1.2.3', 'unspecified'],
      ['::', 'unspecified'],
      ['224.0.0.1', 'multicast'],
      ['239.255.255.250', 'multicast'],
      ['ff02::1', 'multicast'],
      ['255.255.255.255', 'broadcast'],
      ['240.0.0.1', 'reserved'],
      ['192.0.0.8', 'reserved'],
      ['192.0.2.10', 'reserved'],
      ['198.18.0.1', 'reserved'],
      ['203.0.113.7', 'reserved'],
      ['2001:db8::1', 'reserved'],
      ['2001::1', 'reserved'],
      ['2002:7f00:1::', 'reserved'],
      ['fec0::1', 'reserved'],
      ['::7f00:1', 'reserved'],
      ['100::1', 'reserved'],
    ])('refuses %s as %s', (address, rule) => {
      expect(ruleFor(address)).toBe(rule);
    });

    it.each([
      ['::ffff:127.0.0.1', 'loopback'],
      ['::ffff:7f00:2', 'loopback'],
      ['::ffff:169.254.169.254', 'cloud metadata'],
      ['::ffff:0.0.0.0', 'unspecified'],
      ['::ffff:0:7f00:1', 'loopback'],
      ['64:ff9b::7f00:1', 'loopback'],
      ['64:ff9b::a9fe:a9fe', 'cloud metadata'],
    ])('judges %s by the IPv4 address it reaches (%s)', (address, rule) => {
      expect(ruleFor(address)).toBe(rule);
    });

    it.each([
      '10.0.0.1',
      '172.16.0.1',
      '172.31.255.254',
      '192.168.1.1',
      '100.64.0.1',
      'fc00::1',
      'fd12:3456::1',
      '::ffff:10.0.0.1',
    ])('allows the private address %s, where internal handlers live', (address) => {
      expect(ruleFor(address)).toBe('allowed');
    });

    it.each(['8.8.8.8', '1.1.1.1', '172.32.0.1', '2606:4700::1111', '::ffff:8.8.8.8'])(
      'allows the public address %s',
      (address) => {
        expect(ruleFor(address)).toBe('allowed');
      },
    );

    it('allows a public IPv4 address reached through NAT64', () => {
      expect(ruleFor('64:ff9b::808:808')).toBe('allowed');
    });

    it('refuses what is not an IP address', () => {
      expect(ruleFor('localhost')).toBe('not an IP address');
    });
  });

  describe('public', () => {
    it.each(['10.0.0.1', '172.16.0.1', '192.168.1.1', '100.64.0.1', 'fc00::1', '::ffff:10.0.0.1'])(
      'refuses the private address %s',
      (address) => {
        expect(ruleFor(address, policy('public'))).toBe('private');
      },
    );

    it('still allows public addresses and refuses loopback', () => {
      expect(ruleFor('8.8.8.8', policy('public'))).toBe('allowed');
      expect(ruleFor('127.0.0.1', policy('public'))).toBe('loopback');
    });
  });

  describe('CALLBACK_ALLOW_CIDRS', () => {
    it('allows exactly 127.0.0.1 with 127.0.0.1/32, not the rest of 127/8', () => {
      const p = policy('private', ['127.0.0.1/32']);
      expect(ruleFor('127.0.0.1', p)).toBe('allowed');
      expect(ruleFor('::ffff:127.0.0.1', p)).toBe('allowed');
      expect(ruleFor('127.0.0.2', p)).toBe('loopback');
      expect(ruleFor('::1', p)).toBe('loopback');
    });

    it('allows the whole range with 127.0.0.0/8', () => {
      expect(ruleFor('127.0.0.2', policy('private', ['127.0.0.0/8']))).toBe('allowed');
    });

    it('takes a single address as a /32 or /128', () => {
      const p = policy('public', ['10.1.2.3', '::1']);
      expect(ruleFor('10.1.2.3', p)).toBe('allowed');
      expect(ruleFor('10.1.2.4', p)).toBe('private');
      expect(ruleFor('::1', p)).toBe('allowed');
      expect(ruleFor('127.0.0.1', p)).toBe('loopback');
    });

    it('re-allows private ranges under the public policy', () => {
      expect(ruleFor('10.9.8.7', policy('public', ['10.0.0.0/8']))).toBe('allowed');
    });

    it('opens a cloud metadata address only by an entry naming exactly that address', () => {
      expect(ruleFor('169.254.169.254', policy('private', ['0.0.0.0/0']))).toBe('cloud metadata');
      expect(ruleFor('169.254.169.254', policy('private', ['169.254.0.0/16']))).toBe(
        'cloud metadata',
      );
      expect(ruleFor('169.254.1.1', policy('private', ['169.254.0.0/16']))).toBe('allowed');
      expect(ruleFor('169.254.169.254', policy('private', ['169.254.169.254/32']))).toBe('allowed');
      expect(ruleFor('fd00:ec2::254', policy('private', ['fd00:ec2::254']))).toBe('allowed');
    });
  });

  describe('checkUrl', () => {
    // WHATWG URL parsing (what axios and the API's validator use) turns every IPv4 spelling
    // into dotted decimal, and IPv4-mapped IPv6 into hex groups; both are judged as 127.0.0.1.
    it.each([
      ['http://127.0.0.1/cb', '127.0.0.1'],
      ['http://2130706433/cb', '127.0.0.1'],
      ['http://0x7f000001/cb', '127.0.0.1'],
      ['http://0177.0.0.1/cb', '127.0.0.1'],
      ['http://0x7f.1/cb', '127.0.0.1'],
      ['http://127.1/cb', '127.0.0.1'],
      ['http://127.0.0.1./cb', '127.0.0.1'],
      ['http://[::ffff:127.0.0.1]/cb', '[::ffff:7f00:1]'],
      ['http://[0:0:0:0:0:ffff:7f00:1]:8080/cb', '[::ffff:7f00:1]'],
    ])('refuses %s (host %s) as loopback', (url, hostname) => {
      expect(new URL(url).hostname).toBe(hostname);
      expect(policy().checkUrl(url)).toMatchObject({ allowed: false, rule: 'loopback' });
    });

    it.each([
      ['http://[::1]:8080/cb', 'loopback'],
      ['http://169.254.169.254/latest/meta-data/', 'cloud metadata'],
      ['http://[fd00:ec2::254]/', 'cloud metadata'],
      ['http://0/', 'unspecified'],
      ['https://user:pw@127.0.0.2:8443/cb', 'loopback'],
    ])('refuses %s as %s', (url, rule) => {
      expect(policy().checkUrl(url)).toMatchObject({ allowed: false, rule });
    });

    it('lets a host name pass: it is checked on every delivery, after DNS', () => {
      expect(policy().checkUrl('http://localhost/cb')).toStrictEqual({ allowed: true });
      expect(policy().checkUrl('http://metadata.google.internal/')).toStrictEqual({
        allowed: true,
      });
    });

    it('allows private and allow-listed literal hosts', () => {
      expect(policy().checkUrl('http://10.0.0.5:8080/cb')).toStrictEqual({ allowed: true });
      expect(policy('private', ['127.0.0.1/32']).checkUrl('http://127.0.0.1:9/')).toStrictEqual({
        allowed: true,
      });
    });
  });

  it('describes a refusal by address, rule and range, with the setting that can change it', () => {
    const verdict = policy().checkAddress('::ffff:127.0.0.2') as Refusal;
    expect(describeRefusal(verdict)).toBe(
      '::ffff:127.0.0.2 (127.0.0.2) is refused by the callback network policy: loopback ' +
        '(127.0.0.0/8); CALLBACK_ALLOW_CIDRS can allow it',
    );
    const strict = policy('public').checkAddress('10.0.0.1') as Refusal;
    expect(describeRefusal(strict)).toBe(
      '10.0.0.1 is refused by the callback network policy: private (10.0.0.0/8) under ' +
        'CALLBACK_NETWORK_POLICY=public; CALLBACK_ALLOW_CIDRS can allow it',
    );
  });

  it('builds one policy per configuration object', () => {
    const settings = { callbackNetworkPolicy: 'private' as const, callbackAllowCidrs: [] };
    expect(networkPolicyOf(settings)).toBe(networkPolicyOf(settings));
  });
});

describe('assertCallbackUrlAllowed', () => {
  const settings = { callbackNetworkPolicy: 'private' as const, callbackAllowCidrs: [] };

  it('throws a 400 naming the rule for a refused literal host, without the URL', () => {
    let thrown: unknown;
    try {
      assertCallbackUrlAllowed('http://secret:pw@127.0.0.2/x', settings);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(BadRequestException);
    const message = (thrown as BadRequestException).message;
    expect(message).toMatch(/^handler address 127\.0\.0\.2 is refused .*: loopback \(127/);
    expect(message).not.toContain('secret');
  });

  it('accepts no handler, host names and allowed addresses', () => {
    expect(() => assertCallbackUrlAllowed(undefined, settings)).not.toThrow();
    expect(() => assertCallbackUrlAllowed(null, settings)).not.toThrow();
    expect(() => assertCallbackUrlAllowed('', settings)).not.toThrow();
    expect(() => assertCallbackUrlAllowed('https://hooks.example.com/x', settings)).not.toThrow();
    expect(() => assertCallbackUrlAllowed('http://192.168.0.10/x', settings)).not.toThrow();
  });
});
