/**
 * Event-loop-lag load shedding (SPEC §6, issue 10 item 7): a short timer measures how late it fires; the
 * lag is smoothed, and while the smoothed lag is above the limit, each new request is shed with a
 * probability that grows from 0 at the limit to 1 at `fullShedFactor` times the limit (as the `toobusy`
 * module did). One late tick (a GC pause, a burst of crypto) sheds nothing: a sample counts for at most
 * one step past the level where everything is shed, times the smoothing weight (0.1 × 4 × limit), which
 * leaves the smoothed lag under the limit. Static
 * assets, the communication iframe and heartbeats/metrics are never shed (see `neverShed`).
 */

export interface LagMonitorOptions {
  /** Smoothed lag, ms, above which shedding starts; 0 disables shedding. */
  readonly limitMs: number;
  /** Sampling period, ms. */
  readonly intervalMs?: number;
  /** Weight of a new sample in the smoothed lag. */
  readonly smoothing?: number;
  /** Multiple of the limit at which every request is shed. */
  readonly fullShedFactor?: number;
  /** Time and timers, replaceable in tests. */
  readonly clock?: LagClock;
  /** A number in [0, 1); replaceable in tests. */
  readonly random?: () => number;
}

export interface LagClock {
  now(): number;
  /** Calls `tick` every `ms`; returns a function that stops it. */
  every(ms: number, tick: () => void): () => void;
}

export interface LagMonitor {
  /** Smoothed lag in ms. */
  readonly lag: () => number;
  /** Fraction of new requests shed now, 0–1. */
  readonly shedProbability: () => number;
  /** Whether this request is shed (drawn with `shedProbability`). */
  readonly shouldShed: () => boolean;
  readonly stop: () => void;
}

const realClock: LagClock = {
  now: () => performance.now(),
  every(ms, tick) {
    const timer = setInterval(tick, ms);
    timer.unref();
    return () => {
      clearInterval(timer);
    };
  },
};

export function monitorEventLoopLag(options: LagMonitorOptions): LagMonitor {
  const { limitMs } = options;
  const intervalMs = options.intervalMs ?? 200;
  const smoothing = options.smoothing ?? 0.1;
  const fullShedFactor = options.fullShedFactor ?? 3;
  const clock = options.clock ?? realClock;
  const random = options.random ?? Math.random;
  const ceilingMs = limitMs * fullShedFactor;
  const sampleCapMs = limitMs * (fullShedFactor + 1);

  let lag = 0;
  let expected = clock.now() + intervalMs;
  const stop =
    limitMs > 0
      ? clock.every(intervalMs, () => {
          const now = clock.now();
          const sample = Math.min(sampleCapMs, Math.max(0, now - expected));
          expected = now + intervalMs;
          lag += (sample - lag) * smoothing;
        })
      : () => undefined;

  const shedProbability = (): number =>
    limitMs > 0 ? Math.min(1, Math.max(0, (lag - limitMs) / (ceilingMs - limitMs))) : 0;
  return {
    lag: () => lag,
    shedProbability,
    shouldShed: () => {
      const p = shedProbability();
      return p > 0 && random() < p;
    },
    stop,
  };
}

// Pages and files a browser needs to load Persona at all, or to reach a site's callbacks: shedding them
// breaks `navigator.id` on every site (a 503 iframe loses logout), and they cost next to nothing to serve.
const STATIC_FILE = /\.(?:js|css|png|jpe?g|gif|svg|ico|webp|woff2?|ttf|map)$/i;
const NEVER_SHED_PATHS = new Set([
  '/.well-known/browserid',
  '/communication_iframe',
  '/metrics',
  '/__heartbeat__',
]);

/** Paths never shed: static assets, the support document, the communication iframe, heartbeats, metrics. */
export function neverShed(url: string): boolean {
  const path = url.split('?', 1)[0] ?? '';
  return NEVER_SHED_PATHS.has(path) || STATIC_FILE.test(path);
}
