/**
 * A tier's hot paths on Node's own server, before Fastify (issue 9): the router's relay and the verifier's
 * `/verify`. They need none of Fastify's routing, hooks or reply serialisation, which cost a quarter of a
 * relayed request's CPU. Their requests get what a tier's Fastify requests get from app.ts: the request
 * id, the deadline, refusal when closing or lagging, the body limit, the tier signature check, the
 * security headers, the access log line and the request histogram. Everything a front handler does not
 * take (heartbeats, metrics, other paths) goes on to Fastify.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Caller } from '../topology/index.ts';
import { plainBody, ServiceError } from './errors.ts';
import type { TierMetrics } from './metrics.ts';

/** Takes a request (true) or leaves it to Fastify (false). */
export type FrontHandler = (request: IncomingMessage, response: ServerResponse) => boolean;

/** One request taken by a front handler. */
export interface FrontExchange {
  readonly id: string;
  /** When it must be answered by (ms since the epoch). */
  readonly deadline: number;
  /** Answers once; later calls do nothing. `headers` gets the tier's standard ones added. */
  readonly answer: (
    status: number,
    headers: Record<string, string | string[]>,
    body: Buffer | string,
  ) => void;
  /** A plain-text error answer in the service's form (errors.ts). */
  readonly refuse: (status: number, reason: string, headers?: Record<string, string>) => void;
  /** Answers a thrown error: a ServiceError as itself, anything else as a logged 500. */
  readonly fail: (err: unknown) => void;
  /** Reads the body up to the tier's limit (413 past it), then calls `then` unless answered meanwhile. */
  readonly readBody: (then: (body: Buffer) => void) => void;
  /** The calling tier after its signature over `body` is checked (403 thrown when not), or the edge. */
  readonly caller: (body: Buffer | undefined) => Caller;
}

/** What app.ts gives a front handler, made once per app. */
export interface FrontContext {
  readonly logger: Logger;
  readonly metrics: TierMetrics;
  /**
   * Starts an exchange, or answers the request at once (closing, lagging, malformed URL) and returns
   * undefined. `route` labels it in the request histogram, as a Fastify route's pattern would.
   */
  begin(request: IncomingMessage, response: ServerResponse, route: string): FrontExchange | undefined;
}

export interface FrontParts {
  readonly logger: Logger;
  readonly metrics: TierMetrics;
  readonly bodyLimit: number;
  requestId(request: IncomingMessage): string;
  deadlineOf(request: IncomingMessage, now: number): number;
  /** Why the request is refused with 503 before any work, or undefined. */
  refusal(url: string): string | undefined;
  /** Adds the headers every answer carries (the tier's own win where they overlap). */
  finishHeaders(headers: Record<string, string | string[]>, id: string, status: number): void;
  /** The access log line and the request histogram. */
  done(id: string, route: string, method: string, url: string, status: number, ms: number): void;
  authenticate(request: IncomingMessage, body: Buffer | undefined): Caller;
}

/** A path Fastify would refuse to decode (`/%%`) is refused here too, in our form. */
function malformed(url: string): boolean {
  const path = url.split('?', 1)[0] ?? '';
  if (!path.includes('%')) return false;
  try {
    decodeURIComponent(path);
    return false;
  } catch {
    return true;
  }
}

export function createFrontContext(parts: FrontParts): FrontContext {
  return {
    logger: parts.logger,
    metrics: parts.metrics,
    begin(request, response, route) {
      const started = performance.now();
      const method = request.method ?? 'GET';
      const url = request.url ?? '/';
      const id = parts.requestId(request);
      const deadline = parts.deadlineOf(request, Date.now());
      let answered = false;
      const exchange: FrontExchange = {
        id,
        deadline,
        answer(status, headers, body) {
          if (answered || response.headersSent) return;
          answered = true;
          parts.finishHeaders(headers, id, status);
          headers['content-length'] = String(Buffer.byteLength(body));
          response.writeHead(status, headers);
          response.end(body);
          parts.done(id, route, method, url, status, performance.now() - started);
        },
        refuse(status, reason, headers = {}) {
          exchange.answer(
            status,
            { 'content-type': 'text/plain; charset=utf-8', ...headers },
            plainBody(status, reason),
          );
        },
        fail(err) {
          if (err instanceof ServiceError) {
            if (err.status >= 500) parts.logger.warn({ reqId: id, code: err.code }, err.reason);
            exchange.refuse(err.status, err.reason);
            return;
          }
          parts.logger.error({ reqId: id, err }, 'unhandled error');
          exchange.refuse(500, 'internal error');
        },
        readBody(then) {
          if (Number(request.headers['content-length'] ?? 0) > parts.bodyLimit) {
            exchange.refuse(413, 'request body too large', { connection: 'close' });
            request.resume();
            return;
          }
          const chunks: Buffer[] = [];
          let size = 0;
          request.on('data', (chunk: Buffer) => {
            if (answered) return;
            size += chunk.length;
            if (size > parts.bodyLimit)
              exchange.refuse(413, 'request body too large', { connection: 'close' });
            else chunks.push(chunk);
          });
          request.on('end', () => {
            if (!answered) then(chunks.length === 1 && chunks[0] ? chunks[0] : Buffer.concat(chunks));
          });
          // A client gone mid-body: nothing to answer.
          request.on('error', () => undefined);
        },
        caller: (body) => parts.authenticate(request, body),
      };
      const why = parts.refusal(url);
      if (why !== undefined) {
        exchange.refuse(503, why, why === 'server is shutting down' ? { connection: 'close' } : {});
        return undefined;
      }
      if (malformed(url)) {
        exchange.refuse(400, 'malformed URL');
        return undefined;
      }
      if (deadline <= Date.now()) {
        exchange.refuse(503, 'request deadline passed');
        return undefined;
      }
      return exchange;
    },
  };
}
