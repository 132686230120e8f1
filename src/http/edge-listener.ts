/**
 * A tier's edge listener (SPEC §2, docs/edge.md): an https server beside the tier's own, answering only a
 * client that presents the edge's certificate from the deployment's tier CA. The certificate is checked
 * once per connection; nginx keeps its connections alive, so a request costs no more than one from the
 * router. Requests on it are the tier app's own (same limits, shedding, request ids, logs), from the
 * caller `edge`, and must be ones the public routes send to this tier: the edge is trusted with the
 * client's address (X-Forwarded-For, which nginx sets), not with internal ops or another tier's paths.
 */
import { createServer, type Server } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { edgeMayCall, type Tier } from '../topology/index.ts';
import {
  answerClientError,
  EDGE_SOCKET,
  fromEdge,
  REQUEST_TIMEOUT_MS,
  type TierApp,
} from './app.ts';
import { ServiceError } from './errors.ts';
import { EDGE_CERT_NAME, type EdgeListenerTls } from './tier-tls.ts';

/** Which tier the public routes send a request to (the router's decision), or why none. */
export type PublicRoute = (method: string, url: string) => { tier: Tier } | { error: ServiceError };

export interface EdgeListenerOptions {
  readonly tier: Tier;
  readonly tls: EdgeListenerTls;
  readonly route: PublicRoute;
  /** Longer than nginx keeps an idle upstream connection (30 s), so nginx never reuses one we are closing. */
  readonly keepAliveTimeoutMs?: number;
}

export interface EdgeListener {
  listen(host: string, port: number): Promise<string>;
  close(): Promise<void>;
}

/** Prepares the listener; call before the app is ready (it adds the route check to the app's hooks). */
export function attachEdgeListener(tierApp: TierApp, options: EdgeListenerOptions): EdgeListener {
  const { app } = tierApp;
  if (!edgeMayCall(options.tier)) throw new Error(`the topology does not let the edge call ${options.tier}`);
  app.addHook('onRequest', (request, _reply, done) => {
    if (!fromEdge(request.raw) || request.url.startsWith('/__heartbeat__')) {
      done();
      return;
    }
    const target = options.route(request.method, request.url);
    // The router's own answers (404 for internal ops, 400 for unknown ones); another tier's path is a
    // misrouting edge, answered as a path nobody serves.
    if ('error' in target) done(target.error);
    else if (target.tier !== options.tier) done(new ServiceError('not-found', 'no such resource'));
    else done();
  });

  const server: Server = createServer(
    {
      key: options.tls.key,
      cert: options.tls.cert,
      ca: options.tls.ca,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
      keepAliveTimeout: options.keepAliveTimeoutMs ?? 75_000,
      requestTimeout: REQUEST_TIMEOUT_MS,
      headersTimeout: REQUEST_TIMEOUT_MS,
    },
    (req, res) => {
      if (!fromEdge(req)) {
        res.writeHead(403, { connection: 'close' }).end();
        return;
      }
      // What the public routes send to this tier may take its front path (front.ts); the rest goes to
      // Fastify, where the hook above refuses it.
      const target = options.route(req.method ?? 'GET', req.url ?? '/');
      if ('tier' in target && target.tier === options.tier) tierApp.handle(req, res);
      else app.routing(req, res);
    },
  );
  // Signed by the tier CA is not enough: the certificate must name the edge (a tier's server
  // certificate is from the same CA).
  server.on('secureConnection', (socket: TLSSocket) => {
    const peer = socket.getPeerCertificate();
    if (!socket.authorized || peer.subject.CN !== EDGE_CERT_NAME) {
      socket.destroy();
      return;
    }
    (socket as TLSSocket & { [EDGE_SOCKET]?: boolean })[EDGE_SOCKET] = true;
  });
  server.on('clientError', answerClientError);

  return {
    listen: (host, port) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const address = server.address();
          const bound = typeof address === 'object' && address ? address.port : port;
          resolve(`https://${host.includes(':') ? `[${host}]` : host}:${bound}`);
        });
      }),
    close: () =>
      new Promise((resolve) => {
        if (!server.listening) {
          resolve();
          return;
        }
        server.close(() => {
          resolve();
        });
        server.closeIdleConnections();
      }),
  };
}
