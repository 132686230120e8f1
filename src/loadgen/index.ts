/**
 * `persona loadgen`: Persona's active users against a deployment (SPEC §7), the capacity figure beside the
 * machine's bcrypt-bound limit, and JSON and HTML results. No tier imports this folder (.dependency-cruiser.cjs).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { join } from 'node:path';
import { findCapacity, holds } from './capacity.ts';
import { startMailSink, type MailSink } from './mail.ts';
import { bcryptPerUserSecond, ACTIVITIES_PER_USER_SECOND } from './model.ts';
import { renderReport } from './report.ts';
import { buildResult, cpuBetween, type LoadgenResult, type StepResult } from './result.ts';
import { createLoad, measureBcrypt, recentLatency, type Mix } from './run.ts';
import { totalsOf } from './stats.ts';
import { sampleTiers, type TierTarget } from './tiers.ts';

export interface LoadgenOptions {
  /** The deployment's public URL. */
  readonly base: string;
  /** Active users to hold (or the capacity search's first step). */
  readonly users?: number;
  readonly durationS: number;
  readonly findCapacity?: boolean;
  /** Simulated accounts made before the run; activities draw idle ones from them. */
  readonly pool: number;
  readonly boundMs?: number;
  readonly maxFailureRate?: number;
  /** Seconds per capacity step, and the first seconds of each left out of its figures. */
  readonly stepS?: number;
  readonly settleS?: number;
  readonly bcryptCost: number;
  /** The deployment's bcrypt compares/s when it is not this machine (skips measuring it here). */
  readonly bcryptRate?: number;
  readonly mail?: MailSink;
  readonly smtp?: { readonly host: string; readonly port: number };
  readonly mailDomain?: string;
  readonly addresses?: number;
  /** Resolve the deployment's name through this DNS server ("host:port"), not the system's resolver. */
  readonly dnsServer?: string;
  readonly tiers: readonly TierTarget[];
  readonly outDir?: string;
  readonly cleanup?: boolean;
  readonly mix?: Mix;
  /** A live progress line (on a terminal) or one line every few seconds. */
  readonly progress?: (line: string, final: boolean) => void;
  readonly log?: (line: string) => void;
}

export interface LoadgenOutcome {
  readonly result: LoadgenResult;
  readonly jsonPath?: string;
  readonly reportPath?: string;
}

const round = (n: number) => Math.round(n);

