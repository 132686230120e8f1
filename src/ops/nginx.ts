/**
 * The TLS edge (docs/edge.md), generated from the topology and a configuration.
 *
 * With PERSONA_EDGE_LISTENERS (`to: 'tiers'`) nginx sends each path straight to its tier pool, as the
 * router would (the topology's PUBLIC_ROUTES and the wsapi catalogue: writes to dbwriters, reads and
 * pages to webheads, `/verify` to verifiers, internal ops 404 here). It reaches them on their edge
 * listeners with the edge's client certificate from the tier CA (the caller `edge` in the topology),
 * verifies each tier's certificate by name, and keeps the connections alive. Without it (`to: 'routers'`)
 * everything goes to the router instances, which hold the pair keys. Either way: per-route limits, static
 * caching, passive ejection of instances, request ids, the client's address set here.
 */
import { BODY_LIMIT } from '../http/app.ts';
import { DEADLINE_HEADER } from '../http/deadline.ts';
import { HEADER, tierKeyDir } from '../http/tier-auth.ts';
import { tierServerName, tierTlsDir, tierTlsFiles } from '../http/tier-tls.ts';
import {
  deploymentOf,
  EDGE,
  edgeListenersOf,
  instancesOf,
  PUBLIC_ROUTES,
  type Tier,
} from '../topology/index.ts';
import { operations } from '../wsapi/catalogue.ts';
import type { Config } from '../config/settings.ts';

export interface NginxOptions {
  /** Where pid, temp files and the static cache live (the tests use a temp dir). */
  readonly stateDir: string;
  readonly logDir: string;
  /** Plain-http port that only redirects to https (default 80). */
  readonly httpPort?: number;
  /** The https port, when nginx is not what the public URL names (another edge behind a balancer). */
  readonly httpsPort?: number;
  /** Address nginx listens on; default every address. */
  readonly listen?: string;
  /** The router instances, when not this configuration's local ones (a fleet). */
  readonly routerUrls?: readonly string[];
  /** Worker processes; default auto. */
  readonly workers?: number | 'auto';
  /** Run in the foreground (`daemon off`): under a supervisor or a test. */
  readonly foreground?: boolean;
  /** Where requests go: the tier pools (default with PERSONA_EDGE_LISTENERS) or the routers. */
  readonly to?: 'tiers' | 'routers';
  /** The tier CA's files on the edge host (default the data directory's `tier-keys/tls`). */
  readonly tierTlsDir?: string;
  /** A tier's edge listeners, when not this configuration's local ones (a fleet). */
  readonly tierUrls?: Readonly<Partial<Record<Tier, readonly string[]>>>;
}

/** Per client address at the edge, before anything reaches Node; the tiers' own limits live in the database. */
export const EDGE_LIMITS = {
  // wsapi writes: each one may hash a password or send mail
  write: { rate: '5r/s', burst: 20 },
  // sites' servers verify assertions for all their users from one address
  verify: { rate: '100r/s', burst: 200 },
  // pages, assets, wsapi reads
  general: { rate: '30r/s', burst: 60 },
} as const;

/** Modern TLS (TLS 1.2 with forward-secret AEAD suites, and 1.3), for browsers of the last years. */
const TLS_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

const HSTS = 'max-age=31536000; includeSubDomains';

const hostPort = (url: string): string => {
  const u = new URL(url);
  return `${u.hostname.includes(':') ? `[${u.hostname}]` : u.hostname}:${u.port || (u.protocol === 'https:' ? '443' : '80')}`;
};

const opNames = (pick: (op: (typeof operations)[keyof typeof operations]) => boolean): string[] =>
  Object.entries(operations)
    .filter(([, op]) => pick(op))
    .map(([name]) => name)
    .sort();

/** The routes nginx distinguishes, derived from PUBLIC_ROUTES and the catalogue (exported for tests). */
export function edgeRoutes(): {
  readonly exact: readonly { path: string; tier: Tier }[];
  readonly internalOps: readonly string[];
  readonly writeOps: readonly string[];
} {
  const exact = PUBLIC_ROUTES.filter((r) => r.match === 'exact' && r.to !== 'by-op').map((r) => ({
    path: r.path,
    tier: r.to as Tier,
  }));
  return {
    exact,
    internalOps: opNames((op) => op.internal),
    writeOps: opNames((op) => op.writes && !op.internal),
  };
}

