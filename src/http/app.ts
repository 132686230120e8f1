/**
 * What every tier's Fastify app shares (SPEC §6): request ids carried across tiers, pino logs with secrets
 * redacted, a 10 KB body limit, security headers, event-loop-lag load shedding, `/__heartbeat__`
 * (shallow and `?deep`), Prometheus `/metrics`, tier-signature checks for internal tiers, and one error
 * handler that maps the registry in errors.ts to responses.
 */
import { randomUUID, type KeyObject } from 'node:crypto';
import { createServer, STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import Fastify, {
  LogController,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type RawServerDefault,
} from 'fastify';
import { pino, type DestinationStream, type Logger } from 'pino';
import { plainBody, ServiceError } from './errors.ts';
import { DEADLINE_HEADER, deadlineOf, REQUEST_DEADLINE_MS, RETRY_AFTER_S, withDeadline } from './deadline.ts';
import { monitorEventLoopLag, neverShed, type LagMonitor } from './load-shedding.ts';
import { createMetrics, type TierMetrics } from './metrics.ts';
import { createFrontContext, type FrontContext, type FrontHandler } from './front.ts';
import { createTierGate, type Tier } from './tier-auth.ts';
import type { Caller } from '../topology/index.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The body as received, for signature checks and forwarding. */
    rawBody?: Buffer;
    /** The calling tier once its signature has been checked, or the edge on its listener (edge-listener.ts). */
    caller?: Caller;
    /** When this request must be answered by (ms since the epoch), SPEC §6. */
    deadline: number;
  }
}

export const BODY_LIMIT = 10 * 1024;
/**
 * Time to receive a whole request, headers and body: past it the answer is 408 and the connection closes,
 * so a body trickled a byte at a time cannot hold a connection (issue 10). Ample for 10 KB; answering
 * may take longer (the clock stops when the request is in).
 */
export const REQUEST_TIMEOUT_MS = 10_000;
export const REQUEST_ID_HEADER = 'x-request-id';
/** What a request id taken from a caller may look like: ours are UUIDs, nginx's 32 hex digits. */
export const REQUEST_ID_SHAPE = /^[A-Za-z0-9_-]{1,64}$/;
const HEARTBEAT_TIMEOUT_MS = 5000;
/** How long an idle client connection stays open: Fastify's default, also on a front handler's server. */
const KEEP_ALIVE_TIMEOUT_MS = 72_000;

/** A dependency the deep heartbeat checks; rejects (or times out) when it is unhealthy. */
export type HealthCheck = () => Promise<unknown>;

export interface TierAppOptions {
  readonly tier: Tier | 'example';
  readonly logger?: Logger;
  readonly logLevel?: string;
  readonly maxEventLoopLagMs?: number;
  /** Measures event-loop lag and decides shedding; default one from `maxEventLoopLagMs` (tests inject one). */
  readonly lagMonitor?: LagMonitor;
  /** A request's whole life here, ms; default REQUEST_DEADLINE_MS. Internal tiers take the caller's if sooner. */
  readonly deadlineMs?: number;
  /** Set for internal tiers: the public keys of the tiers allowed to call this one. */
  readonly callerKeys?: ReadonlyMap<Tier, KeyObject>;
  readonly healthChecks?: Readonly<Record<string, HealthCheck>>;
  /** When the public URL is https: HSTS and Secure cookies. */
  readonly https?: boolean;
  /** Default X-Frame-Options DENY on responses that set none; off for the router, which relays the tier's. */
  readonly denyFraming?: boolean;
  /**
   * Handlers run with the request's deadline in an AsyncLocalStorage, where the bcrypt queue and tier calls
   * read it. Only for tiers that need it: on Node 20 it installs promise hooks that slow every promise of
   * the process (the router passes the deadline explicitly; the verifier and keysigner call nothing).
   */
  readonly deadlineContext?: boolean;
  /** False for a tier that only relays bodies (the router): they are kept raw, never parsed. */
  readonly parseBodies?: boolean;
  /** Time to receive a whole request; default REQUEST_TIMEOUT_MS. */
  readonly requestTimeoutMs?: number;
  /**
   * Whether this request's own `X-Request-Id` may be kept (default: yes). The router keeps it only from a
   * trusted edge: anyone else could reuse another request's id and tangle the logs.
   */
  readonly keepsRequestIdOf?: (request: IncomingMessage) => boolean;
  /**
   * Answers requests on Node's own server before Fastify routes them (front.ts): the router's relay, the
   * verifier's `/verify`. Made once from what the app's own requests get.
   */
  readonly front?: (context: FrontContext) => FrontHandler;
}

