import { BadRequestException } from '@nestjs/common';
import * as ipaddr from 'ipaddr.js';
import { isIP } from 'node:net';
import { CallbackNetworkPolicy } from '../config/app-config';

export interface NetworkPolicySettings {
  /** `private`: internal handlers (RFC 1918, fc00::/7) are allowed; `public` refuses them too. */
  callbackNetworkPolicy: CallbackNetworkPolicy;
  /** CIDRs (or single addresses) allowed whatever the rules below say. */
  callbackAllowCidrs: readonly string[];
}

export interface Refusal {
  allowed: false;
  address: string;
  /** cloud metadata, unspecified, loopback, link-local, multicast, broadcast, reserved, private */
  rule: string;
  range?: string;
}

export type AddressVerdict = { allowed: true } | Refusal;

type Cidr = [ipaddr.IPv4 | ipaddr.IPv6, number];

interface Rule {
  /** Named in messages: "…refused by the callback network policy: loopback (127.0.0.0/8)". */
  rule: string;
  ranges: string[];
}

/**
 * Addresses no callback may reach, checked in this order (the first match names the rule).
 * Metadata services come first so that they are named as such, not as "link-local".
 */
const REFUSED: Rule[] = [
  {
    // AWS/GCP/Azure/OpenStack/OCI, AWS ECS task credentials, Alibaba Cloud, AWS over IPv6.
    rule: 'cloud metadata',
    ranges: ['169.254.169.254/32', '169.254.170.2/32', '100.100.100.200/32', 'fd00:ec2::254/128'],
  },
  { rule: 'unspecified', ranges: ['0.0.0.0/8', '::/128'] },
  { rule: 'loopback', ranges: ['127.0.0.0/8', '::1/128'] },
  { rule: 'link-local', ranges: ['169.254.0.0/16', 'fe80::/10'] },
  { rule: 'multicast', ranges: ['224.0.0.0/4', 'ff00::/8'] },
  { rule: 'broadcast', ranges: ['255.255.255.255/32'] },
  {
    // IETF protocol assignments, documentation (TEST-NETs), benchmarking, the old 6to4 relay,
    // class E; for IPv6 the special-purpose blocks inside 2000::/3 (Teredo and friends, 6to4,
    // documentation), local-use NAT64 and site-local. Anything outside 2000::/3 and fc00::/7
    // is refused as reserved further down.
    rule: 'reserved',
    ranges: [
      '192.0.0.0/24',
      '192.0.2.0/24',
      '192.88.99.0/24',
      '198.18.0.0/15',
      '198.51.100.0/24',
      '203.0.113.0/24',
      '240.0.0.0/4',
      '2001::/23',
      '2001:db8::/32',
      '2002::/16',
      '3fff::/20',
      '64:ff9b:1::/48',
      'fec0::/10',
    ],
  },
];

/** Internal networks: allowed by the `private` policy, refused by `public`. */
const PRIVATE: Rule = {
  rule: 'private',
  ranges: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', 'fc00::/7'],
};

/** IPv6 global unicast; IPv6 addresses outside it (and outside fc00::/7) are reserved. */
const IPV6_GLOBAL = ipaddr.parseCIDR('2000::/3');

/** IPv6 prefixes whose last 32 bits are an IPv4 address that a connection really reaches. */
const EMBEDS_IPV4 = ['::ffff:0:0/96', '::ffff:0:0:0/96', '64:ff9b::/96'].map(parseCidr);

const compiled = (rule: Rule): { rule: string; cidrs: Cidr[] } => ({
  rule: rule.rule,
  cidrs: rule.ranges.map(parseCidr),
});
const REFUSED_CIDRS = REFUSED.map(compiled);
const PRIVATE_CIDRS = compiled(PRIVATE);
const METADATA_CIDRS = REFUSED_CIDRS[0].cidrs;

/**
 * The SSRF policy for callbacks (which addresses a delivery may connect to), as pure functions
 * of an address: no DNS, no I/O.
 * The dispatcher applies it to every address it is about to connect to (after DNS resolution);
 * the API applies it to handler URLs whose host is an IP literal.
 */
export class NetworkPolicy {
  private readonly allowCidrs: Cidr[];

  constructor(readonly settings: NetworkPolicySettings) {
    this.allowCidrs = settings.callbackAllowCidrs.map(parseCidr);
  }