export function nginxConfig(config: Config, options: NginxOptions): string {
  const publicUrl = new URL(config.publicUrl);
  if (publicUrl.protocol !== 'https:')
    throw new Error(`the edge serves https: PERSONA_PUBLIC_URL is ${config.publicUrl}`);
  const httpsPort = options.httpsPort ?? Number(publicUrl.port || 443);
  const httpPort = options.httpPort ?? 80;
  const listen = (port: number) => (options.listen ? `${options.listen}:${port}` : String(port));
  const to = options.to ?? (config.edgeListeners ? 'tiers' : 'routers');
  const deployment = deploymentOf(config);
  // The pools nginx forwards to, by upstream name.
  const pools = new Map<string, readonly string[]>();
  if (to === 'routers') {
    pools.set('persona_router', options.routerUrls ?? instancesOf(deployment, 'router').map((i) => i.url));
  } else {
    for (const tier of EDGE.mayCall)
      pools.set(
        `persona_${tier}`,
        options.tierUrls?.[tier] ?? edgeListenersOf(deployment, tier).map((i) => i.url),
      );
  }
  for (const [name, urls] of pools)
    if (urls.length === 0) throw new Error(`no instances to forward to in ${name}`);
  const tls = tierTlsFiles(options.tierTlsDir ?? tierTlsDir(tierKeyDir(config.dataDir)));
  /** The proxy_pass (and, to a tier, the name its certificate must carry) for requests bound to `tier`. */
  const passTo = (tier: Tier): string[] =>
    to === 'routers'
      ? ['proxy_pass http://persona_router;']
      : [`proxy_ssl_name ${tierServerName(tier)};`, `proxy_pass https://persona_${tier};`];
  const { exact, internalOps, writeOps } = edgeRoutes();
  const wsapi = PUBLIC_ROUTES.find((r) => r.to === 'by-op')?.path ?? '/wsapi/';
  const state = (name: string) => `${options.stateDir}/${name}`;
  // proxy_pass is per location (nginx allows it nowhere else); the headers are set once for the server.
  const limit = (zone: keyof typeof EDGE_LIMITS, tier: Tier) => [
    `limit_req zone=persona_${zone} burst=${EDGE_LIMITS[zone].burst} nodelay;`,
    ...passTo(tier),
  ];
  // Every forwarded request: the client's address replaces whatever the client claimed (the router
  // believes X-Forwarded-For only from PERSONA_TRUSTED_PROXIES), and the edge's request id is the one
  // every tier logs.
  const forward = [
    'proxy_http_version 1.1;',
    'proxy_set_header Connection "";',
    // The public host, whatever the client sent: the tiers build links from the public URL anyway.
    `proxy_set_header Host ${publicUrl.host};`,
    'proxy_set_header X-Forwarded-For $remote_addr;',
    'proxy_set_header X-Forwarded-Proto https;',
    'proxy_set_header X-Request-Id $request_id;',
    // Headers only tiers may send each other: never the client's (the tiers ignore them from the edge too).
    ...[DEADLINE_HEADER, ...Object.values(HEADER)].map((h) => `proxy_set_header ${h} "";`),
  ];
  // To the tiers: the edge's certificate from the tier CA, theirs checked by name against it.
  const mutualTls =
    to === 'tiers'
      ? [
          `proxy_ssl_certificate ${tls.edgeCert};`,
          `proxy_ssl_certificate_key ${tls.edgeKey};`,
          `proxy_ssl_trusted_certificate ${tls.caCert};`,
          'proxy_ssl_verify on;',
          'proxy_ssl_verify_depth 1;',
          'proxy_ssl_server_name on;',
          'proxy_ssl_protocols TLSv1.3;',
          'proxy_ssl_session_reuse on;',
        ]
      : [];
  const block = (head: string, lines: readonly string[], indent = '    ') =>
    [`${indent}${head} {`, ...lines.map((l) => `${indent}  ${l}`), `${indent}}`].join('\n');

  const lines = [
    '# Generated by `persona ops nginx` from src/topology and the configuration: regenerate, do not edit.',
    `# Public origin ${publicUrl.origin}; forwarding to ${to === 'tiers' ? 'the tier pools (mutual TLS)' : 'the routers'}`,
    `worker_processes ${options.workers ?? 'auto'};`,
    ...(options.foreground ? ['daemon off;'] : []),
    `pid ${state('nginx.pid')};`,
    `error_log ${options.logDir}/error.log warn;`,
    '',
    'events {',
    '  worker_connections 4096;',
    '}',
    '',
    'http {',
    '  server_tokens off;',
    '  default_type application/octet-stream;',
    `  client_body_temp_path ${state('client_body')};`,
    `  proxy_temp_path ${state('proxy')};`,
    `  fastcgi_temp_path ${state('fastcgi')};`,
    `  uwsgi_temp_path ${state('uwsgi')};`,
    `  scgi_temp_path ${state('scgi')};`,
    '',
    '  # One JSON object per request; $uri, never the query string: emailed links carry tokens there.',
    '  log_format persona_json escape=json \'{"time":"$time_iso8601","request_id":"$request_id",\'',
    '    \'"client":"$remote_addr","method":"$request_method","path":"$uri","status":$status,\'',
    '    \'"bytes":$body_bytes_sent,"request_time":$request_time,"upstream":"$upstream_addr",\'',
    '    \'"upstream_status":"$upstream_status","upstream_time":"$upstream_response_time",\'',
    '    \'"protocol":"$server_protocol","tls":"$ssl_protocol","cache":"$upstream_cache_status",\'',
    '    \'"user_agent":"$http_user_agent"}\';',
    `  access_log ${options.logDir}/access.log persona_json;`,
    '',
    '  # Body and header limits: the tiers refuse bodies over the same size (src/http/app.ts).',
    `  client_max_body_size ${Math.ceil(BODY_LIMIT / 1024)}k;`,
    '  client_body_buffer_size 16k;',
    '  client_header_buffer_size 2k;',
    '  large_client_header_buffers 4 8k;',
    '  client_body_timeout 10s;',
    '  client_header_timeout 10s;',
    '  send_timeout 30s;',
    '  keepalive_timeout 30s;',
    '',
    '  # Per client address (the socket peer: no header can change it).',
    ...Object.entries(EDGE_LIMITS).map(
      ([zone, { rate }]) => `  limit_req_zone $binary_remote_addr zone=persona_${zone}:10m rate=${rate};`,
    ),
    '  limit_req_status 429;',
    '  limit_conn_zone $binary_remote_addr zone=persona_conn:10m;',
    '  limit_conn_status 429;',
    '',
    `  proxy_cache_path ${state('cache')} levels=1:2 keys_zone=persona_static:10m max_size=64m inactive=1h use_temp_path=off;`,
    '',
    '  # Passive health: an instance failing max_fails times is left out for fail_timeout, then retried.',
    ...[...pools].flatMap(([name, urls]) => [
      `  upstream ${name} {`,
      ...urls.map((url) => `    server ${hostPort(url)} max_fails=2 fail_timeout=10s;`),
      '    keepalive 32;',
      '    keepalive_timeout 30s;',
      '  }',
    ]),
    '',
    '  server {',
    `    listen ${listen(httpPort)} default_server;`,
    '    location / {',
    `      return 301 ${publicUrl.origin}$request_uri;`,
    '    }',
    '  }',
    '',
    '  server {',
    `    listen ${listen(httpsPort)} ssl http2 default_server;`,
    `    server_name ${publicUrl.hostname};`,
    `    ssl_certificate ${config.edgeTlsCert};`,
    `    ssl_certificate_key ${config.edgeTlsKey};`,
    '    ssl_protocols TLSv1.2 TLSv1.3;',
    `    ssl_ciphers ${TLS_CIPHERS};`,
    '    ssl_prefer_server_ciphers off;',
    '    ssl_session_cache shared:persona_tls:10m;',
    '    ssl_session_timeout 1d;',
    '    ssl_session_tickets off;',
    "    # One HSTS header, the edge's (the router sets its own on https too).",
    '    proxy_hide_header Strict-Transport-Security;',
    `    add_header Strict-Transport-Security "${HSTS}" always;`,
    '    limit_conn persona_conn 64;',
    ...forward.map((l) => `    ${l}`),
    ...mutualTls.map((l) => `    ${l}`),
    '    # A refused connection or a timeout moves the request to another instance (a POST only',
    '    # when nothing was sent yet: nginx never resends a non-idempotent request).',
    '    proxy_next_upstream error timeout http_502 http_504;',
    '    proxy_next_upstream_tries 2;',
    '    proxy_connect_timeout 2s;',
    '    proxy_read_timeout 30s;',
    '',
    '    # Internal wsapi ops (catalogue: internal) are for tiers only: 404 here, as the router answers.',
    block(`location ~ ^${wsapi}(${internalOps.join('|')})$`, ['return 404;']),
    '    # Writes (catalogue: runs on the dbwriter): the tighter per-address limit.',
    block(`location ~ ^${wsapi}(${writeOps.join('|')})$`, limit('write', 'dbwriter')),
    '    # Reads, and unknown ops (the webhead answers them as the router does).',
    block(`location ${wsapi}`, limit('general', 'webhead')),
    ...exact.map((r) =>
      block(`location = ${r.path}`, [
        `# -> ${r.tier}`,
        ...limit(r.tier === 'verifier' ? 'verify' : 'general', r.tier),
      ]),
    ),
    "    # The tiers' metrics are for the monitoring network, not the public.",
    block('location = /metrics', ['return 404;']),
    "    # Static assets: cached at the edge for as long as the webhead's Cache-Control says.",
    block('location ~* \\.(js|css|svg|ico|png|woff2?)$', [
      ...limit('general', 'webhead'),
      'proxy_cache persona_static;',
      'proxy_cache_methods GET HEAD;',
      'proxy_cache_key $scheme$host$uri$is_args$args;',
      'proxy_cache_lock on;',
      'proxy_cache_use_stale error timeout updating http_502 http_503 http_504;',
      'add_header X-Cache-Status $upstream_cache_status always;',
      `add_header Strict-Transport-Security "${HSTS}" always;`,
    ]),
    block('location /', limit('general', 'webhead')),
    '  }',
    '}',
    '',
  ];
  return lines.join('\n');
}
