/** `persona ops <what>`: writes a configuration generated from the topology to a file or stdout. */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load.ts';

export const OPS_HELP = `Usage: persona ops <what> [options]

Writes a configuration generated from the topology (src/topology) and the settings (docs/edge.md).

  nginx   the TLS edge: https (PERSONA_EDGE_TLS_CERT/KEY), http -> https redirect, HTTP/2, per-route
          limits from the wsapi catalogue, passive ejection. With PERSONA_EDGE_LISTENERS straight to
          the tier pools over mutual TLS (the tier CA in PERSONA_DATA_DIR/tier-keys/tls); otherwise to
          the routers, which must trust the edge: PERSONA_TRUSTED_PROXIES=<the edge's address>.
  squid   the egress proxy every outbound HTTP call goes through (PERSONA_HTTP_PROXY)
  matrix  the network allow matrix (JSON: from, to, ports, protocol) for security groups
  nftables  the same matrix as a host firewall (check it with nft -c -f FILE)
  prometheus  the scrape configuration (--rules: the recording and alert rules) (docs/monitoring.md)
  nagios  nagios4 objects: hosts and services per tier instance and the front door (docs/monitoring.md)
  dns     PowerDNS for the service's name across regions (LUA ifurlup records on each region's
          /__heartbeat__): --state-dir DIR writes pdns.conf, named.conf and the zone there, else
          prints the zone; --regions N (default 2), --listen ADDR:PORT (docs/regions.md)
  galera  each Galera node's my.cnf (--node n1 for one; --dir DIR: the node directories' parent)
  haproxy  HAProxy in front of the Galera nodes: one writer, the others backup, reads on all
          (--state-dir DIR: pid file and admin socket) (docs/database-ha.md)

Options:
  --out FILE           write there (default stdout)
  --state-dir DIR      pid, temp files and caches (nginx default /var/lib/persona-nginx,
                       squid default /var/spool/squid)
  --log-dir DIR        logs (default /var/log/nginx or /var/log/squid)
  nginx: --http-port N (default 80)  --listen ADDR  --router URL,URL (a fleet's routers)
         --workers N  --foreground  --to tiers|routers (default: tiers with PERSONA_EDGE_LISTENERS)
         --tier-tls-dir DIR (where the edge host keeps the tier CA's ca.crt, edge.crt, edge.key)
  squid: --listen HOST:PORT (default PERSONA_HTTP_PROXY's)  --clients CIDR,CIDR
         --allow DOMAIN,DOMAIN (allow-list mode; .example.com includes subdomains)
         --dev-destination CIDR,CIDR (development only: a local IdP)
  nftables: --hosts JSON (endpoint -> IPv4 addresses, e.g. {"edge":["10.0.0.5"]})
            --ssh-from CIDR,CIDR
  prometheus: --rules  --interval 15s  --alertmanager HOST:PORT,...  --rule-file NAME,...
              --runbook-base URL (default docs/runbooks/)
  nagios: --persona CMD (how the monitor runs persona, with this deployment's settings)
          --interval S (default 60)  --retry S (default 15)  --attempts N (default 3)
          --interval-length S (the main configuration's, default 60)
          --main --objects FILE,... --state-dir DIR [--user U --group G]: a main nagios.cfg instead
  alertmanager, grafana, rsyslog, kpi: monitoring (persona ops kpi --help for their options)
`;

const list = (value: string | undefined): string[] | undefined =>
  value === undefined
    ? undefined
    : value
        .split(',')
        .map((v) => v.trim())
        .filter((v) => v !== '');