  /** Decides for one IP address in any textual form Node or the URL parser produces. */
  checkAddress(address: string): AddressVerdict {
    const text = address.replace(/^\[(.*)\]$/, '$1');
    if (isIP(text) === 0) return refusal(address, 'not an IP address');
    const parsed = ipaddr.parse(text);
    // An IPv4-mapped or NAT64 address reaches the embedded IPv4 address: judge that one.
    const effective = embeddedIPv4(parsed) ?? parsed;
    if (this.isAllowListed([parsed, effective])) return { allowed: true };
    const named = effective === parsed ? text : `${text} (${effective.toString()})`;
    for (const { rule, cidrs } of REFUSED_CIDRS) {
      const range = matching(effective, cidrs);
      if (range) return refusal(named, rule, range);
    }
    const privateRange = matching(effective, PRIVATE_CIDRS.cidrs);
    if (privateRange) {
      return this.settings.callbackNetworkPolicy === 'public'
        ? refusal(named, 'private', privateRange)
        : { allowed: true };
    }
    if (effective.kind() === 'ipv6' && !effective.match(IPV6_GLOBAL)) {
      return refusal(named, 'reserved', 'outside 2000::/3');
    }
    return { allowed: true };
  }

  /**
   * Decides for a handler URL before any delivery: a literal IP host is checked now; a host
   * name passes, since what it resolves to can change and is checked when delivering.
   */
  checkUrl(url: string): AddressVerdict {
    let hostname: string;
    try {
      hostname = new URL(url).hostname;
    } catch {
      return { allowed: true }; // not a URL: the URL validation reports it
    }
    const host = hostname.replace(/^\[(.*)\]$/, '$1');
    return isIP(host) === 0 ? { allowed: true } : this.checkAddress(host);
  }

  /**
   * Allow-list entries win over every rule, except that a cloud metadata address is only
   * allowed by an entry naming exactly that address: `0.0.0.0/0` or `169.254.0.0/16` must not
   * open the instance's credentials by accident.
   */
  private isAllowListed(forms: Array<ipaddr.IPv4 | ipaddr.IPv6>): boolean {
    return forms.some((address) => {
      const metadata = matching(address, METADATA_CIDRS) !== undefined;
      return this.allowCidrs.some(
        ([base, bits]) =>
          sameKind(address, base) &&
          address.match(base, bits) &&
          (!metadata || bits === (base.kind() === 'ipv4' ? 32 : 128)),
      );
    });
  }
}

/** The policy of a configuration, built once per configuration object. */
const policies = new WeakMap<NetworkPolicySettings, NetworkPolicy>();
export function networkPolicyOf(settings: NetworkPolicySettings): NetworkPolicy {
  let policy = policies.get(settings);
  if (!policy) {
    policy = new NetworkPolicy(settings);
    policies.set(settings, policy);
  }
  return policy;
}

/**
 * "127.0.0.2 is refused by the callback network policy: loopback (127.0.0.0/8);
 * CALLBACK_ALLOW_CIDRS can allow it", or with `host`: "cb.example resolved to 127.0.0.2, which
 * is refused …". Names the rule and the range, never the whole URL (it may carry credentials).
 */
export function describeRefusal(verdict: Refusal, host?: string): string {
  const { address, rule, range } = verdict;
  const subject = host === undefined ? `${address} is` : `${host} resolved to ${address}, which is`;
  const mode = rule === 'private' ? ' under CALLBACK_NETWORK_POLICY=public' : '';
  return (
    `${subject} refused by the callback network policy: ${rule}${range ? ` (${range})` : ''}` +
    `${mode}; CALLBACK_ALLOW_CIDRS can allow it`
  );
}

/**
 * Throws the 400 for a handler URL whose literal IP host the policy refuses. One call wherever
 * a handler URL is accepted (category registration, task upserts).
 */
export function assertCallbackUrlAllowed(
  url: string | null | undefined,
  settings: NetworkPolicySettings,
): void {
  if (!url) return;
  const verdict = networkPolicyOf(settings).checkUrl(url);
  if (!verdict.allowed) {
    throw new BadRequestException(`handler address ${describeRefusal(verdict)}`);
  }
}

function parseCidr(text: string): Cidr {
  if (text.includes('/')) return ipaddr.parseCIDR(text);
  const address = ipaddr.parse(text);
  return [address, address.kind() === 'ipv4' ? 32 : 128];
}

function embeddedIPv4(address: ipaddr.IPv4 | ipaddr.IPv6): ipaddr.IPv4 | undefined {
  if (address.kind() !== 'ipv6' || matching(address, EMBEDS_IPV4) === undefined) return undefined;
  const bytes = address.toByteArray().slice(12);
  return new ipaddr.IPv4(bytes);
}

function matching(address: ipaddr.IPv4 | ipaddr.IPv6, cidrs: Cidr[]): string | undefined {
  const hit = cidrs.find(([base, bits]) => sameKind(address, base) && address.match(base, bits));
  return hit ? `${hit[0].toString()}/${hit[1]}` : undefined;
}

function sameKind(a: ipaddr.IPv4 | ipaddr.IPv6, b: ipaddr.IPv4 | ipaddr.IPv6): boolean {
  return a.kind() === b.kind();
}

function refusal(address: string, rule: string, range?: string): Refusal {
  return { allowed: false, address, rule, range };
}
