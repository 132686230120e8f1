/**
 * The loadgen's own SMTP sink: the deployment under test sends its verification mail here, and the
 * simulated users follow the links in it. A minimal SMTP receiver (RFC 5321: EHLO/HELO, MAIL, RCPT, DATA,
 * RSET, NOOP, QUIT) on node:net, cheap enough that the load generator is never the bottleneck.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface MailLink {
  /** The link as the mail shows it, e.g. `https://login.example/verify_email_address?token=…`. */
  readonly url: string;
  readonly token: string;
}

export interface MailSink {
  readonly url: string;
  /** Messages received so far. */
  readonly received: number;
  /** The link in the next mail to `to` (one already received counts). */
  linkFor(to: string, timeoutMs?: number): Promise<MailLink>;
  /** Forgets waiting and unclaimed mail (between runs). */
  clear(): void;
  close(): Promise<void>;
}

/** Undoes quoted-printable (soft breaks and =XX) and base64 bodies enough to find the link. */
export function decodeBody(raw: string): string {
  const qp = raw
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  const base64 = [...raw.matchAll(/\r?\n\r?\n([A-Za-z0-9+/=\r\n]{40,})/g)]
    .map((m) => Buffer.from((m[1] ?? '').replace(/\s+/g, ''), 'base64').toString('utf8'))
    .join('\n');
  return `${qp}\n${base64}`;
}

const LINK = /(https?:\/\/[^\s"'<>]+[?&]token=([A-Za-z0-9]{48}))/;

export function linkIn(raw: string): MailLink | undefined {
  const match = LINK.exec(decodeBody(raw));
  return match?.[1] && match[2] ? { url: match[1], token: match[2] } : undefined;
}

export async function startMailSink(options: { host?: string; port?: number } = {}): Promise<MailSink> {
  const unclaimed = new Map<string, MailLink[]>();
  const waiters = new Map<string, ((link: MailLink) => void)[]>();
  let received = 0;

  const deliver = (recipients: string[], data: string) => {
    received++;
    const link = linkIn(data);
    if (!link) return;
    for (const to of recipients) {
      const waiting = waiters.get(to);
      const waiter = waiting?.shift();
      if (waiting?.length === 0) waiters.delete(to);
      if (waiter) waiter(link);
      else unclaimed.set(to, [...(unclaimed.get(to) ?? []), link]);
    }
  };

  const sockets = new Set<Socket>();
  const serve = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.setEncoding('latin1');
    let buffer = '';
    let inData = false;
    let data: string[] = [];
    let recipients: string[] = [];
    const reply = (line: string) => socket.write(`${line}\r\n`);
    reply('220 persona-loadgen ESMTP');
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      for (;;) {
        const end = buffer.indexOf('\r\n');
        if (end < 0) return;
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (inData) {
          if (line === '.') {
            inData = false;
            deliver(recipients, data.join('\r\n'));
            data = [];
            recipients = [];
            reply('250 OK: queued');
          } else data.push(line.startsWith('..') ? line.slice(1) : line);
          continue;
        }
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO') reply('250-persona-loadgen\r\n250-8BITMIME\r\n250 SMTPUTF8');
        else if (verb === 'HELO') reply('250 persona-loadgen');
        else if (verb === 'MAIL') {
          recipients = [];
          reply('250 OK');
        } else if (verb === 'RCPT') {
          const to = /<([^>]*)>/.exec(line)?.[1]?.toLowerCase();
          if (to) recipients.push(to);
          reply(to ? '250 OK' : '501 bad recipient');
        } else if (verb === 'DATA') {
          inData = true;
          reply('354 end with <CRLF>.<CRLF>');
        } else if (verb === 'RSET') {
          recipients = [];
          reply('250 OK');
        } else if (verb === 'NOOP') reply('250 OK');
        else if (verb === 'QUIT') {
          reply('221 bye');
          socket.end();
        } else reply('502 not implemented');
      }
    });
  };

  const server: Server = createServer(serve);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve);
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.address.includes(':') ? `[${address.address}]` : address.address;
  return {
    url: `smtp://${shownHost}:${address.port}`,
    get received() {
      return received;
    },
    linkFor(to, timeoutMs = 10_000) {
      const address = to.toLowerCase();
      const queued = unclaimed.get(address);
      const link = queued?.shift();
      if (queued?.length === 0) unclaimed.delete(address);
      if (link) return Promise.resolve(link);
      return new Promise((resolve, reject) => {
        const waiter = (l: MailLink) => {
          clearTimeout(timer);
          resolve(l);
        };
        const timer = setTimeout(() => {
          const list = waiters.get(address) ?? [];
          list.splice(list.indexOf(waiter), 1);
          if (list.length === 0) waiters.delete(address);
          reject(new Error(`no mail to ${to} within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.set(address, [...(waiters.get(address) ?? []), waiter]);
      });
    },
    clear() {
      unclaimed.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        // Pooled SMTP connections from the deployment would hold the server open.
        for (const socket of sockets) socket.destroy();
      }),
  };
}
