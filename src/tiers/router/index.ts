/**
 * The router (SPEC §2, reference/persona.md §1.2): the public front door. It holds nothing secret but
 * its tier key, and forwards by the original's rules: `/verify` (with or without a query string) to the
 * verifier, wsapi writes to the dbwriter, wsapi reads to the webhead, internal ops 404, unknown ops 400,
 * everything else to the webhead.
 */
import type { BlockList } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { createTierApp, REQUEST_ID_HEADER, type TierApp } from '../../http/app.ts';
import { ServiceError } from '../../http/errors.ts';
import type { Upstream } from '../../http/upstream.ts';
import { publicRouteOf, type Tier } from '../../topology/index.ts';
import { findOperation } from '../../wsapi/catalogue.ts';
import { clientAddress, isTrusted } from './client-address.ts';

export interface RouterDeps {
  readonly webhead: Upstream;
  readonly dbwriter: Upstream;
  readonly verifier: Upstream;
  /** Test-only route (SPEC §4.9), forwarded only when enabled. */
  readonly fakeVerification?: boolean;
  readonly https?: boolean;
  readonly logger?: Logger;
  readonly maxEventLoopLagMs?: number;
  /** The edge (nginx) addresses whose X-Forwarded-For is believed (client-address.ts); none: the peer's. */
  readonly trustedEdges?: BlockList;
}

// Request headers the tiers behind need; everything else stays at the edge.
const FORWARDED_REQUEST_HEADERS = [
  'content-type',
  'cookie',
  'accept',
  'accept-language',
  'if-none-match',
  'user-agent',
  'referer',
  'origin',
];
// Response headers that describe one hop, not the resource.
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'content-length',
  'date',
  'x-request-id',
  'upgrade',
]);

export type Route = { tier: Tier } | { error: ServiceError };

/** Which tier answers `method url`: the topology's public routes, and the wsapi catalogue for `/wsapi/`. */
export function route(method: string, url: string, fakeVerification = false): Route {
  const path = url.split('?', 1)[0] ?? '';
  const to = publicRouteOf(path);
  if (to !== 'by-op') return { tier: to };
  const name = path.slice('/wsapi/'.length);
  if (name === 'fake_verification' && fakeVerification) return { tier: 'webhead' };
  const op = findOperation(name);
  // Internal before the method: the original called four of them with GET where ours take POST, and its
  // internal-wsapi-test expects 404 for those GETs.
  if (op?.internal) return { error: new ServiceError('not-found', 'no such api') };
  if (!op || op.method !== method.toUpperCase())
    return { error: new ServiceError('bad-request', 'no such api') };
  return { tier: op.writes ? 'dbwriter' : 'webhead' };
}

export function buildRouter(deps: RouterDeps): TierApp {
  const tierApp = createTierApp({
    tier: 'router',
    logger: deps.logger,
    https: deps.https,
    maxEventLoopLagMs: deps.maxEventLoopLagMs,
    // The tier behind decides framing (the communication iframe must be frameable).
    denyFraming: false,
    // Bodies are relayed as received; the tier behind parses them.
    parseBodies: false,
    // A client's own request id is believed only from the edge, as its X-Forwarded-For is.
    keepsRequestIdOf: (request) => {
      const edges = deps.trustedEdges;
      return edges !== undefined && isTrusted(edges, request.socket.remoteAddress ?? '');
    },
    healthChecks: {
      // The webhead's and dbwriter's own deep heartbeats check the database and the keysigner.
      webhead: () => deps.webhead.checkHealth({ deep: true }),
      dbwriter: () => deps.dbwriter.checkHealth({ deep: true }),
      verifier: () => deps.verifier.checkHealth(),
    },
  });
  const upstreams: Partial<Record<Tier, Upstream>> = {
    webhead: deps.webhead,
    dbwriter: deps.dbwriter,
    verifier: deps.verifier,
  };

  const forward = async (request: FastifyRequest, reply: FastifyReply) => {
    const target = route(request.method, request.url, deps.fakeVerification);
    if ('error' in target) throw target.error;
    const headers: Record<string, string> = { [REQUEST_ID_HEADER]: request.id };
    for (const name of FORWARDED_REQUEST_HEADERS) {
      const value = request.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    headers['x-forwarded-for'] = clientAddress(
      request.ip,
      request.headers['x-forwarded-for'],
      deps.trustedEdges,
    );
    headers['x-forwarded-proto'] = deps.https ? 'https' : 'http';
    const upstream = upstreams[target.tier];
    if (!upstream) throw new ServiceError('not-found', 'no such resource');
    const res = await upstream.call({
      method: request.method,
      url: request.url,
      headers,
      body: request.method === 'GET' || request.method === 'HEAD' ? undefined : request.rawBody,
      // The clock started when the request reached us (SPEC §6): queueing for a connection counts.
      deadline: request.deadline,
    });
    for (const [name, value] of Object.entries(res.headers)) {
      if (value !== undefined && !HOP_BY_HOP.has(name)) reply.header(name, value);
    }
    return reply.code(res.status).send(res.body);
  };

  tierApp.app.route({ method: ['GET', 'HEAD', 'POST'], url: '/*', handler: forward });
  tierApp.app.route({ method: ['GET', 'HEAD', 'POST'], url: '/', handler: forward });
  return tierApp;
}
