/**
 * The HTTP client outbound fetches go through (SPEC §1: all outbound HTTP through a configurable forward
 * proxy, squid in production). With a proxy URL, an undici ProxyAgent tunnels every request with CONNECT
 * (reference/stack.md §1.8: the right mode for https targets); without one, a plain Agent connects directly.
 * Redirects are never followed: undici's dispatchers do not, and we add no redirect interceptor.
 *
 * Outbound fetches never reach loopback, private, link-local, metadata or other special-purpose addresses
 * (SPEC §4.14), in two layers:
 * - every request: the origin's host is checked by name before anything is sent or resolved
 *   (`destinationProblem`): internal names, forbidden IP literals and non-canonical IPv4 forms are refused;
 * - direct connections: the resolver the socket connects with refuses names that resolve to a forbidden
 *   address, and the connected socket's peer address is checked again, so the check is on the address
 *   connected to (no gap between a check and a second lookup for DNS rebinding to use).
 * With a proxy, the proxy resolves and connects: the name check runs before the proxy is asked, and the
 * proxy's own ACLs (squid `acl … dst`, docs/operations.md) are the second line.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, isIPv4, type LookupFunction } from 'node:net';
import { Agent, buildConnector, ProxyAgent, type Dispatcher } from 'undici';

export interface EgressOptions {
  /** Forward proxy, `http://host:port` (or https://); absent means direct connections. */
  readonly proxyUrl?: string;
  /** CA certificates (PEM) to trust instead of the system's, e.g. a private CA; absent means the system's. */
  readonly ca?: string | readonly string[];
  /** Bound on TCP connect plus TLS handshake, ms. */
  readonly connectTimeoutMs?: number;
  /** The resolver for direct connections (default dns.lookup); its answers are checked like any. */
  readonly lookup?: LookupFunction;
}

/** A destination refused by policy; its message is for logs, never for callers (SPEC §4.14). */
export class EgressRefusedError extends Error {
  override readonly name = 'EgressRefusedError';
  readonly code = 'ERR_PERSONA_EGRESS_REFUSED';
}

// Special-purpose ranges (IANA IPv4/IPv6 special-purpose address registries) that are never a public IdP.
const FORBIDDEN_V4: readonly (readonly [string, number])[] = [
  ['0.0.0.0', 8], // "this network", unspecified
  ['10.0.0.0', 8], // RFC 1918
  ['100.64.0.0', 10], // CGNAT
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local, cloud metadata (169.254.169.254)
  ['172.16.0.0', 12], // RFC 1918
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation
  ['192.88.99.0', 24], // 6to4 relay anycast
  ['192.168.0.0', 16], // RFC 1918
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation
  ['203.0.113.0', 24], // documentation
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
];
const FORBIDDEN_V6: readonly (readonly [string, number])[] = [
  ['::', 96], // unspecified, loopback, IPv4-compatible
  ['64:ff9b:1::', 48], // local-use NAT64
  ['100::', 64], // discard
  ['2001::', 32], // Teredo
  ['2001:db8::', 32], // documentation
  ['2002::', 16], // 6to4: embeds any IPv4 address
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
];
const forbidden = new BlockList();
for (const [network, prefix] of FORBIDDEN_V4) forbidden.addSubnet(network, prefix, 'ipv4');
// IPv4-mapped addresses (::ffff:0:0/96) need no rule of their own: BlockList matches them against the
// IPv4 rules (and squid keeps IPv4 addresses in that form, so a rule for them would refuse everything).
for (const [network, prefix] of FORBIDDEN_V6) forbidden.addSubnet(network, prefix, 'ipv6');

/**
 * squid.conf access lines for the egress proxy, the second line of defence with a proxy (the proxy
 * resolves names, so only it sees the address connected to): the same ranges, and port 443 only. They go
 * before the rule that allows the tiers.
 */
export const SQUID_EGRESS_ACCESS: readonly string[] = [
  `acl persona_forbidden_dst dst ${[...FORBIDDEN_V4, ...FORBIDDEN_V6].map(([n, p]) => `${n}/${p}`).join(' ')}`,
  'acl persona_egress_port port 443',
  'http_access deny persona_forbidden_dst',
  'http_access deny !persona_egress_port',
];

/** The eight 16-bit groups of an IPv6 address (valid per net.isIPv6, no zone). */
function ipv6Groups(address: string): number[] {
  let text = address;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted?.[1]) {
    const [a = 0, b = 0, c = 0, d = 0] = dotted[1].split('.').map(Number);
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  return [...left, ...Array<number>(8 - left.length - right.length).fill(0), ...right];
}

/**
 * Whether `address` (an IP literal) is one outbound fetches never reach. IPv4-mapped IPv6 forms are checked
 * as their IPv4 address (BlockList does), NAT64 (64:ff9b::/96) by the IPv4 address it embeds; anything that
 * is not a plain IP (a zone id, garbage) counts as forbidden.
 */
export function isForbiddenAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return forbidden.check(address, 'ipv4');
  if (family !== 6 || address.includes('%')) return true;
  if (forbidden.check(address, 'ipv6')) return true;
  const groups = ipv6Groups(address.toLowerCase());
  if (groups[0] === 0x64 && groups[1] === 0xff9b && groups.slice(2, 6).every((g) => g === 0)) {
    const [hi = 0, lo = 0] = groups.slice(6);
    return forbidden.check(`${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`, 'ipv4');
  }
  return false;
}

