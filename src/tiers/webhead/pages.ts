/**
 * The webhead's routes outside the wsapi catalogue (reference/persona.md §2.4): our support document, the
 * deprecated `/pk`, and the development-only
 * routes (fake verification, the mailbox).
 */
import { isEmail, supportDocumentFor } from '../../browserid/index.ts';
import { DatabaseUnavailableError } from '../../db/read.ts';
import type { TierFastify } from '../../http/app.ts';
import { ServiceError } from '../../http/errors.ts';
import { readMailbox, type MailboxEntry } from '../../mailbox/index.ts';
import type { Runtime } from './runtime.ts';

/**
 * The original's 10 s. Our verifier holds our key locally and never fetches this; other verifiers do, and
 * a short life lets a rotated domain key take effect at once. The document is tiny and static, so the
 * extra fetches cost nothing worth a longer life.
 */
export const SUPPORT_DOCUMENT_CACHE_CONTROL = 'public, max-age=10';

/** Plain paths: Mozilla's verifiers (browserid-local-verify) refuse a fragment such as `/auth#native`. */
export const OUR_PATHS = { authentication: '/auth', provisioning: '/provision' } as const;

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function mailboxPage(entries: readonly MailboxEntry[]): string {
  const items = entries.map(
    (m) =>
      `<li><b>${escapeHtml(m.subject)}</b> to ${escapeHtml(m.to)} at ${escapeHtml(new Date(m.sentAt).toISOString())}` +
      `<br><a href="${escapeHtml(m.link)}">${escapeHtml(m.link)}</a></li>`,
  );
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Development mailbox</title></head>
<body>
<h1>Development mailbox</h1>
<p>Mail the service would have sent, newest first. Development only.</p>
<ul>
${items.length === 0 ? '<li>(empty)</li>' : items.join('\n')}
</ul>
</body>
</html>
`;
}

export function registerPages(app: TierFastify, rt: Runtime): void {
  const ours = supportDocumentFor(rt.deps.domainPublicKey, OUR_PATHS);
  const bridges = new Map(
    Object.entries(rt.deps.proxyIdps).map(([domain, bridge]) => [domain.toLowerCase(), bridge]),
  );

  app.get('/.well-known/browserid', async (request, reply) => {
    const { domain } = request.query as { domain?: unknown };
    const bridge = typeof domain === 'string' ? bridges.get(domain.toLowerCase()) : undefined;
    // Verifiers ask us about a bridged domain with ?domain=; delegation sends them to its bridge.
    reply.header('cache-control', SUPPORT_DOCUMENT_CACHE_CONTROL);
    return bridge === undefined ? ours : { authority: bridge };
  });

  app.get('/pk', async (_request, reply) => {
    reply.header('cache-control', SUPPORT_DOCUMENT_CACHE_CONTROL);
    return rt.deps.domainPublicKey.json;
  });

  if (rt.deps.fakeVerification === true) {
    // SPEC §4.9: test-only; the configuration refuses it in production.
    app.get('/wsapi/fake_verification', async (request, reply) => {
      reply.header('cache-control', 'no-cache, max-age=0');
      const { email } = request.query as { email?: unknown };
      if (!isEmail(email)) throw new ServiceError('bad-request', 'email: not a valid email address');
      let token: string | undefined;
      try {
        token = await rt.reader.verificationSecretForEmail(email);
      } catch (err) {
        if (err instanceof DatabaseUnavailableError)
          throw new ServiceError('database-unavailable', 'database unavailable');
        throw err;
      }
      if (token === undefined)
        throw new ServiceError('bad-request', 'no pending verification for that email');
      return reply.type('text/plain').send(token);
    });
  }

  const mailboxDir = rt.deps.devMailboxDir;
  if (mailboxDir !== undefined) {
    const read = (log: TierFastify['log']): MailboxEntry[] => {
      try {
        return readMailbox(mailboxDir);
      } catch (err) {
        log.warn({ why: err instanceof Error ? err.message : String(err) }, 'development mailbox unreadable');
        return [];
      }
    };
    app.get('/__mailbox__', async (request, reply) => {
      reply.header('cache-control', 'no-store');
      return reply.type('text/html; charset=utf-8').send(mailboxPage(read(request.log)));
    });
    app.get('/__mailbox__.json', async (request, reply) => {
      reply.header('cache-control', 'no-store');
      // An object, not a bare array (JSON hijacking, persona #217).
      return { messages: read(request.log) };
    });
  }
}
