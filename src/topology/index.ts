/**
 * The deployment's shape, declared once (SPEC §2): the tiers, what each holds and serves, who may call
 * whom, their ports and instances, and how the public router sends paths to them. The router, the trust
 * checks between tiers, the supervisor, the start banner and every generated configuration read this
 * module; nothing restates it. Pure data and functions of a configuration: no I/O.
 */
import type { Config } from '../config/settings.ts';

export const TIER_NAMES = [
  'router',
  'webhead',
  'dbwriter',
  'keysigner',
  'verifier',
  'bridge',
  'bridgesigner',
] as const;
export type Tier = (typeof TIER_NAMES)[number];

/** What a tier reaches besides other tiers: the generated network rules and security groups open these. */
export type Resource = 'database-read' | 'database-write' | 'smtp' | 'egress-proxy';

export interface TierDeclaration {
  /** One line for banners and generated configurations. */
  readonly role: string;
  /** Its first local instance listens on PERSONA_PORT_BASE + this. */
  readonly portOffset: number;
  /** Reached from outside (through the edge); every other tier answers only signed calls from tiers. */
  readonly public: boolean;
  /** The tiers it may call (SPEC §2 matrix); calls are refused by the callee otherwise. */
  readonly mayCall: readonly Tier[];
  readonly reaches: readonly Resource[];
  /** The secrets it is given; no other tier is. */
  readonly holds: readonly string[];
  /** False while the tier is declared but not built: nothing starts it and nothing routes to it. */
  readonly runs: boolean;
  /** Runs only where the deployment enables it (the bridge pair: where OIDC providers are configured). */
  readonly optional?: true;
}

export const TIERS: Readonly<Record<Tier, TierDeclaration>> = {
  router: {
    role: 'the public front door: forwards by path',
    portOffset: 2,
    public: true,
    mayCall: ['webhead', 'dbwriter', 'verifier', 'bridge'],
    reaches: [],
    holds: [],
    runs: true,
  },
  webhead: {
    role: 'pages, dialog, include.js, support document, read-only wsapi',
    portOffset: 7,
    public: false,
    mayCall: ['dbwriter', 'keysigner'],
    reaches: ['database-read', 'egress-proxy'],
    holds: ['cookie secret', 'database read credentials'],
    runs: true,
  },
  dbwriter: {
    role: 'every write: accounts, staging, mail',
    portOffset: 4,
    public: false,
    mayCall: [],
    reaches: ['database-write', 'smtp', 'egress-proxy'],
    holds: ['cookie secret', 'database write credentials', 'SMTP credentials'],
    runs: true,
  },
  keysigner: {
    role: 'signs certificates with the domain key, nothing else',
    portOffset: 3,
    public: false,
    mayCall: [],
    reaches: [],
    holds: ['domain private key'],
    runs: true,
  },
  verifier: {
    role: '/verify for sites',
    portOffset: 0,
    public: false,
    mayCall: [],
    reaches: ['egress-proxy'],
    holds: [],
    runs: true,
  },
  // Its own host name at the edge (docs/bridge.md): browsers reach its pages, verifiers its support document.
  bridge: {
    role: 'certifies addresses of big mail providers through their OpenID Connect login',
    portOffset: 6,
    public: true,
    mayCall: ['bridgesigner', 'dbwriter'],
    reaches: ['egress-proxy'],
    holds: ['OpenID Connect client secrets', 'bridge cookie secret'],
    runs: true,
    optional: true,
  },
  bridgesigner: {
    role: "signs the bridge's certificates with its issuer key, nothing else",
    portOffset: 8,
    public: false,
    mayCall: [],
    reaches: [],
    holds: ['bridge issuer key'],
    runs: true,
    optional: true,
  },
};

/** The tiers `persona start` runs, in the order it starts them. */
export const RUNNING_TIERS: readonly Tier[] = TIER_NAMES.filter((tier) => TIERS[tier].runs);

