/**
 * What the status page shows, sampled from the tiers themselves: every instance's heartbeat (up or down)
 * and its /metrics, every few seconds, kept for the last minutes. Rates, latency percentiles and ratios
 * come from the difference between two samples of the tiers' cumulative counters and histogram buckets,
 * as Prometheus computes them, so the page needs nothing but the tiers. The page's own probes
 * (/__heartbeat__, /metrics) are left out of the figures.
 */
import type { Tier } from '../../topology/index.ts';

export interface Target {
  readonly name: string;
  readonly tier: Tier;
  readonly url: string;
}

/** One instance's cumulative counters at one moment (undefined when it did not answer). */
export interface Counters {
  readonly requests: number;
  readonly errors: number;
  readonly shed: number;
  /** Cumulative histogram buckets: upper bound (Infinity last) → count. */
  readonly buckets: ReadonlyMap<number, number>;
}

export interface Sample {
  readonly at: number;
  readonly up: ReadonlyMap<string, boolean>;
  readonly counters: ReadonlyMap<string, Counters | undefined>;
}

export interface Figures {
  readonly requestsPerSecond: number;
  readonly p50: number | null;
  readonly p95: number | null;
  readonly errorRatio: number | null;
  readonly shedPerSecond: number;
}

const HISTOGRAM = 'persona_http_request_duration_seconds';
const PROBES = new Set(['/__heartbeat__', '/metrics']);

function labelsOf(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const [, key = '', value = ''] of text.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
    labels[key] = value.replace(/\\(.)/g, '$1');
  return labels;
}

/** The counters of one /metrics text (Prometheus exposition format, as prom-client writes it). */
export function countersOf(text: string): Counters {
  let requests = 0;
  let errors = 0;
  let shed = 0;
  const buckets = new Map<number, number>();
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!m) continue;
    const [, name = '', rawLabels = '', rawValue] = m;
    const value = Number(rawValue);
    if (!Number.isFinite(value)) continue;
    if (name === 'persona_requests_shed_total') {
      shed += value;
      continue;
    }
    if (!name.startsWith(HISTOGRAM)) continue;
    const labels = labelsOf(rawLabels);
    if (PROBES.has(labels.route ?? '')) continue;
    if (name === `${HISTOGRAM}_count`) {
      requests += value;
      if ((labels.status ?? '').startsWith('5')) errors += value;
    } else if (name === `${HISTOGRAM}_bucket`) {
      const le = labels.le === '+Inf' ? Infinity : Number(labels.le);
      buckets.set(le, (buckets.get(le) ?? 0) + value);
    }
  }
  return { requests, errors, shed, buckets };
}

/** A counter's increase; a smaller value means the process restarted and counts from zero again. */
const increase = (now: number, before: number): number => (now >= before ? now - before : now);

/** Adds `b`'s increase over `a` into `into` (several instances summed). */
function addIncrease(
  into: { requests: number; errors: number; shed: number; buckets: Map<number, number> },
  now: Counters,
  before: Counters | undefined,
): void {
  const restarted = before !== undefined && now.requests < before.requests;
  const base = restarted ? undefined : before;
  into.requests += increase(now.requests, base?.requests ?? 0);
  into.errors += increase(now.errors, base?.errors ?? 0);
  into.shed += increase(now.shed, restarted ? 0 : (before?.shed ?? 0));
  for (const [le, count] of now.buckets)
    into.buckets.set(le, (into.buckets.get(le) ?? 0) + increase(count, base?.buckets.get(le) ?? 0));
}

/** The q-quantile of cumulative buckets, interpolated within its bucket (histogram_quantile's way). */
export function quantile(q: number, buckets: ReadonlyMap<number, number>): number | null {
  const sorted = [...buckets.entries()].sort((a, b) => a[0] - b[0]);
  const total = sorted.at(-1)?.[1] ?? 0;
  if (total === 0) return null;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const [le, count] of sorted) {
    if (count >= rank) {
      if (le === Infinity) return lowerBound;
      return lowerBound + ((le - lowerBound) * (rank - lowerCount)) / Math.max(1, count - lowerCount);
    }
    lowerBound = le;
    lowerCount = count;
  }
  return lowerBound;
}

/** The figures of the named instances between two samples. */
export function figuresBetween(before: Sample, now: Sample, names: readonly string[]): Figures {
  const sum = { requests: 0, errors: 0, shed: 0, buckets: new Map<number, number>() };
  for (const name of names) {
    const current = now.counters.get(name);
    if (current) addIncrease(sum, current, before.counters.get(name));
  }
  const seconds = Math.max(0.001, (now.at - before.at) / 1000);
  return {
    requestsPerSecond: sum.requests / seconds,
    p50: quantile(0.5, sum.buckets),
    p95: quantile(0.95, sum.buckets),
    errorRatio: sum.requests > 0 ? sum.errors / sum.requests : null,
    shedPerSecond: sum.shed / seconds,
  };
}

export interface SamplerOptions {
  readonly targets: readonly Target[];
  readonly everyMs?: number;
  /** How much history is kept (default 15 minutes). */
  readonly keepMs?: number;
  readonly timeoutMs?: number;
}

export interface Sampler {
  readonly targets: readonly Target[];
  samples(): readonly Sample[];
  /** Takes one sample now (the timer calls it; tests too). */
  sampleNow(): Promise<void>;
  stop(): void;
}

async function get(url: string, timeoutMs: number): Promise<{ status: number; text: string } | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    return { status: res.status, text: await res.text() };
  } catch {
    return undefined;
  }
}

export function startSampler(options: SamplerOptions): Sampler {
  const everyMs = options.everyMs ?? 5000;
  const keepMs = options.keepMs ?? 15 * 60_000;
  const timeoutMs = options.timeoutMs ?? Math.min(4000, everyMs);
  const history: Sample[] = [];
  let running: Promise<void> | undefined;

  const take = async (): Promise<void> => {
    const at = Date.now();
    const results = await Promise.all(
      options.targets.map(async (t) => {
        const [heartbeat, metrics] = await Promise.all([
          get(`${t.url}/__heartbeat__`, timeoutMs),
          get(`${t.url}/metrics`, timeoutMs),
        ]);
        return [
          t.name,
          heartbeat?.status === 200,
          metrics?.status === 200 ? countersOf(metrics.text) : undefined,
        ] as const;
      }),
    );
    history.push({
      at,
      up: new Map(results.map(([name, up]) => [name, up])),
      counters: new Map(results.map(([name, , counters]) => [name, counters])),
    });
    while (history.length > 2 && (history[0]?.at ?? at) < at - keepMs) history.shift();
  };
  const sampleNow = (): Promise<void> => {
    // One sample at a time: a slow round is not overtaken by the next tick.
    running ??= take().finally(() => {
      running = undefined;
    });
    return running;
  };
  const timer = setInterval(() => void sampleNow(), everyMs);
  timer.unref();
  void sampleNow();
  return {
    targets: options.targets,
    samples: () => history,
    sampleNow,
    stop: () => {
      clearInterval(timer);
    },
  };
}
