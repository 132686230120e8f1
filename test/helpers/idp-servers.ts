/**
 * Real HTTPS identity providers for discovery tests: a throwaway CA and server certificate made with the
 * openssl CLI, one HTTPS server answering for many test domains (by Host), and an undici Agent that sends
 * those domains to the local server, so no lookup ever leaves the machine.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createTcpServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, buildConnector } from 'undici';

export interface TestPki {
  readonly dir: string;
  /** PEM of the CA that signed the server certificate: what clients must trust. */
  readonly ca: string;
  readonly key: string;
  readonly cert: string;
  remove(): void;
}

/** A CA and one server certificate valid for `names` (subjectAltName), in a fresh temp dir. */
export function makeTestPki(names: readonly string[]): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'persona-pki-'));
  const at = (file: string) => join(dir, file);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  // EC keys: generated in milliseconds, unlike RSA.
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    at('ca.key'),
    '-out',
    at('ca.crt'),
    '-days',
    '2',
    '-subj',
    '/CN=persona test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  );
  openssl(
    'req',
    ...ec,
    '-keyout',
    at('server.key'),
    '-out',
    at('server.csr'),
    '-subj',
    `/CN=${names[0] ?? 'idp.test'}`,
  );
  writeFileSync(
    at('server.ext'),
    [
      'basicConstraints=CA:FALSE',
      'keyUsage=digitalSignature',
      'extendedKeyUsage=serverAuth',
      `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}`,
    ].join('\n'),
  );
  openssl(
    'x509',
    '-req',
    '-in',
    at('server.csr'),
    '-CA',
    at('ca.crt'),
    '-CAkey',
    at('ca.key'),
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    at('server.ext'),
    '-out',
    at('server.crt'),
  );
  return {
    dir,
    ca: readFileSync(at('ca.crt'), 'utf8'),
    key: readFileSync(at('server.key'), 'utf8'),
    cert: readFileSync(at('server.crt'), 'utf8'),
    remove: () => {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export interface SeenRequest {
  readonly domain: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
}

export interface IdpServer {
  readonly host: string;
  readonly port: number;
  /** Sets how `domain` answers (matched on the Host header); unknown domains get 404. */
  on(domain: string, handler: Handler): void;
  /** Shorthand: `domain` answers 200 with `doc` as JSON and these extra headers. */
  serve(domain: string, doc: unknown, headers?: Record<string, string>): void;
  /** Requests that reached `domain` so far. */
  hits(domain: string): number;
  readonly requests: readonly SeenRequest[];
  close(): Promise<void>;
}

/** Answers with JSON; content type and status can be overridden by `headers`/`status`. */
export function json(doc: unknown, headers: Record<string, string> = {}, status = 200): Handler {
  return (_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(typeof doc === 'string' ? doc : JSON.stringify(doc));
  };
}

/** Never answers: the request stays open until the client gives up or the server closes. */
export const hang: Handler = () => undefined;

/** An HTTPS server with the test certificate on host:port (port 0 = any free one). */
export async function startIdpServer(
  pki: TestPki,
  { host = '127.0.0.1', port = 0 }: { host?: string; port?: number } = {},
): Promise<IdpServer> {
  const handlers = new Map<string, Handler>();
  const requests: SeenRequest[] = [];
  const server = createHttpsServer({ key: pki.key, cert: pki.cert }, (req, res) => {
    const domain = (req.headers.host ?? '').replace(/:\d+$/, '').toLowerCase();
    requests.push({ domain, url: req.url ?? '', headers: req.headers });
    const handler = handlers.get(domain);
    if (handler) handler(req, res);
    else res.writeHead(404, { 'content-type': 'text/plain' }).end('no such test domain');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('server has no port');
  return {
    host,
    port: address.port,
    on: (domain, handler) => handlers.set(domain, handler),
    serve: (domain, doc, headers) => handlers.set(domain, json(doc, headers)),
    hits: (domain) => requests.filter((r) => r.domain === domain).length,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections(); // hung requests included
      }),
  };
}

/** A TCP server that accepts and never says a word: a TLS handshake with it never completes. */
export async function startSilentServer(
  host = '127.0.0.1',
): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createTcpServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('server has no port');
  return {
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => {
          resolve();
        });
      }),
  };
}

/**
 * An undici Agent trusting `ca` that connects test domains to local ports: `route(hostname)` gives the
 * loopback port (and address) to use. TLS still names the test domain (SNI and certificate check), so the
 * client does exactly what it would against the real host. Unrouted names fail; nothing reaches DNS.
 */
export function loopbackAgent(
  ca: string,
  route: (hostname: string) => { host?: string; port: number } | undefined,
): Agent {
  const connector = buildConnector({ ca, timeout: 5000 });
  return new Agent({
    connect: (options, callback) => {
      const target = route(options.hostname);
      if (!target) {
        callback(new Error(`no test route for ${options.hostname}`), null);
        return;
      }
      connector(
        {
          ...options,
          hostname: target.host ?? '127.0.0.1',
          port: String(target.port),
          servername: options.servername ?? options.hostname,
        },
        callback,
      );
    },
  });
}