export const isTier = (name: string | undefined): name is Tier => TIER_NAMES.some((t) => t === name);

export const mayCall = (caller: Tier, callee: Tier): boolean => TIERS[caller].mayCall.includes(callee);

export const callersOf = (callee: Tier): Tier[] => TIER_NAMES.filter((caller) => mayCall(caller, callee));

/** Every allowed caller → callee pair. */
export const CALLS: readonly (readonly [Tier, Tier])[] = TIER_NAMES.flatMap((caller) =>
  TIERS[caller].mayCall.map((callee) => [caller, callee] as const),
);

/** The development examples `persona start` runs beside the tiers (docs/examples.md). */
export const EXAMPLES = {
  'example-site': { portOffset: 1 },
  'example-primary': { portOffset: 5 },
} as const;
export type ExampleName = keyof typeof EXAMPLES;
/** The development OpenID Connect provider `persona start` runs for the bridged demo domain (docs/bridge.md). */
export const DEVELOPMENT_OIDC_PORT_OFFSET = 9;

/** Extra local instances of a tier listen this far apart: instance i on the tier's port + i × stride. */
export const INSTANCE_PORT_STRIDE = 10;

/**
 * How the router sends a public path to a tier (reference/persona.md §1.2): first match wins. `by-op`
 * means the wsapi catalogue decides (writes → dbwriter, reads → webhead, internal ops → 404).
 */
export const PUBLIC_ROUTES: readonly {
  readonly path: string;
  readonly match: 'exact' | 'prefix';
  readonly to: Tier | 'by-op';
}[] = [
  { path: '/verify', match: 'exact', to: 'verifier' },
  { path: '/wsapi/', match: 'prefix', to: 'by-op' },
  { path: '/', match: 'prefix', to: 'webhead' },
];

/** The route for a path (without its query string). */
export function publicRouteOf(path: string): Tier | 'by-op' {
  for (const route of PUBLIC_ROUTES) {
    if (route.match === 'exact' ? path === route.path : path.startsWith(route.path)) return route.to;
  }
  return 'webhead';
}

// ---- a deployment: the topology applied to a configuration ------------------------------------------

/** The settings a deployment is made from (resolved by src/config/load.ts). */
export interface TopologySettings {
  readonly host: string;
  readonly publicUrl: string;
  readonly ports: Readonly<Record<Tier, number>>;
  /** Instances per tier for a local start (default 1). */
  readonly instances: Readonly<Partial<Record<Tier, number>>>;
  /** Explicit instance URLs per tier (a fleet); when given they replace the local ones. */
  readonly urls: Readonly<Partial<Record<Tier, readonly string[]>>>;
  /** The optional tiers this deployment runs. */
  readonly enabled?: Readonly<Partial<Record<Tier, boolean>>>;
}

export interface Instance {
  readonly tier: Tier;
  readonly index: number;
  /** The port it listens on when run locally. */
  readonly port: number;
  readonly url: string;
}

/** How a local address is reached from a browser: a wildcard listen address shown as loopback. */
const hostForUrl = (host: string): string => {
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return shown.includes(':') ? `[${shown}]` : shown;
};

export const localOrigin = (host: string, port: number): string => `http://${hostForUrl(host)}:${port}`;

export const instanceCount = (s: TopologySettings, tier: Tier): number =>
  TIERS[tier].runs && (TIERS[tier].optional !== true || s.enabled?.[tier] === true)
    ? Math.max(1, s.instances[tier] ?? 1)
    : 0;

/** The port of a tier's instance `index` on this host. */
export const instancePort = (s: TopologySettings, tier: Tier, index = 0): number =>
  s.ports[tier] === 0 ? 0 : s.ports[tier] + index * INSTANCE_PORT_STRIDE;

