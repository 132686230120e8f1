/**
 * The development mailbox: without SMTP the mailer (src/mail) keeps each message here as a file, and the
 * webhead lists them at /__mailbox__. Its own module so the webhead can read it without loading mail code.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface MailboxEntry {
  /** The mail's kind (src/mail/templates.ts MailKind). */
  readonly kind: string;
  readonly to: string;
  readonly subject: string;
  readonly link: string;
  readonly text: string;
  readonly sentAt: number;
}

/** Keeps one message; `tag` makes the file name unique among messages of the same millisecond. */
export function keepInMailbox(dir: string, entry: MailboxEntry, tag: string): void {
  writeFileSync(join(dir, `${entry.sentAt}-${tag}.json`), JSON.stringify(entry), { mode: 0o600 });
}

/** The development mailbox, newest first. */
export function readMailbox(dir: string, limit = 50): MailboxEntry[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.json'));
  } catch {
    return [];
  }
  return names
    .sort()
    .reverse()
    .slice(0, limit)
    .map((name) => JSON.parse(readFileSync(join(dir, name), 'utf8')) as MailboxEntry);
}
