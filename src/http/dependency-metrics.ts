/**
 * Metrics of what a tier depends on (SPEC §6): database operations, bcrypt work and support-document
 * fetches. The composition root makes the dependencies before the tier's app (and its registry) exist,
 * so each hook is a no-op until `attach` gives it a registry.
 */
import { Gauge, Histogram, type Registry } from 'prom-client';

export interface DependencyMetrics {
  readonly database: (event: { operation: string; durationMs: number; outcome: string }) => void;
  readonly bcrypt: (kind: 'hash' | 'compare', ms: number) => void;
  readonly discovery: (fetch: { ok: boolean; outcome: string; elapsedMs: number }) => void;
  /** Reports the bcrypt queue (running and waiting jobs) whenever metrics are scraped. */
  watchBcrypt(load: () => { running: number; waiting: number }): void;
  /** Registers the metrics on the tier's registry. */
  attach(registry: Registry): void;
}

export function createDependencyMetrics(): DependencyMetrics {
  let db: Histogram<'operation' | 'outcome'> | undefined;
  let bcrypt: Histogram<'kind'> | undefined;
  let discovery: Histogram<'outcome'> | undefined;
  let bcryptLoad: (() => { running: number; waiting: number }) | undefined;
  return {
    watchBcrypt(load) {
      bcryptLoad = load;
    },
    database: (e) => db?.labels({ operation: e.operation, outcome: e.outcome }).observe(e.durationMs / 1000),
    bcrypt: (kind, ms) => bcrypt?.labels({ kind }).observe(ms / 1000),
    discovery: (f) => discovery?.labels({ outcome: f.outcome }).observe(f.elapsedMs / 1000),
    attach(registry) {
      db = new Histogram({
        name: 'persona_db_operation_seconds',
        help: 'Data-layer operations by name and outcome',
        labelNames: ['operation', 'outcome'],
        buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5],
        registers: [registry],
      });
      bcrypt = new Histogram({
        name: 'persona_bcrypt_seconds',
        help: 'bcrypt hash and compare times',
        labelNames: ['kind'],
        buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5],
        registers: [registry],
      });
      discovery = new Histogram({
        name: 'persona_discovery_fetch_seconds',
        help: 'Support-document fetches by outcome',
        labelNames: ['outcome'],
        buckets: [0.01, 0.05, 0.1, 0.5, 1, 2, 4, 8],
        registers: [registry],
      });
      if (bcryptLoad) {
        const load = bcryptLoad;
        new Gauge({
          name: 'persona_bcrypt_queue',
          help: 'bcrypt jobs running and waiting',
          labelNames: ['state'],
          registers: [registry],
          collect() {
            const now = load();
            this.set({ state: 'running' }, now.running);
            this.set({ state: 'waiting' }, now.waiting);
          },
        });
      }
    },
  };
}
