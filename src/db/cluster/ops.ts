/** `persona ops galera|haproxy`: the cluster's files from the topology and settings (docs/database-ha.md). */
import { join } from 'node:path';
import type { Config } from '../../config/settings.ts';
import { haproxyConfig, nodeConfig } from './config.ts';
import { localSpec, proxyOptions, DEFAULT_CLUSTER_NAME } from './index.ts';

export interface ClusterOpsOptions {
  /** Parent of the node directories (node i in DIR/n<i>). */
  readonly dir: string;
  /** HAProxy's pid file and admin socket. */
  readonly stateDir: string;
  /** Only this node's my.cnf. */
  readonly node?: string;
  /** Where HAProxy listens (default 127.0.0.1). */
  readonly listen?: string;
}

export function clusterOpsText(
  what: 'galera' | 'haproxy',
  config: Pick<Config, 'dbClusterHosts' | 'dbClusterPortBase'>,
  options: ClusterOpsOptions,
): string {
  const layout = {
    hosts: config.dbClusterHosts,
    portBase: config.dbClusterPortBase,
    proxyHost: options.listen ?? '127.0.0.1',
  };
  const spec = localSpec(options.dir, layout, DEFAULT_CLUSTER_NAME);
  if (what === 'haproxy')
    return haproxyConfig({ ...proxyOptions(options.dir, layout, spec), stateDir: options.stateDir });
  const nodes = spec.nodes.filter((n) => options.node === undefined || n.name === options.node);
  if (nodes.length === 0)
    throw new Error(`no node ${options.node ?? ''} (nodes: ${spec.nodes.map((n) => n.name).join(', ')})`);
  return nodes
    .map((n) => (nodes.length > 1 ? `# ---- ${join(n.dataDir, 'my.cnf')}\n` : '') + nodeConfig(spec, n))
    .join('\n');
}
