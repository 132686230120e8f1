/**
 * `persona ops alertmanager|grafana|rsyslog|kpi` (docs/monitoring.md): the monitoring side's generated
 * files and the KPI summary of shipped logs. Its own options, so `persona ops` only dispatches here.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load.ts';

export const MONITORING_COMMANDS = ['alertmanager', 'grafana', 'rsyslog', 'kpi'] as const;

export const MONITORING_HELP = `
Monitoring (docs/monitoring.md):
  alertmanager  Alertmanager routes and receivers for the Prometheus alerts
                --webhook URL,...  --email-to ADDR --email-from ADDR --smarthost HOST:PORT
                --group-wait 30s --group-interval 5m --repeat-interval 4h
  grafana   dashboards: an overview and one per tier (--out-dir DIR writes persona-<name>.json;
            without it the overview goes to --out or stdout)
  rsyslog   log shipping: --role tier (each tier host: its JSON log files to the collector) or
            --role collector; --collector HOST:PORT  --log-dir DIR (the tiers' JSON logs)
            --spool-dir DIR (rsyslog's work directory)  --archive-dir DIR (the collector's files)
  kpi FILE...  KPI events of JSON log lines (sign-ins, new users, failures by reason) per hour
            (--json for machine-readable output)
`;

const list = (value: string | undefined): string[] =>
  (value ?? '')
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '');

export async function monitoringCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      out: { type: 'string' },
      'out-dir': { type: 'string' },
      webhook: { type: 'string' },
      'email-to': { type: 'string' },
      'email-from': { type: 'string' },
      smarthost: { type: 'string' },
      'group-wait': { type: 'string' },
      'group-interval': { type: 'string' },
      'repeat-interval': { type: 'string' },
      role: { type: 'string' },
      collector: { type: 'string' },
      'log-dir': { type: 'string' },
      'spool-dir': { type: 'string' },
      'archive-dir': { type: 'string' },
      listen: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [what, ...files] = positionals;
  if (values.help) {
    process.stdout.write(MONITORING_HELP);
    return 0;
  }
  let text: string;
  if (what === 'alertmanager') {
    const { alertmanagerConfig } = await import('./alertmanager.ts');
    const to = values['email-to'];
    const from = values['email-from'];
    const smarthost = values.smarthost;
    if ((to ?? from ?? smarthost) !== undefined && !(to && from && smarthost))
      throw new Error('alertmanager: mail needs --email-to, --email-from and --smarthost together');
    text = alertmanagerConfig({
      webhooks: list(values.webhook),
      ...(to && from && smarthost ? { email: { to, from, smarthost } } : {}),
      ...(values['group-wait'] ? { groupWait: values['group-wait'] } : {}),
      ...(values['group-interval'] ? { groupInterval: values['group-interval'] } : {}),
      ...(values['repeat-interval'] ? { repeatInterval: values['repeat-interval'] } : {}),
    });
  } else if (what === 'grafana') {
    const { grafanaDashboards } = await import('./grafana.ts');
    const dashboards = grafanaDashboards(loadConfig());
    const dir = values['out-dir'];
    if (dir !== undefined) {
      mkdirSync(dir, { recursive: true });
      for (const d of dashboards) {
        const path = join(dir, `${d.uid}.json`);
        writeFileSync(path, `${JSON.stringify(d.json, null, 2)}\n`);
        process.stdout.write(`${path}\n`);
      }
      return 0;
    }
    text = `${JSON.stringify(dashboards[0]?.json, null, 2)}\n`;
  } else if (what === 'rsyslog') {
    const { rsyslogConfig } = await import('./rsyslog.ts');
    const role = values.role;
    if (role !== 'tier' && role !== 'collector') throw new Error('rsyslog: --role tier or --role collector');
    if (values.collector === undefined) throw new Error('rsyslog: --collector HOST:PORT is needed');
    text = rsyslogConfig({
      role,
      collector: values.collector,
      spoolDir: values['spool-dir'] ?? '/var/spool/persona-rsyslog',
      logDir: values['log-dir'] ?? '/var/log/persona',
      archiveDir: values['archive-dir'] ?? '/var/log/persona-collected',
    });
  } else if (what === 'kpi' && files.length > 0) {
    const { formatSummary, linesOf, summarise } = await import('./kpi.ts');
    const lines: string[] = [];
    for (const file of files) for await (const line of linesOf(file)) lines.push(line);
    const summary = summarise(lines);
    text = values.json ? `${JSON.stringify(summary, null, 2)}\n` : formatSummary(summary);
  } else {
    process.stderr.write(MONITORING_HELP);
    return 2;
  }
  if (values.out) writeFileSync(values.out, text);
  else process.stdout.write(text);
  return 0;
}
