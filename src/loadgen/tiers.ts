/**
 * Each tier's CPU and memory during the run, read from its Prometheus `/metrics` (prom-client's
 * process_cpu_seconds_total and process_resident_memory_bytes), beside the load generator's own.
 */
import { request } from 'undici';

export interface TierTarget {
  readonly name: string;
  /** The tier's origin; `/metrics` is read from it. */
  readonly url: string;
}

export interface TierSample {
  /** Seconds since the run started. */
  readonly t: number;
  /** CPU used since the previous sample, % of one core. */
  readonly cpu: number;
  readonly rssMb: number;
}

export interface TierSeries {
  readonly name: string;
  readonly samples: TierSample[];
}

export function metricValue(text: string, name: string): number | undefined {
  const match = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+)`, 'm').exec(text);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

async function read(url: string): Promise<{ cpu: number; rss: number } | undefined> {
  try {
    const res = await request(`${url}/metrics`, { headersTimeout: 2000, bodyTimeout: 2000 });
    const text = await res.body.text();
    if (res.statusCode !== 200) return undefined;
    const cpu = metricValue(text, 'process_cpu_seconds_total');
    const rss = metricValue(text, 'process_resident_memory_bytes');
    return cpu === undefined || rss === undefined ? undefined : { cpu, rss };
  } catch {
    return undefined;
  }
}

export interface TierSampler {
  readonly series: TierSeries[];
  stop(): Promise<void>;
}

/** Samples every tier (and this process as `loadgen`) each `intervalMs`, from `started` (performance clock). */
export function sampleTiers(targets: readonly TierTarget[], started: number, intervalMs = 1000): TierSampler {
  const series: TierSeries[] = [
    ...targets.map((t) => ({ name: t.name, samples: [] })),
    { name: 'loadgen', samples: [] },
  ];
  const last = new Map<string, { cpu: number; at: number }>();
  const self = series[series.length - 1] as TierSeries;
  let pending: Promise<unknown> = Promise.resolve();

  const tick = () => {
    const at = performance.now();
    const t = (at - started) / 1000;
    pending = Promise.all([
      ...targets.map(async (target, i) => {
        const value = await read(target.url);
        if (!value) return;
        const before = last.get(target.name);
        last.set(target.name, { cpu: value.cpu, at });
        if (before)
          series[i]?.samples.push({
            t,
            cpu: (100 * (value.cpu - before.cpu)) / ((at - before.at) / 1000),
            rssMb: value.rss / 2 ** 20,
          });
      }),
      Promise.resolve().then(() => {
        const usage = process.cpuUsage();
        const cpu = (usage.user + usage.system) / 1e6;
        const before = last.get('loadgen');
        last.set('loadgen', { cpu, at });
        if (before)
          self.samples.push({
            t,
            cpu: (100 * (cpu - before.cpu)) / ((at - before.at) / 1000),
            rssMb: process.memoryUsage.rss() / 2 ** 20,
          });
      }),
    ]);
  };
  tick();
  const timer = setInterval(tick, intervalMs);
  return {
    series,
    async stop() {
      clearInterval(timer);
      await pending;
    },
  };
}
