/** `persona drill database`: faults under write load on the Galera cluster (docs/database-ha.md). */
import { parseArgs } from 'node:util';

export const DRILL_HELP = `Usage: persona drill database [--short] [options]

Starts a 3-node MariaDB Galera cluster (run as root: the nodes run as mysql) with HAProxy in front, and
the stack's tiers on it, under a write-heavy load (sign-ups and password changes, each followed by a
sign-in from a fresh browser). Full: capacity on the cluster; at half of it, kill -9 the writer and
restart it, then each other node, then HAProxy; capacity on a single MariaDB (127.0.0.1:3306) and on
SQLite for the same length. --short: one writer kill and restart. Then every acknowledged account is
signed in to with its acknowledged password.

Prints acknowledged writes lost, failed requests %, seconds from each kill to writes succeeding again,
stale reads, capacities.

  --short              one writer kill and restart (what npm test runs)
  --workers N          concurrent people at full speed (default 8)
  --seconds S          length of each capacity run (default 30)
  --prove-detection    afterwards delete one acknowledged account and count again: it must be reported
  --mariadb URL        the single MariaDB to compare with (default mysql://root@127.0.0.1:3306)
  --json               the report as JSON

Exit status: 0 when no acknowledged write was lost and no read was stale, 1 otherwise.
`;

export async function drillCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      short: { type: 'boolean', default: false },
      workers: { type: 'string' },
      seconds: { type: 'string' },
      'prove-detection': { type: 'boolean', default: false },
      mariadb: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || positionals[0] !== 'database' || positionals.length > 1) {
    (values.help ? process.stdout : process.stderr).write(DRILL_HELP);
    return values.help ? 0 : 2;
  }
  const number = (v: string | undefined, name: string) => {
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v) || Number(v) < 1) throw new Error(`--${name} must be a positive whole number`);
    return Number(v);
  };
  const mariadb = values.mariadb === undefined ? undefined : new URL(values.mariadb);
  const { runDatabaseDrill, formatDrillReport } = await import('./database.ts');
  const workers = number(values.workers, 'workers');
  const capacitySeconds = number(values.seconds, 'seconds');
  const report = await runDatabaseDrill({
    mode: values.short ? 'short' : 'full',
    ...(workers !== undefined ? { workers } : {}),
    ...(capacitySeconds !== undefined ? { capacitySeconds } : {}),
    proveDetection: values['prove-detection'],
    ...(mariadb
      ? {
          mariadb: {
            host: mariadb.hostname,
            port: Number(mariadb.port || 3306),
            user: decodeURIComponent(mariadb.username),
            password: decodeURIComponent(mariadb.password),
          },
        }
      : {}),
    log: (line) => process.stderr.write(`drill: ${line}\n`),
  });
  process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatDrillReport(report));
  return report.verification.lost.length === 0 && report.tally.staleReads === 0 ? 0 : 1;
}
