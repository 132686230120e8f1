/**
 * `npm run fuzz`: the fuzzer of issue 10 over the whole local stack (test/helpers/fuzz.ts), loopback only.
 * FUZZ_REQUESTS (default 100000), FUZZ_CONCURRENCY (64), FUZZ_TIME_LIMIT_MS (900000), FUZZ_SEED, and
 * FUZZ_VERBOSE=1 for an example request beside each frequent 4xx answer, FUZZ_TRACE=<route> (e.g.
 * /wsapi/cert_key) to print every request to a route and its answer. Load shedding is on at its
 * production default (FUZZ_SHEDDING=0 turns it off, as in the other end-to-end tests).
 * Exits 1 on an unexpected 5xx, a tier that died, or a run the time limit cut short.
 */
import { formatFuzzReport, fuzzPassed, runFuzz } from '../test/helpers/fuzz.ts';

const number = (name: string, fallback: number): number => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`);
  return value;
};

// Ctrl-C ends the run early but still stops the stack and prints what was found.
const interrupted = new AbortController();
process.once('SIGINT', () => {
  interrupted.abort();
});

const report = await runFuzz({
  signal: interrupted.signal,
  shedding: process.env.FUZZ_SHEDDING !== '0',
  ...(process.env.FUZZ_TRACE !== undefined ? { trace: process.env.FUZZ_TRACE } : {}),
  requests: number('FUZZ_REQUESTS', 100_000),
  concurrency: number('FUZZ_CONCURRENCY', 64),
  timeLimitMs: number('FUZZ_TIME_LIMIT_MS', 15 * 60_000),
  ...(process.env.FUZZ_SEED !== undefined ? { seed: number('FUZZ_SEED', 1) } : {}),
  progress: (line) => {
    console.log(line);
  },
});
console.log(formatFuzzReport(report, process.env.FUZZ_VERBOSE === '1'));
process.exit(fuzzPassed(report) ? 0 : 1);
