/**
 * Discovery as the webhead uses it: the shared discovery (src/browserid/discovery.ts) plus the proxy IdPs
 * (reference/persona.md §4.7): when a mapped mail domain's own support document cannot be fetched, the
 * domain is treated as delegating to its bridge. A real document, `disabled` included, always wins.
 */
import type { DiscoveryResult } from '../../browserid/discovery.ts';
import type { IssuerDirectory } from '../../browserid/index.ts';

/** An issuer directory that can also say where a domain stands (createDiscovery returns one). */
export interface DomainDirectory extends IssuerDirectory {
  discover(domain: string, principalDomain?: string): Promise<DiscoveryResult>;
}

export function withProxyIdps(
  discovery: DomainDirectory,
  proxyIdps: Readonly<Record<string, string>>,
): DomainDirectory {
  const bridges = new Map(
    Object.entries(proxyIdps).map(([domain, bridge]) => [domain.toLowerCase(), bridge.toLowerCase()]),
  );
  if (bridges.size === 0) return discovery;

  async function discover(domain: string, principalDomain: string = domain): Promise<DiscoveryResult> {
    try {
      return await discovery.discover(domain, principalDomain);
    } catch (err) {
      const bridge = bridges.get(domain.toLowerCase());
      if (bridge === undefined) throw err;
      const delegated = await discovery.discover(bridge, principalDomain);
      return { ...delegated, delegationChain: [domain.toLowerCase(), ...delegated.delegationChain] };
    }
  }

  return {
    discover,
    async publicKeyOf(issuer) {
      const result = await discover(issuer);
      if (result.kind === 'disabled') throw new Error(`browserid support is disabled for ${issuer}`);
      return result.publicKey;
    },
    async authorityOf(domain) {
      const result = await discover(domain);
      return result.kind === 'supported' ? result.authoritativeDomain : null;
    },
  };
}
