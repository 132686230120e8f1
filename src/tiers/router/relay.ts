/**
 * The router's forwarding path, a front handler (http/front.ts): on Node's own server, before Fastify,
 * which cost a quarter of the router's CPU per relayed request (issue 9). Heartbeats, metrics and methods
 * nobody forwards are left to Fastify.
 */
import type { BlockList } from 'node:net';
import type { FrontContext, FrontHandler } from '../../http/front.ts';
import { ServiceError } from '../../http/errors.ts';
import type { Upstream, UpstreamResponse } from '../../http/upstream.ts';
import type { Tier } from '../../topology/index.ts';
import { clientAddress } from './client-address.ts';
import { route } from './route.ts';

export interface RelayOptions {
  readonly upstreams: Partial<Record<Tier, Upstream>>;
  readonly fakeVerification: boolean;
  readonly https: boolean;
  readonly trustedEdges: BlockList | undefined;
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
const RELAYED_METHODS = new Set(['GET', 'HEAD', 'POST']);
const isInfrastructure = (url: string): boolean => url.startsWith('/__heartbeat__') || url === '/metrics';

export function createRelay(options: RelayOptions): (context: FrontContext) => FrontHandler {
  return (context) => (request, response) => {
    const method = request.method ?? 'GET';
    const url = request.url ?? '/';
    if (!RELAYED_METHODS.has(method) || isInfrastructure(url)) return false;
    // Labelled as the catch-all route it was under Fastify.
    const exchange = context.begin(request, response, '/*');
    if (!exchange) return true;
    const target = route(method, url, options.fakeVerification);
    const upstream = 'tier' in target ? options.upstreams[target.tier] : undefined;
    if (!upstream) {
      exchange.fail('error' in target ? target.error : new ServiceError('not-found', 'no such resource'));
      return true;
    }
    const forward = (body: Buffer | undefined) => {
      const headers: Record<string, string> = { 'x-request-id': exchange.id };
      for (const name of FORWARDED_REQUEST_HEADERS) {
        const value = request.headers[name];
        if (typeof value === 'string') headers[name] = value;
      }
      const peer = request.socket.remoteAddress ?? '';
      headers['x-forwarded-for'] = clientAddress(
        peer,
        request.headers['x-forwarded-for'],
        options.trustedEdges,
      );
      headers['x-forwarded-proto'] = options.https ? 'https' : 'http';
      // The clock started when the request reached us (SPEC §6): queueing for a connection counts.
      upstream
        .call({ method, url, headers, body, deadline: exchange.deadline })
        .then((res: UpstreamResponse) => {
          const relayed: Record<string, string | string[]> = {};
          for (const name in res.headers) {
            const value = res.headers[name];
            if (value !== undefined && !HOP_BY_HOP.has(name)) relayed[name] = value;
          }
          exchange.answer(res.status, relayed, res.body);
        }, exchange.fail);
    };
    // Bodies are relayed as received; the tier behind parses them.
    if (method === 'POST') exchange.readBody(forward);
    else forward(undefined);
    return true;
  };
}