export async function opsCommand(args: string[]): Promise<number> {
  const monitoring = await import('./monitoring-cli.ts');
  if ((monitoring.MONITORING_COMMANDS as readonly string[]).includes(args[0] ?? ''))
    return monitoring.monitoringCommand(args);
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      out: { type: 'string' },
      'state-dir': { type: 'string' },
      'log-dir': { type: 'string' },
      'http-port': { type: 'string' },
      to: { type: 'string' },
      'tier-tls-dir': { type: 'string' },
      listen: { type: 'string' },
      router: { type: 'string' },
      workers: { type: 'string' },
      foreground: { type: 'boolean', default: false },
      clients: { type: 'string' },
      allow: { type: 'string' },
      'dev-destination': { type: 'string' },
      hosts: { type: 'string' },
      'ssh-from': { type: 'string' },
      rules: { type: 'boolean', default: false },
      interval: { type: 'string' },
      alertmanager: { type: 'string' },
      'rule-file': { type: 'string' },
      'runbook-base': { type: 'string' },
      persona: { type: 'string' },
      retry: { type: 'string' },
      attempts: { type: 'string' },
      'interval-length': { type: 'string' },
      main: { type: 'boolean', default: false },
      objects: { type: 'string' },
      user: { type: 'string' },
      group: { type: 'string' },
      node: { type: 'string' },
      dir: { type: 'string' },
      regions: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const what = positionals[0];
  const known = ['nginx', 'squid', 'matrix', 'nftables', 'prometheus', 'nagios', 'galera', 'haproxy', 'dns'];
  if (values.help || !known.includes(what ?? '') || positionals.length > 1) {
    (values.help ? process.stdout : process.stderr).write(OPS_HELP);
    return values.help ? 0 : 2;
  }
  const config = loadConfig();
  let text: string;
  if (what === 'nginx') {
    const { nginxConfig } = await import('./nginx.ts');
    const routerUrls = list(values.router);
    if (values.to !== undefined && values.to !== 'tiers' && values.to !== 'routers') {
      process.stderr.write(`persona ops nginx: --to is tiers or routers, not ${values.to}\n`);
      return 2;
    }
    text = nginxConfig(config, {
      ...(values.to !== undefined ? { to: values.to } : {}),
      ...(values['tier-tls-dir'] !== undefined ? { tierTlsDir: values['tier-tls-dir'] } : {}),
      stateDir: values['state-dir'] ?? '/var/lib/persona-nginx',
      logDir: values['log-dir'] ?? '/var/log/nginx',
      ...(values['http-port'] !== undefined ? { httpPort: Number(values['http-port']) } : {}),
      ...(values.listen !== undefined ? { listen: values.listen } : {}),
      ...(routerUrls ? { routerUrls } : {}),
      ...(values.workers !== undefined ? { workers: Number(values.workers) } : {}),
      foreground: values.foreground,
    });
  } else if (what === 'prometheus') {
    const { prometheusConfig, prometheusRules } = await import('./prometheus.ts');
    const alertmanagers = list(values.alertmanager);
    const ruleFiles = list(values['rule-file']);
    const options = {
      ...(values.interval !== undefined ? { interval: values.interval } : {}),
      ...(alertmanagers ? { alertmanagers } : {}),
      ...(ruleFiles ? { ruleFiles } : {}),
      ...(values['runbook-base'] !== undefined ? { runbookBase: values['runbook-base'] } : {}),
    };
    text = values.rules ? prometheusRules(options) : prometheusConfig(config, options);
  } else if (what === 'nagios') {
    const { nagiosMain, nagiosObjects } = await import('./nagios.ts');
    const seconds = (v: string | undefined, name: string) => (v === undefined ? {} : { [name]: Number(v) });
    text = values.main
      ? nagiosMain({
          objectFiles: list(values.objects) ?? [],
          stateDir: values['state-dir'] ?? '/var/lib/nagios4',
          ...(values.user !== undefined ? { user: values.user } : {}),
          ...(values.group !== undefined ? { group: values.group } : {}),
        })
      : nagiosObjects(config, {
          ...(values.persona !== undefined ? { persona: values.persona } : {}),
          ...seconds(values.interval, 'intervalSeconds'),
          ...seconds(values.retry, 'retrySeconds'),
          ...seconds(values.attempts, 'maxAttempts'),
          ...seconds(values['interval-length'], 'intervalLength'),
        });
  } else if (what === 'galera' || what === 'haproxy') {
    const { clusterOpsText } = await import('../db/cluster/ops.ts');
    text = clusterOpsText(what, config, {
      dir: values.dir ?? '/var/lib/persona-galera',
      stateDir: values['state-dir'] ?? '/run/persona-haproxy',
      ...(values.node !== undefined ? { node: values.node } : {}),
      ...(values.listen !== undefined ? { listen: values.listen } : {}),
    });
  } else if (what === 'dns') {
    const { dnsOpsText } = await import('./dns.ts');
    text = dnsOpsText(config, {
      ...(values['state-dir'] !== undefined ? { stateDir: values['state-dir'] } : {}),
      ...(values.regions !== undefined ? { regions: values.regions } : {}),
      ...(values.listen !== undefined ? { listen: values.listen } : {}),
    });
  } else if (what === 'matrix') {
    const { allowMatrix } = await import('./matrix.ts');
    text = `${JSON.stringify(allowMatrix(config), null, 2)}\n`;
  } else if (what === 'nftables') {
    const { nftablesRuleset } = await import('./matrix.ts');
    text = nftablesRuleset(
      config,
      values.hosts ? (JSON.parse(values.hosts) as Record<string, string[]>) : {},
      list(values['ssh-from']) ?? [],
    );
  } else {
    const { squidConfig } = await import('./squid.ts');
    const clients = list(values.clients);
    const allowDomains = list(values.allow);
    const devDestinations = list(values['dev-destination']);
    text = squidConfig(config, {
      stateDir: values['state-dir'] ?? '/var/spool/squid',
      logDir: values['log-dir'] ?? '/var/log/squid',
      ...(values.listen !== undefined ? { listen: values.listen } : {}),
      ...(clients ? { clients } : {}),
      ...(allowDomains ? { allowDomains } : {}),
      ...(devDestinations ? { devDestinations } : {}),
    });
  }
  if (values.out) writeFileSync(values.out, text);
  else process.stdout.write(text);
  return 0;
}