// Names that are never a public host: RFC 6761 localhost, mDNS, private-use and reverse-lookup zones.
const INTERNAL_SUFFIXES = [
  'localhost',
  'local',
  'localdomain',
  'internal',
  'intranet',
  'lan',
  'home.arpa',
  'arpa',
];

/**
 * Why an outbound request to `host` (a URL's host: name, IPv4, or bracketed IPv6) is refused by name,
 * before any lookup; undefined when it may go on to the connect-time check. Refused: forbidden IP literals,
 * IPv4 in any form but the canonical dotted quad (`0177.0.0.1`, `2130706433`, `0x7f.1`, `127.1`: resolvers
 * and URL parsers read them as 127.0.0.1), single-label names (resolved through search domains to
 * internal hosts) and internal suffixes such as `localhost` and `.internal`.
 */
export function destinationProblem(host: string): string | undefined {
  const name = host.toLowerCase().replace(/\.$/, '');
  const literal = name.startsWith('[') && name.endsWith(']') ? name.slice(1, -1) : name;
  if (isIP(literal) !== 0) return isForbiddenAddress(literal) ? `${host}: a forbidden address` : undefined;
  const last = name.slice(name.lastIndexOf('.') + 1);
  if (/^(0x[0-9a-f]*|\d+)$/.test(last) && !isIPv4(name)) return `${host}: a non-canonical IP address`;
  if (name === '' || !name.includes('.')) return `${host}: a single-label name`;
  if (INTERNAL_SUFFIXES.some((suffix) => name === suffix || name.endsWith(`.${suffix}`)))
    return `${host}: an internal name`;
  return undefined;
}

/** Refuses a request by its origin's host before it is sent (and before a proxy is asked). */
function checkOrigin(origin: unknown): void {
  let host: string;
  try {
    host = new URL(String(origin)).hostname;
  } catch {
    throw new EgressRefusedError(`refused: bad origin ${String(origin).slice(0, 100)}`);
  }
  const problem = destinationProblem(host);
  if (problem !== undefined) throw new EgressRefusedError(`refused: ${problem}`);
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/**
 * A resolver for net/tls.connect that answers only permitted addresses: a name with any forbidden address
 * is refused whole (a mix is how rebinding attacks hedge), so the socket connects only where we checked.
 */
function guardedLookup(resolve: LookupFunction): LookupFunction {
  const guarded = (hostname: string, options: { all?: boolean }, callback: LookupCallback): void => {
    resolve(hostname, { ...options, all: true }, (err, answer) => {
      if (err) {
        callback(err, '');
        return;
      }
      const addresses = (Array.isArray(answer) ? answer : [{ address: answer, family: 0 }]).map((a) => ({
        address: a.address,
        family: a.family || isIP(a.address),
      }));
      const bad = addresses.find((a) => isForbiddenAddress(a.address));
      if (addresses.length === 0 || bad) {
        callback(new EgressRefusedError(`refused: ${hostname} resolves to ${bad?.address ?? 'nothing'}`), '');
        return;
      }
      const [first] = addresses;
      if (options.all) callback(null, addresses);
      else callback(null, first?.address ?? '', first?.family);
    });
  };
  return guarded;
}

/** Checks a proxy URL early, so a typo fails at start, not on the first lookup. */
export function parseProxyUrl(proxyUrl: string): URL {
  let url: URL;
  try {
    url = new URL(proxyUrl);
  } catch {
    throw new Error(`invalid proxy URL: ${proxyUrl}`);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '')
    throw new Error(`invalid proxy URL (want http://host:port): ${proxyUrl}`);
  return url;
}

/** A dispatcher for outbound requests, guarded as above; the caller owns it and closes it. */
export function createEgressDispatcher(options: EgressOptions = {}): Dispatcher {
  const tls = {
    ...(options.ca !== undefined ? { ca: [options.ca].flat() } : {}),
    ...(options.connectTimeoutMs !== undefined ? { timeout: options.connectTimeoutMs } : {}),
  };
  const byName: Dispatcher.DispatcherComposeInterceptor = (dispatch) => (opts, handler) => {
    checkOrigin(opts.origin);
    return dispatch(opts, handler);
  };
  if (options.proxyUrl !== undefined && options.proxyUrl !== '') {
    parseProxyUrl(options.proxyUrl);
    // requestTls applies to the origin's TLS inside the tunnel; the proxy itself is usually plain http
    // (and usually on a private address, which is why the proxy connection is not guarded).
    return new ProxyAgent({ uri: options.proxyUrl, requestTls: tls, proxyTls: tls }).compose(byName);
  }
  const connectChecked = buildConnector({
    ...tls,
    lookup: guardedLookup(options.lookup ?? dnsLookup),
  });
  const connect: buildConnector.connector = (target, callback) => {
    // net.connect skips the resolver for IP literals: check those here.
    const host = target.hostname.replace(/^\[(.*)\]$/, '$1');
    if (isIP(host) !== 0 && isForbiddenAddress(host)) {
      callback(new EgressRefusedError(`refused: ${host} is a forbidden address`), null);
      return;
    }
    connectChecked(target, (err, socket) => {
      if (err) {
        callback(err, null);
        return;
      }
      // Belt and braces: the peer actually connected to.
      const peer = socket.remoteAddress;
      if (peer === undefined || isForbiddenAddress(peer)) {
        socket.destroy();
        callback(new EgressRefusedError(`refused: connected to ${peer ?? 'nothing'}`), null);
        return;
      }
      callback(null, socket);
    });
  };
  return new Agent({ connect }).compose(byName);
}
