/**
 * Regions (SPEC §2, §5): a deployment in two (or more) places, each with its own full set of tiers, run
 * on one machine as it would run on several. A region owns a loopback /24 (region `a` is 127.0.1.0/24,
 * `b` 127.0.2.0/24): its tiers listen on the region's first address with the ports of the topology
 * (src/topology/index.ts), its two Galera nodes on the next ones, its HAProxy beside its tiers. The
 * Galera arbitrator sits in a third place that is no region, and the DNS server that picks the regions
 * in its own. Every address and port below is derived here; nothing else restates them. Pure data.
 */
import type { TopologySettings } from './index.ts';

export const REGION_NAMES = ['a', 'b', 'c', 'd'] as const;
export type RegionName = (typeof REGION_NAMES)[number];

/** Galera nodes per region (SPEC §5: two per region and an arbitrator elsewhere). */
export const DATABASE_NODES_PER_REGION = 2;

/**
 * Ports of the database and DNS parts, as offsets from PERSONA_PORT_BASE like the tiers' (each place has
 * its own address, so a port is unique per address; the offsets stay clear of tier instances, which use
 * offsets below 160).
 */
export const REGION_PORT_OFFSETS = {
  /** MariaDB's client port on each Galera node. */
  mysql: 900,
  /** Galera group communication (gcomm), also garbd's. */
  galera: 901,
  /** Incremental state transfer. */
  ist: 902,
  /** Full state transfer (rsync). */
  sst: 903,
  /** HAProxy: the deployment's one writer. */
  writer: 910,
  /** HAProxy: this region's reads. */
  reader: 911,
  /** The clustercheck endpoint of a node (HTTP, beside the node). */
  clustercheck: 920,
  /** The authoritative DNS server (UDP and TCP). */
  dns: 953,
} as const;

export interface Region {
  readonly name: RegionName;
  readonly index: number;
  /** Its loopback /24 as the first three octets, e.g. `127.0.1`. */
  readonly net: string;
  readonly cidr: string;
  /** Where its tiers and its HAProxy listen. */
  readonly host: string;
  /** Its Galera nodes' addresses. */
  readonly databaseHosts: readonly string[];
}

export interface DatabaseNodePlace {
  /** `a1`, `a2`, `b1`, … */
  readonly name: string;
  readonly region: RegionName;
  readonly host: string;
}

/** The region at `index` (0 → `a` on 127.0.1.0/24). */
export function regionAt(index: number): Region {
  const name = REGION_NAMES[index];
  if (name === undefined) throw new Error(`at most ${REGION_NAMES.length} regions`);
  const net = `127.0.${index + 1}`;
  return {
    name,
    index,
    net,
    cidr: `${net}.0/24`,
    host: `${net}.1`,
    databaseHosts: Array.from({ length: DATABASE_NODES_PER_REGION }, (_, i) => `${net}.${11 + i}`),
  };
}

export function regionsOf(count: number): Region[] {
  if (!Number.isInteger(count) || count < 1 || count > REGION_NAMES.length)
    throw new Error(`regions: 1 to ${REGION_NAMES.length}`);
  return Array.from({ length: count }, (_, i) => regionAt(i));
}

export const isRegionName = (name: string | undefined): name is RegionName =>
  REGION_NAMES.some((r) => r === name);

/** The third place, outside every region, where the Galera arbitrator (garbd) runs. */
export const WITNESS_HOST = '127.0.9.1';
/** Where the authoritative DNS server answers (its own place: in production, the DNS provider). */
export const DNS_HOST = '127.0.53.1';

/** The Galera nodes of the regions, in the order the writer prefers them (region a first). */
export const databaseNodesOf = (regions: readonly Region[]): DatabaseNodePlace[] =>
  regions.flatMap((r) =>
    r.databaseHosts.map((host, i) => ({ name: `${r.name}${i + 1}`, region: r.name, host })),
  );

/** A port of the region layout for a port base. */
export const regionPort = (portBase: number, what: keyof typeof REGION_PORT_OFFSETS): number =>
  portBase + REGION_PORT_OFFSETS[what];

/** The service's name in DNS: the public URL's host name, or `login.persona.test` when that is an address. */
export function serviceNameOf(publicUrl: string): string {
  const host = publicUrl === '' ? '' : new URL(publicUrl).hostname;
  return host === '' || /^[\d.]+$/.test(host) || host.includes(':') || host === 'localhost'
    ? 'login.persona.test'
    : host;
}

/** The public URL every region serves: the service's name at the router's port. */
export const regionalPublicUrl = (publicUrl: string, routerPort: number): string => {
  const given = publicUrl === '' ? undefined : new URL(publicUrl);
  const scheme = given?.protocol ?? 'http:';
  const name = serviceNameOf(publicUrl);
  const port = given && given.hostname === name ? given.port : String(routerPort);
  return `${scheme}//${name}${port === '' ? '' : `:${port}`}`;
};

/** A region's deployment: the same tiers and ports as `s`, on the region's address, called locally. */
export const regionDeployment = (s: TopologySettings, region: Region): TopologySettings => ({
  ...s,
  host: region.host,
  urls: {},
});
