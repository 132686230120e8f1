/**
 * The TLS edge in front of the router (docs/edge.md), generated from the topology and a configuration.
 *
 * nginx forwards to the router's instances, never to the tiers behind it: those answer only calls signed
 * with a per-pair tier key (SPEC §2), which the edge does not hold. So the path → tier decision stays in
 * the router (from the same PUBLIC_ROUTES and wsapi catalogue), and the edge applies per-route policy
 * from them: internal ops answer 404 here already, writes get the tighter per-address limit, `/verify`
 * its own, static assets are cached. Passive ejection at the edge covers router instances; the router's
 * own pools eject webhead, dbwriter and verifier instances (src/http/upstream.ts).
 */
import { BODY_LIMIT } from '../http/app.ts';
import { deploymentOf, instancesOf, PUBLIC_ROUTES, type Tier } from '../topology/index.ts';
import { operations } from '../wsapi/catalogue.ts';
import type { Config } from '../config/settings.ts';

export interface NginxOptions {
  /** Where pid, temp files and the static cache live (the tests use a temp dir). */
  readonly stateDir: string;
  readonly logDir: string;
  /** Plain-http port that only redirects to https (default 80). */
  readonly httpPort?: number;
  /** Address nginx listens on; default every address. */
  readonly listen?: string;
  /** The router instances, when not this configuration's local ones (a fleet). */
  readonly routerUrls?: readonly string[];
  /** Worker processes; default auto. */
  readonly workers?: number | 'auto';
  /** Run in the foreground (`daemon off`): under a supervisor or a test. */
  readonly foreground?: boolean;
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
  const httpsPort = Number(publicUrl.port || 443);
  const httpPort = options.httpPort ?? 80;
  const listen = (port: number) => (options.listen ? `${options.listen}:${port}` : String(port));
  const routers = options.routerUrls ?? instancesOf(deploymentOf(config), 'router').map((i) => i.url);
  if (routers.length === 0) throw new Error('no router instances to forward to');
  const { exact, internalOps, writeOps } = edgeRoutes();
  const wsapi = PUBLIC_ROUTES.find((r) => r.to === 'by-op')?.path ?? '/wsapi/';
  const state = (name: string) => `${options.stateDir}/${name}`;
  // proxy_pass is per location (nginx allows it nowhere else); the headers are set once for the server.
  const limit = (zone: keyof typeof EDGE_LIMITS) => [
    `limit_req zone=persona_${zone} burst=${EDGE_LIMITS[zone].burst} nodelay;`,
    'proxy_pass http://persona_router;',
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
  ];
  const block = (head: string, lines: readonly string[], indent = '    ') =>
    [`${indent}${head} {`, ...lines.map((l) => `${indent}  ${l}`), `${indent}}`].join('\n');

  const lines = [
    '# Generated by `persona ops nginx` from src/topology and the configuration: regenerate, do not edit.',
    `# Public origin ${publicUrl.origin}; router instances: ${routers.join(' ')}`,
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
    '  upstream persona_router {',
    ...routers.map((url) => `    server ${hostPort(url)} max_fails=2 fail_timeout=10s;`),
    '    keepalive 32;',
    '    keepalive_timeout 30s;',
    '  }',
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
    '    # A refused connection or a timeout moves the request to another router instance (a POST only',
    '    # when nothing was sent yet: nginx never resends a non-idempotent request).',
    '    proxy_next_upstream error timeout http_502 http_504;',
    '    proxy_next_upstream_tries 2;',
    '    proxy_connect_timeout 2s;',
    '    proxy_read_timeout 30s;',
    '',
    '    # Internal wsapi ops (catalogue: internal) are for tiers only: 404 here, as the router answers.',
    block(`location ~ ^${wsapi}(${internalOps.join('|')})$`, ['return 404;']),
    '    # Writes (catalogue: runs on the dbwriter): the tighter per-address limit.',
    block(`location ~ ^${wsapi}(${writeOps.join('|')})$`, limit('write')),
    block(`location ${wsapi}`, limit('general')),
    ...exact.map((r) =>
      block(`location = ${r.path}`, [
        `# -> ${r.tier}`,
        ...limit(r.tier === 'verifier' ? 'verify' : 'general'),
      ]),
    ),
    "    # The tiers' metrics are for the monitoring network, not the public.",
    block('location = /metrics', ['return 404;']),
    "    # Static assets: cached at the edge for as long as the webhead's Cache-Control says.",
    block('location ~* \\.(js|css|svg|ico|png|woff2?)$', [
      ...limit('general'),
      'proxy_cache persona_static;',
      'proxy_cache_methods GET HEAD;',
      'proxy_cache_key $scheme$host$uri$is_args$args;',
      'proxy_cache_lock on;',
      'proxy_cache_use_stale error timeout updating http_502 http_503 http_504;',
      'add_header X-Cache-Status $upstream_cache_status always;',
      `add_header Strict-Transport-Security "${HSTS}" always;`,
    ]),
    block('location /', limit('general')),
    '  }',
    '}',
    '',
  ];
  return lines.join('\n');
}
