/**
 * Outgoing mail (SPEC §2: only the dbwriter sends). With an SMTP URL, nodemailer delivers; without one
 * (development), each message is printed to the console and kept as a file for the development mailbox (src/mailbox).
 * `send` is one attempt: the dbwriter's outbox retries (SPEC §4.13).
 */
import { mkdirSync } from 'node:fs';
import nodemailer from 'nodemailer';
import type { Logger } from 'pino';
import { keepInMailbox, type MailboxEntry } from '../mailbox/index.ts';
import { LANDING_PAGES, renderMail, type MailKind } from './templates.ts';

export interface VerificationMail {
  readonly kind: MailKind;
  readonly to: string;
  /** The token the landing page completes. */
  readonly token: string;
  /** The relying party's origin; the message names it by its host when the site gave no name. */
  readonly site: string;
  /** The name the site gave itself (`siteName`), which the message names it by. */
  readonly siteName?: string;
  /** The site's colour (`#abc` or `#aabbcc`), heading the HTML. */
  readonly backgroundColor?: string;
  /** The site's https logo, heading the HTML. */
  readonly siteLogo?: string;
  /** The person's language, negotiated from Accept-Language; English when absent. */
  readonly locale?: string;
}

/** What a mail says about its site and its reader, beside its kind, address and token. */
export type MailDetails = Omit<VerificationMail, 'kind' | 'to' | 'token'>;

/** The bridge's alias fallback (docs/bridge.md): a one-time code for the address typed. */
export interface AliasCodeMail {
  readonly to: string;
  readonly code: string;
  /** The mail domain whose provider returned another address. */
  readonly provider: string;
}

export interface Mailer {
  send(mail: VerificationMail): Promise<void>;
  /** One attempt; absent on mailers that send only verification mail. */
  sendAliasCode?(mail: AliasCodeMail): Promise<void>;
  close(): void;
}

export function aliasCodeContent(mail: AliasCodeMail): { subject: string; text: string } {
  return {
    subject: `Your Persona code: ${mail.code}`,
    text: `Someone, probably you, is signing in with ${mail.to} through ${mail.provider}.\n\nYour code: ${mail.code}\n\nIt works for 10 minutes. If this was not you, ignore this mail: nothing happens without the code.\n`,
  };
}

export interface MailerOptions {
  readonly publicUrl: string;
  readonly from: string;
  /** `smtp://user:pass@host:port`; empty means the development mailbox. */
  readonly smtpUrl: string;
  /** Where the development mailbox keeps messages. */
  readonly mailboxDir: string;
  readonly logger?: Logger;
  /** Called once per message sent, for metrics. */
  readonly onSent?: (kind: MailKind) => void;
}

export function linkFor(publicUrl: string, kind: MailKind, token: string): string {
  return `${publicUrl.replace(/\/$/, '')}${LANDING_PAGES[kind]}?token=${encodeURIComponent(token)}`;
}

const hostOf = (origin: string): string => {
  try {
    return new URL(origin).host;
  } catch {
    return origin;
  }
};

export function createMailer(options: MailerOptions): Mailer {
  // One attempt stays well inside the outbox lease (src/tiers/dbwriter/outbox.ts: 60 s by default), so
  // another dbwriter does not retry a mail this one is still sending; nodemailer's defaults wait minutes.
  const transport = options.smtpUrl
    ? nodemailer.createTransport({
        url: options.smtpUrl,
        dnsTimeout: 5_000,
        connectionTimeout: 10_000,
        greetingTimeout: 10_000,
        socketTimeout: 20_000,
      })
    : undefined;
  if (!transport) mkdirSync(options.mailboxDir, { recursive: true, mode: 0o700 });
  return {
    async send(mail) {
      const link = linkFor(options.publicUrl, mail.kind, mail.token);
      const content = renderMail(mail.kind, {
        email: mail.to,
        site: mail.siteName ?? hostOf(mail.site),
        link,
        backgroundColor: mail.backgroundColor,
        siteLogo: mail.siteLogo,
        locale: mail.locale,
      });
      if (transport) {
        await transport.sendMail({
          from: options.from,
          to: mail.to,
          subject: content.subject,
          text: content.text,
          html: content.html,
          // The original's headers: the link and the site, for mail tooling and tests.
          headers: { 'X-BrowserID-VerificationURL': link, 'X-BrowserID-RelyingParty': mail.site },
        });
      } else {
        const entry: MailboxEntry = {
          kind: mail.kind,
          to: mail.to,
          subject: content.subject,
          link,
          text: content.text,
          sentAt: Date.now(),
        };
        keepInMailbox(options.mailboxDir, entry, mail.token.slice(0, 8));
        // Development only: the link is the point of printing it.
        process.stdout.write(`\n  mail to ${mail.to}: ${content.subject}\n  ${link}\n\n`);
      }
      options.logger?.info({ event: 'mail_sent', kind: mail.kind }, 'verification mail sent');
      options.onSent?.(mail.kind);
    },
    async sendAliasCode(mail) {
      const content = aliasCodeContent(mail);
      if (transport) {
        await transport.sendMail({ from: options.from, to: mail.to, subject: content.subject, text: content.text });
      } else {
        keepInMailbox(
          options.mailboxDir,
          { kind: 'alias-code', to: mail.to, subject: content.subject, link: '', text: content.text, sentAt: Date.now() },
          `code-${Date.now().toString(36)}`,
        );
        process.stdout.write(`\n  mail to ${mail.to}: ${content.subject}\n\n`);
      }
      // Never the code itself.
      options.logger?.info({ event: 'mail_sent', kind: 'alias-code' }, 'alias code mail sent');
    },
    close() {
      transport?.close();
    },
  };
}
