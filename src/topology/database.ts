/**
 * The database cluster's shape (SPEC §5): Galera nodes, each with a client port, a group (gcomm) port, an
 * IST port, an rsync SST port and a clustercheck port, all derived from one port base; HAProxy's writer
 * and reader listeners in front. `persona db cluster`, `persona ops galera` and `persona ops haproxy` read
 * this; nothing restates the ports. Pure data: no I/O.
 */

/** How far from the port base each port of node i (1-based) is: base + offset + i. */
export const GALERA_PORT_OFFSETS = {
  client: 0,
  galera: 1260,
  ist: 1270,
  sst: 1280,
  check: 5890,
} as const;

/** HAProxy's listeners: base + offset (the writer on the base itself, so 3310 → the writer). */
export const HAPROXY_PORT_OFFSETS = { writer: 0, reader: 10 } as const;

export interface NodePorts {
  /** MySQL protocol. */
  readonly client: number;
  /** Galera group communication (gmcast.listen_addr). */
  readonly galera: number;
  /** Incremental state transfer receiver. */
  readonly ist: number;
  /** rsync state snapshot transfer receiver. */
  readonly sst: number;
  /** The clustercheck HTTP endpoint HAProxy asks. */
  readonly check: number;
}

export interface ClusterLayout {
  /** Node addresses in order (node i is `n<i>`); the first is bootstrapped and is the first writer. */
  readonly hosts: readonly string[];
  readonly portBase: number;
  /** Where HAProxy listens. */
  readonly proxyHost: string;
}

export interface NodePlace {
  readonly name: string;
  readonly host: string;
  readonly ports: NodePorts;
}

export const DEFAULT_CLUSTER_HOSTS = ['127.0.0.1', '127.0.0.1', '127.0.0.1'] as const;

export function nodePorts(portBase: number, index: number): NodePorts {
  const at = (offset: number) => portBase + offset + index;
  return {
    client: at(GALERA_PORT_OFFSETS.client),
    galera: at(GALERA_PORT_OFFSETS.galera),
    ist: at(GALERA_PORT_OFFSETS.ist),
    sst: at(GALERA_PORT_OFFSETS.sst),
    check: at(GALERA_PORT_OFFSETS.check),
  };
}

/** The nodes of a layout: n1…nN with their ports. */
export function clusterNodes(layout: ClusterLayout): NodePlace[] {
  return layout.hosts.map((host, i) => ({
    name: `n${i + 1}`,
    host,
    ports: nodePorts(layout.portBase, i + 1),
  }));
}

export function proxyPorts(layout: Pick<ClusterLayout, 'portBase'>): { writer: number; reader: number } {
  return {
    writer: layout.portBase + HAPROXY_PORT_OFFSETS.writer,
    reader: layout.portBase + HAPROXY_PORT_OFFSETS.reader,
  };
}
