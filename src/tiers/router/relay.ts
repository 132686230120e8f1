/**
 * The router's forwarding path, on Node's own server before Fastify (app.ts `front`): a relay needs none
 * of Fastify's routing, hooks or reply serialisation, and they were a quarter of the router's CPU per
 * request (issue 9). Its requests get what the tiers' own do (FrontContext): the request id, the deadline,
 * lag shedding, the security headers, the access log line and the request histogram. Heartbeats, metrics
 * and methods nobody forwards are left to Fastify.
 */
import type { BlockList } from 'node:net';
import { BODY_LIMIT, type FrontContext, type FrontHandler } from '../../http/app.ts';
import { plainBody, ServiceError } from '../../http/errors.ts';
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

/** A path Fastify would refuse to decode (`/%%`) is refused here too, in our form. */
function malformed(path: string): boolean {
  if (!path.includes('%')) return false;
  try {
    decodeURIComponent(path);
    return false;
  } catch {
    return true;
  }
}

export function createRelay(options: RelayOptions): (context: FrontContext) => FrontHandler {
  return (context) => (request, response) => {
    const method = request.method ?? 'GET';
    const url = request.url ?? '/';
    if (!RELAYED_METHODS.has(method) || isInfrastructure(url)) return false;
    const started = performance.now();
    const id = context.requestId(request);
    // The clock starts when the request reaches us (SPEC §6): queueing for a connection counts.
    const deadline = Date.now() + context.deadlineMs;

    let answered = false;
    const answer = (status: number, headers: Record<string, string | string[]>, body: Buffer | string) => {
      if (answered || response.headersSent) return;
      answered = true;
      context.finishHeaders(headers, id, status);
      headers['content-length'] = String(Buffer.byteLength(body));
      response.writeHead(status, headers);
      response.end(body);
      context.done(id, method, url, status, performance.now() - started);
    };
    const refuse = (status: number, reason: string, extra: Record<string, string> = {}) => {
      answer(status, { 'content-type': 'text/plain; charset=utf-8', ...extra }, plainBody(status, reason));
    };

    const why = context.refusal(url);
    if (why !== undefined) {
      refuse(503, why, why === 'server is shutting down' ? { connection: 'close' } : {});
      return true;
    }
    const path = url.split('?', 1)[0] ?? '';
    if (malformed(path)) {
      refuse(400, 'malformed URL');
      return true;
    }
    const target = route(method, url, options.fakeVerification);
    const upstream = 'tier' in target ? options.upstreams[target.tier] : undefined;
    if (!upstream) {
      const error = 'error' in target ? target.error : new ServiceError('not-found', 'no such resource');
      refuse(error.status, error.reason);
      return true;
    }

    const forward = (body: Buffer | undefined) => {
      const headers: Record<string, string> = { 'x-request-id': id };
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
      upstream.call({ method, url, headers, body, deadline }).then(
        (res: UpstreamResponse) => {
          const relayed: Record<string, string | string[]> = {};
          for (const name in res.headers) {
            const value = res.headers[name];
            if (value !== undefined && !HOP_BY_HOP.has(name)) relayed[name] = value;
          }
          answer(res.status, relayed, res.body);
        },
        (err: unknown) => {
          if (err instanceof ServiceError) {
            if (err.status >= 500) context.logger.warn({ reqId: id, code: err.code }, err.reason);
            refuse(err.status, err.reason);
            return;
          }
          context.logger.error({ reqId: id, err }, 'unhandled error');
          refuse(500, 'internal error');
        },
      );
    };

    if (method !== 'POST') {
      forward(undefined);
      return true;
    }
    // The body, up to the limit every tier has; the tier behind parses it.
    const declared = Number(request.headers['content-length'] ?? 0);
    if (declared > BODY_LIMIT) {
      refuse(413, 'request body too large', { connection: 'close' });
      request.resume();
      return true;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      if (answered) return;
      size += chunk.length;
      if (size > BODY_LIMIT) {
        refuse(413, 'request body too large', { connection: 'close' });
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => {
      if (!answered) forward(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
    });
    // A client gone mid-body: nothing to answer, nothing forwarded.
    request.on('error', () => undefined);
    return true;
  };
}
