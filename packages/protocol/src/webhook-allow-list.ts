import { BlockList, isIP } from 'node:net';

/**
 * Where webhooks may go (A2I_WEBHOOK_ALLOW): a comma list of entries, each
 *   `*`                    any public address
 *   `hooks.example.com`    that host (at a public address); `*.example.com`: its subdomains
 *   `203.0.113.7`, `10.1.0.0/16`, `::1`, `fd00::/8`   addresses and subnets, special ones included
 * Default: `*`. An address of a special-purpose range (loopback, private, link-local, CGNAT,
 * multicast, documentation...) is refused unless an address or subnet entry covers it: a
 * host name never lets a request reach one, so a request cannot make the server call its
 * own network by naming a host that resolves there.
 */
export type AllowEntry = { kind: 'any' } | { kind: 'host'; name: string; subdomains: boolean } | { kind: 'net'; address: string; prefix: number; type: 'ipv4' | 'ipv6' };

const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const HOST_NAME = new RegExp(`^(\\*\\.)?(${LABEL}(?:\\.${LABEL})*)$`);

/** One A2I_WEBHOOK_ALLOW entry, or null when it is none of the forms above. */
export function parseAllowEntry(text: string): AllowEntry | null {
  const entry = text.trim().toLowerCase();
  if (entry === '*') return { kind: 'any' };
  const [rawAddress, rawPrefix, extra] = entry.split('/');
  const address = unbracket(rawAddress ?? '');
  const family = isIP(address);
  if (family !== 0 && extra === undefined) {
    const max = family === 4 ? 32 : 128;
    const prefix = rawPrefix === undefined ? max : /^\d{1,3}$/.test(rawPrefix) ? Number(rawPrefix) : NaN;
    if (!(prefix >= 0 && prefix <= max)) return null;
    return { kind: 'net', address, prefix, type: family === 4 ? 'ipv4' : 'ipv6' };
  }
  const host = HOST_NAME.exec(entry);
  if (host) return { kind: 'host', name: host[2]!, subdomains: host[1] !== undefined };
  return null;
}

/**
 * IANA's special-purpose address registries (RFC 6890 and its updates), plus multicast and the
 * reserved 240/4: no webhook goes there by default. IPv4-mapped IPv6 is checked as IPv4.
 */
const SPECIAL_PURPOSE: ReadonlyArray<[string, number, 'ipv4' | 'ipv6']> = [
  ['0.0.0.0', 8, 'ipv4'], // "this network"
  ['10.0.0.0', 8, 'ipv4'], // private (RFC 1918)
  ['100.64.0.0', 10, 'ipv4'], // shared address space, CGNAT (RFC 6598)
  ['127.0.0.0', 8, 'ipv4'], // loopback
  ['169.254.0.0', 16, 'ipv4'], // link-local (cloud metadata services live here)
  ['172.16.0.0', 12, 'ipv4'], // private
  ['192.0.0.0', 24, 'ipv4'], // IETF protocol assignments
  ['192.0.2.0', 24, 'ipv4'], // documentation (TEST-NET-1)
  ['192.88.99.0', 24, 'ipv4'], // 6to4 relay anycast
  ['192.168.0.0', 16, 'ipv4'], // private
  ['198.18.0.0', 15, 'ipv4'], // benchmarking
  ['198.51.100.0', 24, 'ipv4'], // documentation (TEST-NET-2)
  ['203.0.113.0', 24, 'ipv4'], // documentation (TEST-NET-3)
  ['224.0.0.0', 4, 'ipv4'], // multicast
  ['240.0.0.0', 4, 'ipv4'], // reserved, and the broadcast address
  ['::', 96, 'ipv6'], // unspecified, loopback (::1), IPv4-compatible
  ['64:ff9b::', 96, 'ipv6'], // NAT64 (embeds an IPv4 address)
  ['64:ff9b:1::', 48, 'ipv6'], // local-use NAT64
  ['100::', 64, 'ipv6'], // discard-only
  ['2001::', 23, 'ipv6'], // IETF protocol assignments (Teredo included)
  ['2001:db8::', 32, 'ipv6'], // documentation
  ['2002::', 16, 'ipv6'], // 6to4 (embeds an IPv4 address)
  ['fc00::', 7, 'ipv6'], // unique local
  ['fe80::', 10, 'ipv6'], // link-local
  ['fec0::', 10, 'ipv6'], // site-local (deprecated)
  ['ff00::', 8, 'ipv6'], // multicast
];

const SPECIAL = blockListOf(SPECIAL_PURPOSE.map(([address, prefix, type]) => ({ address, prefix, type })));

/** An address in one of the special-purpose ranges (IPv4-mapped IPv6 checked as IPv4). */
export function isSpecialPurposeAddress(address: string): boolean {
  const canonical = canonicalAddress(address);
  return SPECIAL.check(canonical, isIP(canonical) === 4 ? 'ipv4' : 'ipv6');
}

/** Decides, for a host and one address it resolved to, whether a webhook may go there. */
export interface WebhookAddressPolicy {
  allows(host: string, address: string): boolean;
}

export function webhookAddressPolicy(entries: readonly AllowEntry[]): WebhookAddressPolicy {
  const nets = blockListOf(entries.flatMap((entry) => (entry.kind === 'net' ? [entry] : [])));
  const anyPublic = entries.some((entry) => entry.kind === 'any');
  const hosts = entries.flatMap((entry) => (entry.kind === 'host' ? [entry] : []));
  return {
    allows(host, address) {
      const canonical = canonicalAddress(address);
      const family = isIP(canonical);
      if (family === 0) return false;
      if (nets.check(canonical, family === 4 ? 'ipv4' : 'ipv6')) return true;
      if (SPECIAL.check(canonical, family === 4 ? 'ipv4' : 'ipv6')) return false;
      if (anyPublic) return true;
      const name = host.toLowerCase().replace(/\.$/, '');
      return hosts.some((entry) => (entry.subdomains ? name.endsWith(`.${entry.name}`) : name === entry.name));
    },
  };
}

function blockListOf(nets: ReadonlyArray<{ address: string; prefix: number; type: 'ipv4' | 'ipv6' }>): BlockList {
  const list = new BlockList();
  for (const net of nets) list.addSubnet(net.address, net.prefix, net.type);
  return list;
}

function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/**
 * The address as checked: brackets dropped, IPv6 in its canonical form (the WHATWG URL
 * serializer's), and an IPv4-mapped IPv6 address (::ffff:a.b.c.d) as the IPv4 address it is.
 */
export function canonicalAddress(address: string): string {
  const bare = unbracket(address.trim());
  if (isIP(bare) !== 6) return bare;
  const canonical = new URL(`http://[${bare.replace(/%.*$/, '')}]/`).hostname.slice(1, -1);
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canonical);
  if (!mapped) return canonical;
  const high = parseInt(mapped[1]!, 16);
  const low = parseInt(mapped[2]!, 16);
  return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
}