/** The instances of a tier the others call: the configured URLs, else the local ones. */
export function instancesOf(s: TopologySettings, tier: Tier): Instance[] {
  const urls = s.urls[tier] ?? [];
  if (urls.length > 0) {
    return urls.map((url, index) => ({ tier, index, port: Number(new URL(url).port) || 80, url }));
  }
  return Array.from({ length: instanceCount(s, tier) }, (_, index) => {
    const port = instancePort(s, tier, index);
    return { tier, index, port, url: localOrigin(s.host, port) };
  });
}

/** The local processes of a deployment, as `persona start` runs them: `serve <tier> --instance i`. */
export function localProcesses(s: TopologySettings): Instance[] {
  return RUNNING_TIERS.flatMap((tier) =>
    Array.from({ length: instanceCount(s, tier) }, (_, index) => {
      const port = instancePort(s, tier, index);
      return { tier, index, port, url: localOrigin(s.host, port) };
    }),
  );
}

/** A process's name in logs and banners: `verifier` or `verifier#2`. */
export const processName = (instance: Pick<Instance, 'tier' | 'index'>): string =>
  instance.index === 0 ? instance.tier : `${instance.tier}#${instance.index + 1}`;

/** The deployment a configuration describes. */
export function deploymentOf(config: Config): TopologySettings {
  return {
    host: config.host,
    publicUrl: config.publicUrl,
    ports: {
      router: config.routerPort,
      webhead: config.webheadPort,
      dbwriter: config.dbwriterPort,
      keysigner: config.keysignerPort,
      verifier: config.verifierPort,
      bridge: config.bridgePort,
      bridgesigner: config.bridgesignerPort,
    },
    instances: config.instances,
    urls: {
      webhead: config.webheadUrls,
      dbwriter: config.dbwriterUrls,
      keysigner: config.keysignerUrls,
      verifier: config.verifierUrls,
    },
    // The bridge pair runs where providers are configured (docs/bridge.md).
    enabled: {
      bridge: Object.keys(config.bridgeProviders).length > 0,
      bridgesigner: Object.keys(config.bridgeProviders).length > 0,
    },
  };
}

/** Where a development example is reached from a browser. */
export const exampleOrigin = (
  config: Pick<Config, 'host' | 'exampleSitePort' | 'examplePrimaryPort'>,
  name: ExampleName,
): string =>
  localOrigin(config.host, name === 'example-site' ? config.exampleSitePort : config.examplePrimaryPort);

/** The setting that moves a process's port, for messages about a port that is taken. */
export const portSettingOf = (owner: Tier | ExampleName): string =>
  `PERSONA_${owner.toUpperCase().replace('-', '_')}_PORT`;

// ---- the edge: nginx as a declared caller ------------------------------------------------------------

/**
 * The edge (nginx) is a caller too: it may call the tiers the public routes lead to (`by-op` leads to
 * the dbwriter for writes and the webhead for reads), and only for those routes. It cannot hold a pair
 * key, so it proves itself with a client certificate from the deployment's tier CA on a TLS listener each
 * of these tiers opens beside its own (SPEC §2; docs/edge.md).
 */
export const EDGE = {
  mayCall: [
    ...new Set(PUBLIC_ROUTES.flatMap((r): Tier[] => (r.to === 'by-op' ? ['dbwriter', 'webhead'] : [r.to]))),
  ].sort() as readonly Tier[],
  /** A tier instance's edge listener is at its own port + this. */
  listenerPortOffset: 1000,
} as const;

export type Caller = Tier | 'edge';

export const edgeMayCall = (callee: Tier): boolean => EDGE.mayCall.includes(callee);

/** The edge listeners of a tier's instances (https, client certificate required). */
export const edgeListenersOf = (s: TopologySettings, tier: Tier): Instance[] =>
  edgeMayCall(tier)
    ? instancesOf(s, tier).map((instance) => {
        const url = new URL(instance.url);
        const port = instance.port === 0 ? 0 : instance.port + EDGE.listenerPortOffset;
        return { ...instance, port, url: `https://${url.hostname}:${port}` };
      })
    : [];