export async function runLoadgen(options: LoadgenOptions): Promise<LoadgenOutcome> {
  const log = options.log ?? (() => undefined);
  const startedAt = new Date().toISOString();
  const mail = options.mail ?? (await startMailSink(options.smtp));
  const boundMs = options.boundMs ?? 1000;
  const maxFailureRate = options.maxFailureRate ?? 0.001;
  try {
    log(`mail sink: ${mail.url} (the deployment's PERSONA_SMTP_URL must point here)`);
    // Measured before the load and again after it: the machine may be shared, and the figure is a ratio.
    const bcryptBefore = options.bcryptRate ?? (await measureBcrypt(options.bcryptCost));
    let comparesPerSecond = bcryptBefore;
    const limitUsers = comparesPerSecond / bcryptPerUserSecond();
    log(
      `bcrypt-bound limit: ${comparesPerSecond.toFixed(1)} compares/s at cost ${options.bcryptCost}` +
        ` → ${round(limitUsers).toLocaleString('en')} active users (${(limitUsers * ACTIVITIES_PER_USER_SECOND).toFixed(0)} activities/s)`,
    );
    const load = createLoad({
      base: options.base,
      mail,
      ...(options.mailDomain ? { mailDomain: options.mailDomain } : {}),
      ...(options.addresses ? { addresses: options.addresses } : {}),
      ...(options.dnsServer
        ? {
            lookup: (await import('../regions/resolve.ts')).lookupVia(options.dnsServer),
            loopbackClients: true,
          }
        : {}),
    });
    let cleanup: LoadgenResult['cleanup'];
    try {
      const seedStart = performance.now();
      await load.seed(options.pool);
      log(
        `seeded ${options.pool} users through the wsapi in ${((performance.now() - seedStart) / 1000).toFixed(1)} s`,
      );
      load.recorder.restart();
      const sampler = sampleTiers(options.tiers, performance.now());
      const usersAt: number[] = [];
      const steps: StepResult[] = [];
      const settle = options.settleS ?? 0;

      const step = async (users: number, seconds: number): Promise<StepResult> => {
        const from = load.recorder.elapsed();
        await load.hold(
          users,
          seconds,
          (outstanding) => {
            const t = load.recorder.elapsed();
            usersAt[Math.floor(t)] = users;
            const last = load.recorder.seconds.at(-2);
            const recent = recentLatency(load.recorder);
            const errors = [...load.recorder.errors.values()].reduce((a, b) => a + b, 0);
            const done = last ? Object.values(last.completed).reduce((a, b) => a + b, 0) : 0;
            options.progress?.(
              `${t.toFixed(0).padStart(4)} s  ${users.toLocaleString('en')} users  ${done} activities/s  ` +
                `p50 ${recent.p50.toFixed(0)} ms  p95 ${recent.p95.toFixed(0)} ms  ${errors} errors  ` +
                `${load.recorder.seconds.reduce((a, s) => a + s.http503, 0)} 503s  ${outstanding} running`,
              false,
            );
          },
          options.mix,
        );
        const to = load.recorder.elapsed();
        for (let t = Math.floor(from); t < Math.ceil(to); t++) usersAt[t] ??= users;
        const a = Math.ceil(from + settle);
        // Through the drain: the activities still running at the end count, with their latency.
        const b = Math.max(a + 1, Math.ceil(to));
        const totals = totalsOf(load.recorder.seconds, a, b);
        await new Promise((resolve) => setTimeout(resolve, 1100)); // the CPU sample covering the step's end
        const result: StepResult = {
          users,
          from: a,
          to: b,
          activitiesPerSecond: totals.activitiesPerSecond,
          p95Ms: totals.latency.p95,
          failureRate: totals.failureRate,
          unstartedRate: totals.unstartedRate,
          http503: totals.http503,
          held: holds(
            {
              users,
              p95Ms: totals.latency.p95,
              failureRate: totals.failureRate,
              unstartedRate: totals.unstartedRate,
            },
            boundMs,
            maxFailureRate,
          ),
          loadgenCpu: cpuBetween(sampler.series, 'loadgen', a, b),
        };
        steps.push(result);
        return result;
      };

      let capacityUsers: number | undefined;
      if (options.findCapacity) {
        const stepS = options.stepS ?? 20;
        const capacity = await findCapacity(
          async (users) => {
            // A few idle seconds first: an overloaded step's queues (bcrypt, shedding's smoothed lag) drain.
            if (steps.length > 0) await new Promise((resolve) => setTimeout(resolve, 5000));
            const s = await step(users, stepS);
            log(
              `step ${users.toLocaleString('en')} users: ${s.activitiesPerSecond.toFixed(1)} activities/s, p95 ${s.p95Ms.toFixed(0)} ms, failures ${(100 * s.failureRate).toFixed(2)} %` +
                `${s.unstartedRate > 0 ? `, ${(100 * s.unstartedRate).toFixed(2)} % not started (every account busy: raise --pool)` : ''} → ${s.held ? 'held' : 'did not hold'}`,
            );
            return { users, p95Ms: s.p95Ms, failureRate: s.failureRate, unstartedRate: s.unstartedRate };
          },
          { start: options.users ?? Math.max(1000, limitUsers / 4), boundMs, maxFailureRate },
        );
        capacityUsers = capacity.users;
      } else {
        await step(options.users ?? 10_000, options.durationS);
      }
      await sampler.stop();
      if (options.bcryptRate === undefined) {
        const after = await measureBcrypt(options.bcryptCost);
        comparesPerSecond = (bcryptBefore + after) / 2;
        log(
          `bcrypt after the load: ${after.toFixed(1)} compares/s (before: ${bcryptBefore.toFixed(1)}); the limit uses their mean`,
        );
      }
      if (options.cleanup !== false) {
        const made = load.pool.length;
        const failed = await load.cleanup();
        cleanup = { cancelled: made - failed, failed };
        log(`cleanup: cancelled ${made - failed} accounts${failed ? `, ${failed} could not be` : ''}`);
      }
      const result: LoadgenResult = {
        ...buildResult({
          deployment: options.base,
          machine: `${cpus()[0]?.model ?? 'cpu'} × ${availableParallelism()}, Node ${process.version}`,
          mode: options.findCapacity ? 'capacity' : 'hold',
          options: {
            users: options.users ?? 0,
            durationS: options.durationS,
            boundMs,
            maxFailureRate,
            pool: options.pool,
          },
          bcrypt: { cost: options.bcryptCost, comparesPerSecond, before: bcryptBefore },
          recorder: load.recorder,
          usersAt,
          steps,
          ...(capacityUsers !== undefined ? { capacityUsers } : {}),
          tiers: sampler.series,
          seeded: options.pool,
          startedAt,
        }),
        ...(cleanup ? { cleanup } : {}),
      };
      if (!options.outDir) return { result };
      mkdirSync(options.outDir, { recursive: true });
      const jsonPath = join(options.outDir, 'loadgen.json');
      const reportPath = join(options.outDir, 'loadgen.html');
      writeFileSync(jsonPath, `${JSON.stringify(result, null, 1)}\n`);
      writeFileSync(reportPath, renderReport(result));
      return { result, jsonPath, reportPath };
    } finally {
      await load.close();
    }
  } finally {
    if (!options.mail) await mail.close();
  }
}
