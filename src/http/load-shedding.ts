/**
 * Event-loop-lag load shedding (SPEC §6): measure how late a short timer fires; while the lag is above the
 * limit, new requests get 503 instead of queueing behind work this process cannot keep up with.
 */
export interface LagMonitor {
  /** Smoothed lag in ms. */
  readonly lag: () => number;
  readonly tooBusy: () => boolean;
  readonly stop: () => void;
}

export function monitorEventLoopLag(maxLagMs: number, intervalMs = 50): LagMonitor {
  let lag = 0;
  let expected = performance.now() + intervalMs;
  const timer = setInterval(() => {
    const now = performance.now();
    const sample = Math.max(0, now - expected);
    expected = now + intervalMs;
    // Fast attack, slow decay: one long stall counts at once, recovery is gradual.
    lag = sample > lag ? sample : lag * 0.7 + sample * 0.3;
  }, intervalMs);
  timer.unref();
  return {
    lag: () => lag,
    tooBusy: () => maxLagMs > 0 && lag > maxLagMs,
    stop: () => {
      clearInterval(timer);
    },
  };
}
