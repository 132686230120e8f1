/**
 * `persona ops kpi <files>` (docs/monitoring.md "KPI and security events"): the KPI and security events of
 * the tiers' JSON log lines (as shipped by `persona ops rsyslog`), counted per hour. The catalogue below is
 * the typed list of events the tiers write with `event: …`; the shipping test runs real flows and checks
 * each one the flows cause arrives with its fields and a request id.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

export type EventKind = 'kpi' | 'security';

export interface EventType {
  readonly kind: EventKind;
  /** What it counts, in the summary's words. */
  readonly label: string;
  /** The field that says why (failures), counted separately. */
  readonly reason?: string;
  /** Fields every line of this event carries. */
  readonly fields: readonly string[];
}

/** The events the tiers log (their `event` field), by name. */
export const EVENTS = {
  user_staged: { kind: 'kpi', label: 'sign-ups started', fields: [] },
  account_created: { kind: 'kpi', label: 'new users', fields: [] },
  email_confirmed: { kind: 'kpi', label: 'addresses confirmed', fields: [] },
  reset_staged: { kind: 'kpi', label: 'password resets started', fields: [] },
  password_reset: { kind: 'kpi', label: 'password resets completed', fields: [] },
  signin: { kind: 'kpi', label: 'sign-ins', reason: 'method', fields: ['method', 'userid'] },
  cert_issued: { kind: 'kpi', label: 'certificates issued', fields: ['caller', 'ephemeral'] },
  verify: { kind: 'kpi', label: '/verify calls', reason: 'result', fields: ['result', 'rp'] },
  signin_failed: { kind: 'security', label: 'sign-in failures', reason: 'reason', fields: ['reason'] },
  signin_locked: { kind: 'security', label: 'sign-ins refused: account locked', fields: ['scope'] },
  signin_rate_limited: { kind: 'security', label: 'sign-ins refused: rate limit', fields: ['scope'] },
  rate_limited: {
    kind: 'security',
    label: 'staging refused: rate limit',
    reason: 'limit',
    fields: ['limit'],
  },
  address_info_rate_limited: { kind: 'security', label: 'address lookups refused: rate limit', fields: [] },
  verification_password_mismatch: { kind: 'security', label: 'verification: wrong password', fields: [] },
} as const satisfies Record<string, EventType>;

export type EventName = keyof typeof EVENTS;

export const isEventName = (name: unknown): name is EventName =>
  typeof name === 'string' && Object.hasOwn(EVENTS, name);

export interface HourSummary {
  /** The hour, ISO `YYYY-MM-DDTHH`, UTC. */
  readonly hour: string;
  /** Count by event name. */
  readonly events: Partial<Record<EventName, number>>;
  /** For events with a reason field: count by `event:reason`, e.g. `signin_failed:mismatch`. */
  readonly reasons: Record<string, number>;
}

export interface KpiSummary {
  readonly hours: HourSummary[];
  /** Lines read, lines that were not JSON, lines whose time was missing. */
  readonly lines: number;
  readonly unparsed: number;
  /** /verify calls by relying party (its origin, as the verifier logs it). */
  readonly relyingParties: Record<string, number>;
}

/** Counts the events of JSON log lines; lines that are not JSON (or not events) are counted, not fatal. */
export function summarise(lines: Iterable<string>): KpiSummary {
  const hours = new Map<
    string,
    { events: Partial<Record<EventName, number>>; reasons: Record<string, number> }
  >();
  const relyingParties: Record<string, number> = {};
  let count = 0;
  let unparsed = 0;
  for (const line of lines) {
    if (line.trim() === '') continue;
    count += 1;
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(line) as Record<string, unknown>;
    } catch {
      unparsed += 1;
      continue;
    }
    const event = entry.event;
    if (!isEventName(event) || typeof entry.time !== 'number') continue;
    const hour = new Date(entry.time).toISOString().slice(0, 13);
    let slot = hours.get(hour);
    if (!slot) {
      slot = { events: {}, reasons: {} };
      hours.set(hour, slot);
    }
    slot.events[event] = (slot.events[event] ?? 0) + 1;
    const type: EventType = EVENTS[event];
    if (type.reason !== undefined) {
      const why = entry[type.reason];
      const key = `${event}:${typeof why === 'string' || typeof why === 'number' ? String(why) : 'unknown'}`;
      slot.reasons[key] = (slot.reasons[key] ?? 0) + 1;
    }
    if (event === 'verify' && typeof entry.rp === 'string')
      relyingParties[entry.rp] = (relyingParties[entry.rp] ?? 0) + 1;
  }
  return {
    hours: [...hours.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([hour, s]) => ({ hour, ...s })),
    lines: count,
    unparsed,
    relyingParties,
  };
}

export async function* linesOf(path: string): AsyncGenerator<string> {
  yield* createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
}

/** The summary as a table per hour: the KPI counts, then the security events with their reasons. */
export function formatSummary(summary: KpiSummary): string {
  const out: string[] = [];
  for (const { hour, events, reasons } of summary.hours) {
    out.push(`${hour}:00Z`);
    for (const [name, type] of Object.entries(EVENTS) as [EventName, EventType][]) {
      const n = events[name];
      if (n === undefined) continue;
      const why = Object.entries(reasons)
        .filter(([key]) => key.startsWith(`${name}:`))
        .map(([key, c]) => `${key.slice(name.length + 1)} ${c}`)
        .join(', ');
      out.push(
        `  ${type.kind.padEnd(8)} ${type.label.padEnd(38)} ${String(n).padStart(6)}${why ? `  (${why})` : ''}`,
      );
    }
  }
  const rps = Object.entries(summary.relyingParties).sort((a, b) => b[1] - a[1]);
  if (rps.length > 0) {
    out.push('/verify by relying party:');
    for (const [rp, n] of rps.slice(0, 20)) out.push(`  ${String(n).padStart(6)}  ${rp}`);
  }
  out.push(`${summary.lines} lines read, ${summary.unparsed} not JSON`);
  return `${out.join('\n')}\n`;
}