/** The Fastify instance every tier builds on (pino's Logger as its logger type). */
export type TierFastify = FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, Logger>;

export interface TierApp {
  readonly app: TierFastify;
  /** Serves a request from another server of this tier (edge-listener.ts): the front handler, else Fastify. */
  readonly handle: (request: IncomingMessage, response: ServerResponse) => void;
  readonly metrics: TierMetrics;
  readonly logger: Logger;
}

/** A URL without its query string: emailed links carry their token there (SPEC §4.8). */
const withoutQuery = (url: string | undefined): string => (url ?? '').split('?', 1)[0] ?? '';

export function createLogger(tier: string, level = 'info', destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { tier },
      serializers: {
        // What Fastify logs of a request on its own (aborts, client errors): never the query string.
        req: (req: { method?: string; url?: string; id?: string }) => ({
          id: req.id,
          method: req.method,
          url: withoutQuery(req.url),
        }),
      },
      redact: {
        paths: [
          'req.headers.cookie',
          'req.headers.authorization',
          'req.headers["x-persona-signature"]',
          'res.headers["set-cookie"]',
          // A password is secret at any depth a log line puts it, the top level included.
          'pass',
          'password',
          'oldpass',
          'newpass',
          '*.password',
          '*.pass',
          '*.oldpass',
          '*.newpass',
          // Verification tokens and the links that carry them, wherever a log line names them.
          'token',
          '*.token',
          'link',
          '*.link',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
}

function withTimeout(check: HealthCheck, ms: number): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`no answer in ${ms} ms`));
    }, ms);
  });
  return Promise.race([check(), timeout]).finally(() => {
    clearTimeout(timer);
  });
}

/**
 * Answers what Node's parser refused before Fastify saw a request (431 headers too large, 400 malformed,
 * 408 too slow): the status line only. No body, because the request may be a HEAD, and its method is not
 * known at this point; nothing at all when a response has begun.
 */
