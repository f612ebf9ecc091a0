/**
 * Sets of IP addresses written as CIDR blocks ("10.0.0.0/8", "2001:db8::/32") or single addresses, for
 * ip-filter and trusted proxies. Matching is node:net's BlockList, which itself matches IPv4-mapped IPv6
 * addresses ("::ffff:10.1.2.3", "::ffff:a01:203") as the IPv4 address they carry.
 */
import { BlockList, isIP } from 'node:net';
import { z } from 'zod';

export interface ParsedCidr {
  readonly address: string;
  readonly prefix: number;
  readonly family: 'ipv4' | 'ipv6';
}

export function parseCidr(text: string): ParsedCidr | undefined {
  const slash = text.indexOf('/');
  const address = slash === -1 ? text : text.slice(0, slash);
  const version = isIP(address);
  if (version === 0) return undefined;
  const max = version === 4 ? 32 : 128;
  let prefix = max;
  if (slash !== -1) {
    const rest = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(rest)) return undefined;
    prefix = Number(rest);
    if (prefix > max) return undefined;
  }
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

export const cidr = z.string().refine((s) => parseCidr(s) !== undefined, 'must be an IP address or CIDR block, e.g. 10.0.0.0/8 or 2001:db8::/32');

export interface IpSet {
  has(ip: string): boolean;
}

export function ipSet(blocks: readonly string[]): IpSet {
  const list = new BlockList();
  for (const block of blocks) {
    const parsed = parseCidr(block);
    if (!parsed) throw new Error(`not a CIDR block: ${block}`);
    list.addSubnet(parsed.address, parsed.prefix, parsed.family);
  }
  const empty = blocks.length === 0;
  return {
    has(ip) {
      if (empty) return false;
      const v = isIP(ip);
      if (v === 4) return list.check(ip, 'ipv4');
      return v === 6 && list.check(ip, 'ipv6');
    },
  };
}
