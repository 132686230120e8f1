/** An in-process SMTP server catching real mail for tests (smtp-server + mailparser). */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface SmtpSinkOptions {
  /** Listen here (default: any free port), e.g. to come up where a stack was told SMTP is. */
  readonly port?: number;
  /** Refuse the first this many messages with a temporary error (451) at MAIL FROM. */
  readonly refuseFirst?: number;
  /** Hold the first message at MAIL FROM this long before going on, so its sender can die meanwhile. */
  readonly holdFirstMs?: number;
}

export interface SmtpSink {
  readonly url: string;
  readonly messages: ParsedMail[];
  /** Messages begun (MAIL FROM), refused and held ones included. */
  readonly attempts: number;
  /** The next message to `to` (one already caught counts), within `timeoutMs`. */
  waitFor(to: string, timeoutMs?: number): Promise<ParsedMail>;
  close(): Promise<void>;
}

const recipients = (mail: ParsedMail): string[] =>
  [mail.to ?? []].flat().flatMap((a) => a.value.map((v) => (v.address ?? '').toLowerCase()));

export async function startSmtpSink(options: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const messages: ParsedMail[] = [];
  let attempts = 0;
  const waiters: { to: string; resolve: (m: ParsedMail) => void }[] = [];
  const taken = new Set<ParsedMail>();
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onMailFrom(_address, _session, callback) {
      attempts++;
      if (attempts <= (options.refuseFirst ?? 0)) {
        callback(Object.assign(new Error('try again later'), { responseCode: 451 }));
        return;
      }
      if (attempts === 1 && options.holdFirstMs !== undefined) setTimeout(callback, options.holdFirstMs);
      else callback();
    },
    onData(stream, _session, callback) {
      simpleParser(stream)
        .then((mail) => {
          messages.push(mail);
          const waiter = waiters.find((w) => recipients(mail).includes(w.to));
          if (waiter) {
            taken.add(mail);
            waiters.splice(waiters.indexOf(waiter), 1);
            waiter.resolve(mail);
          }
          callback();
        })
        .catch((err: unknown) => {
          callback(err as Error);
        });
    },
  });
  server.listen(options.port ?? 0, '127.0.0.1');
  await once(server.server, 'listening');
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    messages,
    get attempts() {
      return attempts;
    },
    waitFor(to, timeoutMs = 5000) {
      const address = to.toLowerCase();
      const caught = messages.find((m) => !taken.has(m) && recipients(m).includes(address));
      if (caught) {
        taken.add(caught);
        return Promise.resolve(caught);
      }
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(new Error(`no mail to ${to} within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.push({
          to: address,
          resolve: (m) => {
            clearTimeout(timer);
            resolve(m);
          },
        });
      });
    },
    close: () =>
      new Promise((resolve) => {
        server.close(() => {
          resolve();
        });
      }),
  };
}
