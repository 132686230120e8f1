/**
 * The client's address as the tiers see it (per-address limits, SPEC §4.4). Behind an edge (nginx,
 * docs/edge.md) the connecting address is the edge's; only then is `X-Forwarded-For` believed, and only
 * its entries added by trusted hops: walking from the right, the first address that is not a trusted
 * edge is the client. A client that connects directly, or sends its own header through the edge, cannot
 * choose the address it is counted under.
 */
import { BlockList, isIP } from 'node:net';

/** The edge addresses (IPs or CIDRs, e.g. `127.0.0.1`, `10.0.0.0/16`) whose forwarding is believed. */
export function trustedEdges(entries: readonly string[]): BlockList | undefined {
  if (entries.length === 0) return undefined;
  const list = new BlockList();
  for (const entry of entries) {
    const [address = '', prefix] = entry.trim().split('/');
    const family = isIP(address);
    if (family === 0) throw new Error(`not an IP address or CIDR: ${entry}`);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (prefix === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(prefix), type);
  }
  return list;
}

export const isTrusted = (edges: BlockList, address: string): boolean => {
  const family = isIP(address);
  return family !== 0 && edges.check(address, family === 4 ? 'ipv4' : 'ipv6');
};

/** `peer`: the connecting address; `forwardedFor`: the request's X-Forwarded-For, if any. */
export function clientAddress(
  peer: string,
  forwardedFor: string | string[] | undefined,
  edges: BlockList | undefined,
): string {
  if (!edges || !isTrusted(edges, peer) || forwardedFor === undefined) return peer;
  const hops = [forwardedFor]
    .flat()
    .join(',')
    .split(',')
    .map((hop) => hop.trim())
    .filter((hop) => hop !== '');
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i] ?? '';
    // Garbage where an address should be: the hop that wrote it is not to be believed further left.
    if (isIP(hop) === 0) return peer;
    if (!isTrusted(edges, hop)) return hop;
  }
  return hops[0] ?? peer;
}
