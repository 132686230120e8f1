/**
 * Clients of the region drill resolve the service's name through the deployment's own DNS server (the
 * PowerDNS that picks the regions), not the system's resolver, and connect to what it answers: a
 * `lookup` for net.connect and an undici Agent using it. Each new connection asks again (no cache here:
 * the TTL is pdns's business), so a region DNS stops answering stops getting new connections.
 */
import { Resolver } from 'node:dns/promises';
import type { LookupFunction } from 'node:net';
import { Agent } from 'undici';

export function resolverFor(server: string): Resolver {
  // A short timeout and a retry: the DNS server is local, a lost answer is better asked again.
  const resolver = new Resolver({ timeout: 1000, tries: 3 });
  resolver.setServers([server]);
  return resolver;
}

/** A net `lookup` answering A records from `server` ("host:port"), in the order DNS gives them. */
export function lookupVia(server: string): LookupFunction {
  const resolver = resolverFor(server);
  return (hostname, options, callback) => {
    const literal = /^[\d.]+$/.test(hostname);
    (literal ? Promise.resolve([hostname]) : resolver.resolve4(hostname)).then(
      (addresses) => {
        if (addresses.length === 0) {
          callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), '', 4);
        } else if (options.all) {
          const shuffled = [...addresses].sort(() => Math.random() - 0.5);
          callback(
            null,
            shuffled.map((address) => ({ address, family: 4 })),
          );
        } else {
          // Spread connections over the regions DNS answers, as resolvers rotate records.
          callback(null, addresses[Math.floor(Math.random() * addresses.length)] ?? '', 4);
        }
      },
      (err: unknown) => {
        callback(err as NodeJS.ErrnoException, '', 4);
      },
    );
  };
}

/** An HTTP client that resolves through `server`. */
export const agentVia = (server: string, options: Agent.Options = {}): Agent =>
  new Agent({ keepAliveTimeout: 4000, ...options, connect: { lookup: lookupVia(server) } });
