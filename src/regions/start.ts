/**
 * `persona start --regions N` (issue 15): each region's full set of tiers on the region's own loopback
 * address (src/topology/regions.ts), each region under its own supervisor so one can be stopped whole
 * and started again (the region drill). The regions share the data directory's domain key, tier keys
 * and cookie secret, as a deployment shares them through its secret store; everything else a region
 * needs (its database addresses) comes in its own environment.
 */
import type { Config } from '../config/settings.ts';
import { startSupervisor, type Supervisor } from '../supervisor/index.ts';
import { deploymentOf, localProcesses, processName, type Instance } from '../topology/index.ts';
import { regionalPublicUrl, regionDeployment, type Region } from '../topology/regions.ts';

export interface RegionStack {
  readonly region: Region;
  /** The region's own router (what DNS answers with, at the router's port). */
  readonly routerUrl: string;
  readonly processes: readonly Instance[];
  /** Undefined while the region is stopped. */
  supervisor: Supervisor | undefined;
}

export interface RegionsOptions {
  readonly config: Config;
  readonly regions: readonly Region[];
  /** Environment for every process (PERSONA_* settings); the region's host and public URL are added. */
  readonly env: NodeJS.ProcessEnv;
  /** Settings that differ per region (its database addresses). */
  readonly regionEnv?: (region: Region) => Record<string, string>;
  readonly serveCommand: readonly string[];
  readonly out?: (line: string) => void;
  readonly readyTimeoutMs?: number;
}

export interface Regions {
  readonly publicUrl: string;
  readonly stacks: readonly RegionStack[];
  /** Starts a region's tiers; resolves when its router's deep heartbeat is ok. */
  start(name: string): Promise<void>;
  /** Stops every process of a region's tiers. */
  stop(name: string): Promise<void>;
  stopAll(): Promise<void>;
  /** Kills every tier at once (a second Ctrl-C). */
  kill(): void;
}

export function regionEnvironment(options: RegionsOptions, region: Region): NodeJS.ProcessEnv {
  return {
    ...options.env,
    PERSONA_HOST: region.host,
    PERSONA_PUBLIC_URL: regionalPublicUrl(options.config.publicUrl, options.config.routerPort),
    ...(options.regionEnv?.(region) ?? {}),
  };
}

export function createRegions(options: RegionsOptions): Regions {
  const base = deploymentOf(options.config);
  const stacks: RegionStack[] = options.regions.map((region) => {
    const processes = localProcesses(regionDeployment(base, region));
    const router = processes.find((p) => p.tier === 'router');
    if (!router) throw new Error('the topology runs no router');
    return { region, routerUrl: router.url, processes, supervisor: undefined };
  });
  const stackOf = (name: string): RegionStack => {
    const stack = stacks.find((s) => s.region.name === name);
    if (!stack)
      throw new Error(`no region ${name} (regions: ${stacks.map((s) => s.region.name).join(', ')})`);
    return stack;
  };
  const out = options.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  return {
    publicUrl: regionalPublicUrl(options.config.publicUrl, options.config.routerPort),
    stacks,
    async start(name) {
      const stack = stackOf(name);
      if (stack.supervisor) return;
      const supervisor = startSupervisor({
        processes: stack.processes.map((p) => ({
          name: processName(p),
          args: [p.tier, '--instance', String(p.index)],
        })),
        routerUrl: stack.routerUrl,
        env: regionEnvironment(options, stack.region),
        serveCommand: options.serveCommand,
        out: (line) => {
          out(`${stack.region.name}/${line}`);
        },
        ...(options.readyTimeoutMs !== undefined ? { readyTimeoutMs: options.readyTimeoutMs } : {}),
      });
      stack.supervisor = supervisor;
      try {
        await supervisor.ready;
      } catch (err) {
        stack.supervisor = undefined;
        await supervisor.stop();
        throw new Error(`region ${name}: ${(err as Error).message}`, { cause: err });
      }
    },
    async stop(name) {
      const stack = stackOf(name);
      const supervisor = stack.supervisor;
      stack.supervisor = undefined;
      await supervisor?.stop();
    },
    async stopAll() {
      await Promise.all(stacks.map((s) => this.stop(s.region.name)));
    },
    kill() {
      for (const s of stacks) s.supervisor?.kill();
    },
  };
}
