/** Prometheus metrics of one tier (SPEC §6): each app gets its own registry, exposed at /metrics. */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface TierMetrics {
  readonly registry: Registry;
  readonly requests: Histogram<'route' | 'method' | 'status'>;
  readonly eventLoopLag: Gauge;
  readonly shed: Counter;
}

export function createMetrics(tier: string): TierMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ tier });
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 });
  return {
    registry,
    requests: new Histogram({
      name: 'persona_http_request_duration_seconds',
      help: 'HTTP requests by route and status',
      labelNames: ['route', 'method', 'status'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    eventLoopLag: new Gauge({
      name: 'persona_event_loop_lag_seconds',
      help: 'Recent event-loop lag',
      registers: [registry],
    }),
    shed: new Counter({
      name: 'persona_requests_shed_total',
      help: 'Requests answered 503 because the process was too busy',
      registers: [registry],
    }),
  };
}
