/**
 * The capacity search: ramp the active users until p95 latency passes the bound or failures pass their
 * share, then narrow between the last step that held and the first that did not. Pure: the steps are run
 * by the caller.
 */

export interface StepOutcome {
  readonly users: number;
  readonly p95Ms: number;
  readonly failureRate: number;
  /** Share of the offered load the loadgen itself could not start: a step that did not offer its load holds nothing. */
  readonly unstartedRate?: number;
}

export interface Step extends StepOutcome {
  readonly held: boolean;
}

export interface CapacityOptions {
  /** Active users of the first step. */
  readonly start: number;
  /** Each step's users over the previous one's while they hold (default 1.5). */
  readonly factor?: number;
  /** p95 latency bound, ms (default 1000). */
  readonly boundMs?: number;
  /** Largest share of failed activities (default 0.001). */
  readonly maxFailureRate?: number;
  /** Halvings between the last step that held and the first that did not (default 2). */
  readonly refine?: number;
  /** At most this many steps in all (default 14). */
  readonly maxSteps?: number;
}

/** Why a step did not hold, one phrase per bound it passed; empty when it held. */
export function shortfalls(o: StepOutcome, boundMs: number, maxFailureRate: number): string[] {
  const percent = (share: number) => `${(100 * share).toFixed(2)} %`;
  const out: string[] = [];
  if (o.p95Ms > boundMs) out.push(`p95 ${o.p95Ms.toFixed(0)} ms > ${boundMs} ms`);
  if (o.failureRate > maxFailureRate)
    out.push(`failures ${percent(o.failureRate)} > ${percent(maxFailureRate)}`);
  if ((o.unstartedRate ?? 0) > maxFailureRate)
    out.push(`not started ${percent(o.unstartedRate ?? 0)} > ${percent(maxFailureRate)}: raise --pool`);
  return out;
}

export const holds = (o: StepOutcome, boundMs: number, maxFailureRate: number): boolean =>
  shortfalls(o, boundMs, maxFailureRate).length === 0;

export interface Capacity {
  /** The most active users a step held (0 if the first did not). */
  readonly users: number;
  readonly steps: Step[];
}

export async function findCapacity(
  runStep: (users: number) => Promise<StepOutcome>,
  options: CapacityOptions,
): Promise<Capacity> {
  const factor = options.factor ?? 1.5;
  const boundMs = options.boundMs ?? 1000;
  const maxFailureRate = options.maxFailureRate ?? 0.001;
  const maxSteps = options.maxSteps ?? 14;
  const steps: Step[] = [];
  const run = async (users: number): Promise<boolean> => {
    const outcome = await runStep(Math.round(users));
    const held = holds(outcome, boundMs, maxFailureRate);
    steps.push({ ...outcome, held });
    return held;
  };
  let low = 0;
  let high: number | undefined;
  let users = options.start;
  while (steps.length < maxSteps) {
    if (!(await run(users))) {
      high = users;
      break;
    }
    low = users;
    users *= factor;
  }
  // Too much from the start: step down until a load holds.
  while (low === 0 && high !== undefined && steps.length < maxSteps) {
    users = high / factor;
    if (await run(users)) low = users;
    else high = users;
  }
  for (let i = 0; i < (options.refine ?? 2) && high !== undefined && steps.length < maxSteps; i++) {
    if (low === 0) break;
    const mid = (low + high) / 2;
    if (await run(mid)) low = mid;
    else high = mid;
  }
  return { users: Math.round(low), steps };
}
