/**
 * The network allow matrix of a deployment (the roadmap's security groups), from the topology: who may
 * open a TCP connection to whom, on which port. The CDK app turns the rules into security groups; for
 * fleets without a cloud, `nftablesRuleset` is the same matrix as a host firewall. It is a second line:
 * the tiers refuse unsigned or disallowed calls whatever the network lets through (SPEC §2).
 */
import type { Config } from '../config/settings.ts';
import {
  CALLS,
  deploymentOf,
  EDGE,
  edgeListenersOf,
  instancesOf,
  RUNNING_TIERS,
  TIERS,
  type Resource,
  type Tier,
} from '../topology/index.ts';

/** Endpoints besides the tiers: the public, the edge (nginx), and what tiers reach (topology `reaches`). */
export type Endpoint = Tier | 'internet' | 'edge' | 'database' | 'smtp' | 'egress-proxy';

export interface AllowRule {
  readonly from: Endpoint;
  readonly to: Endpoint;
  readonly ports: readonly number[];
  readonly protocol: 'tcp';
  readonly why: string;
}

type ResourceEndpoint = 'database' | 'smtp' | 'egress-proxy';
const RESOURCE_ENDPOINT: Readonly<Record<Resource, ResourceEndpoint>> = {
  'database-read': 'database',
  'database-write': 'database',
  smtp: 'smtp',
  'egress-proxy': 'egress-proxy',
};

const portOf = (url: string, fallback: number): number => {
  if (url === '') return fallback;
  const parsed = new URL(url);
  return Number(parsed.port) || fallback;
};

/** The matrix for a configuration: every rule a deployment needs, nothing else. */
export function allowMatrix(config: Config): AllowRule[] {
  const deployment = deploymentOf(config);
  const ports = (tier: Tier) => [...new Set(instancesOf(deployment, tier).map((i) => i.port))];
  // Optional tiers (the bridge pair) count only where this deployment runs them.
  const deployed = (tier: Tier): boolean => instancesOf(deployment, tier).length > 0;
  const publicPort = Number(new URL(config.publicUrl).port) || 443;
  const resourcePorts: Readonly<Record<ResourceEndpoint, number[]>> = {
    database: [config.databaseUrl.startsWith('mysql:') ? portOf(config.databaseUrl, 3306) : 3306],
    smtp: [portOf(config.smtpUrl, 587)],
    'egress-proxy': [portOf(config.httpProxy, 3128)],
  };
  const rules: AllowRule[] = [
    {
      from: 'internet',
      to: 'edge',
      ports: [...new Set([80, publicPort])],
      protocol: 'tcp',
      why: 'https, and http that redirects',
    },
    {
      from: 'edge',
      to: 'router',
      ports: ports('router'),
      protocol: 'tcp',
      why: 'the edge forwards to the routers',
    },
    // With edge listeners, the edge reaches the pools itself, on their mutual-TLS ports (docs/edge.md).
    ...(config.edgeListeners ? EDGE.mayCall : []).map(
      (tier): AllowRule => ({
        from: 'edge',
        to: tier,
        ports: [...new Set(edgeListenersOf(deployment, tier).map((i) => i.port))],
        protocol: 'tcp',
        why: `the edge calls ${tier} (mutual TLS, the edge's certificate)`,
      }),
    ),
  ];
  // The bridge has its own host name at the edge (docs/bridge.md).
  if (deployed('bridge'))
    rules.push({
      from: 'edge',
      to: 'bridge',
      ports: ports('bridge'),
      protocol: 'tcp',
      why: "the edge forwards the bridge's host name to the bridges",
    });
  for (const [caller, callee] of CALLS) {
    if (!deployed(caller) || !deployed(callee)) continue;
    rules.push({
      from: caller,
      to: callee,
      ports: ports(callee),
      protocol: 'tcp',
      why: `${caller} calls ${callee} (signed)`,
    });
  }
  for (const tier of RUNNING_TIERS.filter(deployed)) {
    for (const resource of new Set(TIERS[tier].reaches.map((r) => RESOURCE_ENDPOINT[r]))) {
      rules.push({
        from: tier,
        to: resource,
        ports: resourcePorts[resource],
        protocol: 'tcp',
        why: `${tier} reaches ${resource}`,
      });
    }
  }
  rules.push({
    from: 'egress-proxy',
    to: 'internet',
    ports: [443],
    protocol: 'tcp',
    why: 'discovery and IdP calls, https only',
  });
  return rules;
}

/**
 * The matrix as an nftables ruleset for the hosts of a fleet: `hosts` names the addresses of each
 * endpoint (IP literals; the tiers' default to their instances' addresses). Inbound only, default drop,
 * one accept rule per matrix rule whose destination runs on these hosts.
 */
export function nftablesRuleset(
  config: Config,
  hosts: Partial<Record<Endpoint, readonly string[]>> = {},
  /** Where administrators come from (ssh); without it, keep your own ssh rule: the policy is drop. */
  sshFrom: readonly string[] = [],
): string {
  const deployment = deploymentOf(config);
  const addressesOf = (endpoint: Endpoint): readonly string[] => {
    const given = hosts[endpoint];
    if (given) return given;
    if (endpoint === 'internet') return [];
    if ((RUNNING_TIERS as readonly string[]).includes(endpoint))
      return [...new Set(instancesOf(deployment, endpoint as Tier).map((i) => new URL(i.url).hostname))];
    return [];
  };
  const setName = (endpoint: Endpoint) => `persona_${endpoint.replace('-', '_')}`;
  const sets = new Set<Endpoint>();
  const accepts: string[] = [];
  for (const rule of allowMatrix(config)) {
    if (rule.to === 'internet' || rule.to === 'database' || rule.to === 'smtp') continue; // not inbound here
    const ports = rule.ports.length === 1 ? String(rule.ports[0]) : `{ ${rule.ports.join(', ')} }`;
    const comment = `comment "${rule.why}"`;
    if (rule.from === 'internet') {
      accepts.push(`    tcp dport ${ports} accept ${comment}`);
      continue;
    }
    const from = addressesOf(rule.from);
    if (from.length === 0) throw new Error(`no addresses for ${rule.from}: give them to the ruleset`);
    for (const address of from)
      if (!/^[0-9.]+$/.test(address))
        throw new Error(`${rule.from}: nftables needs IPv4 addresses, not ${address}`);
    sets.add(rule.from);
    accepts.push(`    ip saddr @${setName(rule.from)} tcp dport ${ports} accept ${comment}`);
  }
  return [
    '# Generated by `persona ops nftables` from src/topology: the allow matrix as a host firewall.',
    'table inet persona {',
    ...[...sets].flatMap((endpoint) => [
      `  set ${setName(endpoint)} {`,
      '    type ipv4_addr',
      `    elements = { ${[...new Set(addressesOf(endpoint))].join(', ')} }`,
      '  }',
    ]),
    '  chain input {',
    '    type filter hook input priority filter; policy drop;',
    '    ct state established,related accept',
    '    ct state invalid drop',
    '    meta l4proto { icmp, ipv6-icmp } accept',
    ...accepts,
    ...(sshFrom.length > 0
      ? [`    ip saddr { ${sshFrom.join(', ')} } tcp dport 22 accept comment "administrators"`]
      : []),
    '  }',
    '}',
    '',
  ].join('\n');
}