export function answerClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const status =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
  const current = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (socket.writable && current?.headersSent !== true)
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`,
    );
  socket.destroy();
}

/** Marks a connection to a tier's edge listener whose client certificate names the edge (edge-listener.ts). */
export const EDGE_SOCKET = Symbol('persona edge connection');

/** Whether a request came from the edge, on a connection its certificate was checked on. */
export const fromEdge = (request: IncomingMessage): boolean =>
  (request.socket as Socket & { [EDGE_SOCKET]?: boolean })[EDGE_SOCKET] === true;

const isInfrastructure = (url: string): boolean => url.startsWith('/__heartbeat__') || url === '/metrics';

export function createTierApp(options: TierAppOptions): TierApp {
  const logger = options.logger ?? createLogger(options.tier, options.logLevel);
  const metrics = createMetrics(options.tier);
  const requestTimeoutMs = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
  const requestId = (req: IncomingMessage): string => {
    const given = req.headers[REQUEST_ID_HEADER];
    const keep =
      typeof given === 'string' && REQUEST_ID_SHAPE.test(given) && (options.keepsRequestIdOf?.(req) ?? true);
    return keep ? given : randomUUID();
  };
  const httpOptions = {
    headersTimeout: requestTimeoutMs,
    requestTimeout: requestTimeoutMs,
    // Node checks its timeouts every connectionsCheckingInterval (30 s by default, which would let a slow
    // request run four times over).
    connectionsCheckingInterval: Math.min(1000, requestTimeoutMs),
  };
  // Filled in below, once the app's metrics and hooks exist; the server calls it only after listen().
  let front: FrontHandler | undefined;
  const app = Fastify({
    loggerInstance: logger,
    bodyLimit: BODY_LIMIT,
    // A caller's id (the edge's, a tier's) is kept only in the shape ids have: a client cannot put 8 KB or
    // a line of its own into every log line of its request (the logs are shipped and searched).
    requestIdHeader: false,
    genReqId: requestId,
    // One access line per request, written below without query strings (they can carry tokens).
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    requestTimeout: requestTimeoutMs,
    // Headers within the same time.
    http: httpOptions,
    ...(options.front
      ? {
          serverFactory: (fastifyHandler: (req: IncomingMessage, res: ServerResponse) => void) => {
            const server = createServer(httpOptions, (req, res) => {
              if (!front?.(req, res)) fastifyHandler(req, res);
            });
            server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
            return server;
          },
        }
      : {}),
    clientErrorHandler: answerClientError,
    // A URL Fastify cannot decode (`/%%`) is answered in our form, not echoed back. No hook runs for it,
    // hence the headers here.
    frameworkErrors: (_error, request, reply) => {
      void (reply as FastifyReply)
        .code(400)
        .headers({
          [REQUEST_ID_HEADER]: request.id,
          'x-content-type-options': 'nosniff',
          'x-frame-options': 'DENY',
          'referrer-policy': 'strict-origin-when-cross-origin',
        })
        .type('text/plain')
        .send(plainBody(400, 'malformed URL'));
    },
  });

  // Keep the raw body: tier signatures cover it, and the router forwards it unchanged.
  app.removeAllContentTypeParsers();
  if (options.parseBodies !== false) {
    app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body: Buffer, done) => {
      request.rawBody = body;
      if (body.length === 0) {
        done(null, {});
        return;
      }
      try {
        done(null, JSON.parse(body.toString('utf8')));
      } catch {
        done(new ServiceError('bad-request', 'invalid JSON body'), undefined);
      }
    });
    app.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'buffer' },
      (request, body: Buffer, done) => {
        request.rawBody = body;
        done(null, Object.fromEntries(new URLSearchParams(body.toString('utf8'))));
      },
    );
  }
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (request, body: Buffer, done) => {
    request.rawBody = body;
    done(null, undefined);
  });

  const lag = options.lagMonitor ?? monitorEventLoopLag({ limitMs: options.maxEventLoopLagMs ?? 0 });
  app.addHook('onClose', () => {
    lag.stop();
  });

  // One histogram child per route, method and status, looked up by a string: cheaper than labels({…}).
  const timers = new Map<string, { observe(seconds: number): void }>();
  const requestTimer = (route: string, method: string, status: number) => {
    const key = `${route}\n${method}\n${status}`;
    let timer = timers.get(key);
    if (!timer) {
      timer = metrics.requests.labels({ route, method, status: String(status) });
      timers.set(key, timer);
    }
    return timer;
  };

  const deadlineMs = options.deadlineMs ?? REQUEST_DEADLINE_MS;
  app.decorateRequest('deadline', 0);
  // Callback style on the hot path: an async hook costs a promise per request.
  app.addHook('onRequest', (request, reply, done) => {
    // Only a signed tier call may bring its caller's deadline; the public router (and the edge) starts the clock.
    const header =
      options.callerKeys && !fromEdge(request.raw) ? request.headers[DEADLINE_HEADER] : undefined;
    const now = Date.now();
    request.deadline = deadlineOf(header, now, deadlineMs);
    if (isInfrastructure(request.url)) {
      done();
      return;
    }
    metrics.eventLoopLag.set(lag.lag() / 1000);
    if (request.deadline <= now) {
      void reply.code(503).type('text/plain').send(plainBody(503, 'request deadline passed'));
      return;
    }
    if (!neverShed(request.url) && lag.shouldShed()) {
      metrics.shed.inc();
      void reply.code(503).type('text/plain').send(plainBody(503, 'server is too busy'));
      return;
    }
    done();
  });
  // The handler and all it starts (bcrypt queue, tier calls) see the deadline; after body parsing, whose
  // stream callbacks would lose an async context entered earlier.
  if (options.deadlineContext === true) {
    app.addHook('preHandler', (request, _reply, done) => {
      withDeadline(request.deadline, done);
    });
  }

  const gate = options.callerKeys ? createTierGate(options.tier as Tier, options.callerKeys) : undefined;
  if (gate) {
    app.addHook('preHandler', (request: FastifyRequest, _reply, done) => {
      if (isInfrastructure(request.url)) {
        done();
        return;
      }
      // The edge proved itself once per connection, with its certificate; its paths are checked there.
      if (fromEdge(request.raw)) {
        request.caller = 'edge';
        done();
        return;
      }
      request.caller = gate.check({
        method: request.method,
        url: request.url,
        body: request.rawBody,
        headers: request.headers,
      });
      done();
    });
  }

  // The headers every answer carries; a tier's own (framing, retry-after) win.
  const fixedHeaders: [string, string][] = [
    ['x-content-type-options', 'nosniff'],
    ['referrer-policy', 'strict-origin-when-cross-origin'],
    ...(options.https
      ? [['strict-transport-security', 'max-age=10886400; includeSubDomains'] as [string, string]]
      : []),
  ];
  const denyFraming = options.denyFraming !== false;
  app.addHook('onSend', (request, reply, payload, done) => {
    reply.header(REQUEST_ID_HEADER, request.id);
    if (reply.statusCode === 503 && !reply.hasHeader('retry-after'))
      reply.header('retry-after', String(RETRY_AFTER_S));
    for (const [name, value] of fixedHeaders) reply.header(name, value);
    if (denyFraming && !reply.hasHeader('x-frame-options')) reply.header('x-frame-options', 'DENY');
    done(null, payload);
  });

  const accessLine = (method: string, url: string, status: number, ms: number) => ({
    method,
    path: url.split('?', 1)[0],
    status,
    ms: Math.round(ms),
  });
  app.addHook('onResponse', (request, reply, done) => {
    if (!isInfrastructure(request.url))
      request.log.info(
        accessLine(request.method, request.url, reply.statusCode, reply.elapsedTime),
        'request',
      );
    requestTimer(request.routeOptions.url ?? 'unmatched', request.method, reply.statusCode).observe(
      reply.elapsedTime / 1000,
    );
    done();
  });

  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  if (options.front) {
    front = options.front(
      createFrontContext({
        logger,
        metrics,
        bodyLimit: BODY_LIMIT,
        requestId,
        deadlineOf: (request, now) =>
          deadlineOf(
            options.callerKeys && !fromEdge(request) ? request.headers[DEADLINE_HEADER] : undefined,
            now,
            deadlineMs,
          ),
        refusal(url) {
          if (closing) return 'server is shutting down';
          if (isInfrastructure(url)) return undefined;
          metrics.eventLoopLag.set(lag.lag() / 1000);
          if (neverShed(url) || !lag.shouldShed()) return undefined;
          metrics.shed.inc();
          return 'server is too busy';
        },
        finishHeaders(headers, id, status) {
          headers[REQUEST_ID_HEADER] = id;
          if (status === 503 && headers['retry-after'] === undefined)
            headers['retry-after'] = String(RETRY_AFTER_S);
          for (const [name, value] of fixedHeaders) headers[name] = value;
          if (denyFraming && headers['x-frame-options'] === undefined) headers['x-frame-options'] = 'DENY';
        },
        done(id, route, method, url, status, ms) {
          // A child logger per request would cost more than the line: the same fields, reqId first.
          if (!isInfrastructure(url) && logger.isLevelEnabled('info'))
            logger.info({ reqId: id, ...accessLine(method, url, status, ms) }, 'request');
          requestTimer(route, method, status).observe(ms / 1000);
        },
        authenticate(request, body) {
          if (fromEdge(request)) return 'edge';
          if (!gate) throw new Error('a front handler asked for the caller of a public tier');
          return gate.check({
            method: request.method ?? 'GET',
            url: request.url ?? '/',
            body,
            headers: request.headers,
          });
        },
      }),
    );
  }

  app.setErrorHandler(async (error: unknown, request, reply) => {
    if (error instanceof ServiceError) {
      if (error.status >= 500) request.log.warn({ code: error.code }, error.reason);
      return reply.code(error.status).type('text/plain').send(plainBody(error.status, error.reason));
    }
    const fastifyError = error as { statusCode?: number; code?: string; message?: string };
    const status = fastifyError.statusCode;
    if (status !== undefined && status >= 400 && status < 500) {
      const reason =
        fastifyError.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
          ? 'request body too large'
          : (fastifyError.message ?? 'bad request');
      return reply.code(status).type('text/plain').send(plainBody(status, reason));
    }
    request.log.error({ err: error }, 'unhandled error');
    return reply.code(500).type('text/plain').send(plainBody(500, 'internal error'));
  });

  app.setNotFoundHandler(async (_request, reply) =>
    reply.code(404).type('text/plain').send(plainBody(404, 'no such resource')),
  );

  app.get('/__heartbeat__', async (request, reply) => {
    const deep = Object.hasOwn(request.query as object, 'deep');
    const checks = deep ? Object.entries(options.healthChecks ?? {}) : [];
    const failures: string[] = [];
    await Promise.all(
      checks.map(async ([name, check]) => {
        try {
          await withTimeout(check, HEARTBEAT_TIMEOUT_MS);
        } catch (err) {
          failures.push(`${name}: ${err instanceof Error ? err.message : String(err)}`);
        }
      }),
    );
    reply.type('text/plain');
    if (failures.length > 0) return reply.code(500).send(`bad\n${failures.sort().join('\n')}\n`);
    return 'ok';
  });

  app.get('/metrics', async (_request, reply) => {
    reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  const handle = (request: IncomingMessage, response: ServerResponse) => {
    if (!front?.(request, response)) app.routing(request, response);
  };
  return { app, metrics, logger, handle };
}
