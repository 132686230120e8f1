/**
 * The bridge (SPEC §2, BigTent's successor; docs/bridge.md): a primary IdP for mail domains whose
 * providers speak OpenID Connect, not BrowserID. It serves a support document, provisioning and
 * authentication pages the dialog's primary flow already understands, signs a person in at the provider
 * and certifies only what the provider proved: the address typed, returned with its verified claim `true`,
 * compared case-insensitively. Another address back (an alias) is proven by a mailed code instead.
 * Certificates come from the bridge's own signer (the `bridgesigner` tier); state lives in sealed cookies.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import type { Logger } from 'pino';
import { Counter } from 'prom-client';
import type { Dispatcher } from 'undici';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { emailDomain, isEmail, supportDocumentFor, type PublicKey } from '../../browserid/index.ts';
import { createTierApp, REQUEST_ID_HEADER, type TierApp } from '../../http/app.ts';
import type { Upstream } from '../../http/upstream.ts';
import {
  CODE_MAILS_WINDOW_MS,
  CODE_TTL_MS,
  codeDigest,
  MAX_CODE_MAILS,
  MAX_TRIES,
  newCode,
  RESEND_AFTER_MS,
  sameDigest,
  TRIES_WINDOW_MS,
  WindowCounter,
} from './alias-codes.ts';
import { BRIDGE_CSS, BRIDGE_JS, cancelButton, card, escapeHtml, page, type PageName } from './pages.ts';
import {
  createProvider,
  ProviderError,
  type Provider,
  type ProviderSettings,
  type Transaction,
} from './providers.ts';
import { createSealedCookie } from './sealed-cookie.ts';

export const PROVISIONING_PATH = '/provision';
export const AUTHENTICATION_PATH = '/authenticate';
export const CALLBACK_PATH = '/oidc/callback';
/** How long a proven address stays signed in at the bridge (certificates are minutes; it re-provisions). */
export const SESSION_MS = 60 * 60_000;
/** A sign-in at the provider must come back within this. */
const TRANSACTION_MS = 10 * 60_000;
/** How long checking a code takes, right or wrong (BigTent's 1 s). */
export const CODE_CHECK_DELAY_MS = 1000;

export interface BridgeDeps {
  /** The bridge's host name: the issuer of its certificates. */
  readonly issuer: string;
  /** Its public origin: its pages and the providers' redirect URI. */
  readonly publicUrl: string;
  /** Persona's public origin: the shims come from there and only it may frame provisioning. */
  readonly personaUrl: string;
  /** The public half of the key the signer holds. */
  readonly publicKey: PublicKey;
  readonly cookieSecret: string;
  /** Mail domain → its provider. */
  readonly providers: Readonly<Record<string, ProviderSettings>>;
  /** Domains listed here (one a line) are switched off at once; read again whenever it changes. */
  readonly killSwitchFile?: string;
  /** The bridge's signer (the bridgesigner tier): `POST /wsapi/cert_key`. */
  readonly signer: Upstream;
  /** The dbwriter: mails the alias code (`send_alias_code`). */
  readonly dbwriter: Upstream;
  /** For https providers: the egress dispatcher (forward proxy, SSRF rules). */
  readonly egress: Dispatcher;
  /** Bound on each provider call, ms (default 5000). */
  readonly providerTimeoutMs?: number;
  /** Reuse of discovered provider metadata, ms (default 1 h). */
  readonly metadataCacheMs?: number;
  readonly codeCheckDelayMs?: number;
  readonly logger?: Logger;
  readonly maxEventLoopLagMs?: number;
  readonly now?: () => number;
}

interface Signed {
  readonly email: string;
}
interface Pending {
  readonly t: Transaction;
  readonly email: string;
}
interface AliasCode {
  readonly email: string;
  /** What the provider said, shown to the person. */
  readonly returned: string;
  readonly digest: string;
  readonly sentAt: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Domains listed in the kill-switch file, re-read only when its modification time changes. */
function killSwitch(file: string | undefined): () => ReadonlySet<string> {
  let seen = -1;
  let domains: ReadonlySet<string> = new Set();
  return () => {
    if (file === undefined) return domains;
    let mtime: number;
    try {
      mtime = existsSync(file) ? statSync(file).mtimeMs : 0;
    } catch {
      mtime = 0;
    }
    if (mtime !== seen) {
      seen = mtime;
      let text: string;
      try {
        text = mtime === 0 ? '' : readFileSync(file, 'utf8');
      } catch {
        text = '';
      }
      domains = new Set(
        text
          .split('\n')
          .map((line) => line.replace(/#.*/, '').trim().toLowerCase())
          .filter((line) => line !== ''),
      );
    }
    return domains;
  };
}

export function buildBridge(deps: BridgeDeps): TierApp {
  const now = deps.now ?? Date.now;
  const origin = new URL(deps.publicUrl).origin;
  const personaUrl = new URL(deps.personaUrl).origin;
  const secure = origin.startsWith('https:');
  const tierApp = createTierApp({
    tier: 'bridge',
    logger: deps.logger,
    maxEventLoopLagMs: deps.maxEventLoopLagMs,
    https: secure,
    denyFraming: false,
    healthChecks: { bridgesigner: () => deps.signer.checkHealth() },
  });
  const { app } = tierApp;
  const signIns = new Counter({
    name: 'persona_bridge_signins_total',
    help: 'Sign-ins through the bridge, by mail domain and outcome',
    labelNames: ['domain', 'outcome'],
    registers: [tierApp.metrics.registry],
  });

  const providers = new Map<string, Provider & { close(): Promise<void> }>();
  for (const [domain, settings] of Object.entries(deps.providers)) {
    providers.set(
      domain.toLowerCase(),
      createProvider(domain.toLowerCase(), settings, {
        egress: deps.egress,
        timeoutMs: deps.providerTimeoutMs ?? 5000,
        metadataCacheMs: deps.metadataCacheMs ?? 60 * 60_000,
        now,
      }),
    );
  }
  app.addHook('onClose', async () => {
    await Promise.all([...providers.values()].map((p) => p.close()));
  });
  const killed = killSwitch(deps.killSwitchFile);
  /** The provider speaking for `domain` right now, unless switched off. */
  const live = (domain: string): (Provider & { close(): Promise<void> }) | undefined => {
    const provider = providers.get(domain.toLowerCase());
    if (provider === undefined || provider.settings.disabled || killed().has(provider.domain))
      return undefined;
    return provider;
  };

  const session = createSealedCookie<Signed>({
    name: 'persona_bridge',
    secret: deps.cookieSecret,
    ttlMs: SESSION_MS,
    secure,
  });
  const pending = createSealedCookie<Pending>({
    name: 'persona_bridge_pending',
    secret: deps.cookieSecret,
    ttlMs: TRANSACTION_MS,
    secure,
  });
  const aliasCode = createSealedCookie<AliasCode>({
    name: 'persona_bridge_code',
    secret: deps.cookieSecret,
    ttlMs: CODE_TTL_MS,
    secure,
  });
  const tries = new WindowCounter(MAX_TRIES, TRIES_WINDOW_MS);
  const mails = new WindowCounter(MAX_CODE_MAILS, CODE_MAILS_WINDOW_MS);
  const codeDelay = deps.codeCheckDelayMs ?? CODE_CHECK_DELAY_MS;

  const csp = (frameAncestors: string) =>
    [
      "default-src 'none'",
      `script-src 'self' ${personaUrl}`,
      "connect-src 'self'",
      "style-src 'self'",
      "base-uri 'none'",
      "form-action 'self'",
      `frame-ancestors ${frameAncestors}`,
    ].join('; ');

  const html = (
    reply: FastifyReply,
    status: number,
    name: PageName,
    title: string,
    body: string,
    data?: Record<string, string>,
  ) =>
    reply
      .code(status)
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .header('referrer-policy', 'no-referrer')
      .header('content-security-policy', csp(name === 'provision' ? personaUrl : "'none'"))
      .headers(name === 'provision' ? {} : { 'x-frame-options': 'DENY' })
      .send(
        page({
          page: name,
          title,
          body,
          personaUrl,
          shim: name === 'provision' ? 'provisioning' : 'authentication',
          ...(data ? { data } : {}),
        }),
      );

  /** A page that says what went wrong and offers the way back to the dialog. */
  const problem = (reply: FastifyReply, status: number, heading: string, text: readonly string[]) =>
    html(reply, status, 'problem', heading, card(escapeHtml(heading), text, cancelButton()));

  const sameOriginPost = (request: FastifyRequest): boolean => {
    const given = request.headers.origin;
    return given === undefined || given === origin;
  };

  // ---- the support document, and the pages of the primary protocol ------------------------------------

  app.get('/.well-known/browserid', async (request, reply) => {
    const { domain } = request.query as { domain?: unknown };
    // Asked about a mail domain we do not (or no longer) speak for: disabled, so Persona falls back.
    const off =
      typeof domain === 'string' && domain.toLowerCase() !== deps.issuer && live(domain) === undefined;
    return reply
      .type('application/json')
      .header('cache-control', 'public, max-age=10')
      .send(
        off
          ? { disabled: true }
          : supportDocumentFor(deps.publicKey, {
              authentication: AUTHENTICATION_PATH,
              provisioning: PROVISIONING_PATH,
            }),
      );
  });

  app.get(PROVISIONING_PATH, async (_request, reply) =>
    html(reply, 200, 'provision', 'Provisioning', '<p>Provisioning for Persona.</p>'),
  );

  app.get(AUTHENTICATION_PATH, async (request, reply) => {
    const { email } = request.query as { email?: unknown };
    const domain = typeof email === 'string' && isEmail(email) ? emailDomain(email) : undefined;
    return html(
      reply,
      200,
      'authenticate',
      'Signing in',
      card(
        domain === undefined ? 'Signing in…' : `Taking you to ${escapeHtml(domain)}…`,
        ['Persona asks your mail provider who you are, and certifies only the address it confirms.'],
        cancelButton('Cancel', false),
        '<div class="spinner" role="progressbar" aria-label="Loading"></div>',
      ),
    );
  });

  app.get('/authenticate/done', async (request, reply) => {
    const signed = session.read(request.headers.cookie, now());
    return html(
      reply,
      200,
      'done',
      'Signed in',
      card('Signed in', [
        signed ? `You are signed in as <strong>${escapeHtml(signed.email)}</strong>. Back to Persona…` : '',
      ]),
    );
  });

  const script = (type: string, text: string) => async (_request: FastifyRequest, reply: FastifyReply) =>
    reply.type(type).header('cache-control', 'no-cache').send(text);
  app.get('/bridge.js', script('text/javascript; charset=utf-8', BRIDGE_JS));
  app.get('/bridge.css', script('text/css; charset=utf-8', BRIDGE_CSS));

  // ---- the sign-in at the provider -----------------------------------------------------------------

  app.get('/oidc/start', async (request, reply) => {
    const { email } = request.query as { email?: unknown };
    if (!isEmail(email)) return problem(reply, 400, 'No address to sign in', ['Start again from Persona.']);
    const domain = emailDomain(email);
    const provider = live(domain);
    if (provider === undefined) {
      signIns.inc({ domain: providers.has(domain) ? domain : 'other', outcome: 'switched_off' });
      return problem(reply, 409, `Signing in with ${domain} is off`, [
        `Persona does not sign in <strong>${escapeHtml(email)}</strong> through ${escapeHtml(domain)} right now. Go back to Persona and try again: it will offer another way.`,
      ]);
    }
    try {
      const begun = await provider.begin(`${origin}${CALLBACK_PATH}`, email);
      return await reply
        .header('set-cookie', pending.issue({ t: begun.transaction, email }, now()))
        .header('cache-control', 'no-store')
        .redirect(begun.url, 303);
    } catch (err) {
      if (!(err instanceof ProviderError)) throw err;
      signIns.inc({ domain, outcome: 'provider_unavailable' });
      request.log.warn(
        { event: 'bridge_provider_unavailable', domain, detail: err.detail },
        'provider unavailable',
      );
      return problem(reply, 503, `${domain} is not answering`, [
        `Persona could not reach ${escapeHtml(domain)}'s sign-in just now. Please try again in a few minutes.`,
      ]);
    }
  });

  app.get(CALLBACK_PATH, async (request, reply) => {
    const started = pending.read(request.headers.cookie, now());
    reply.header('set-cookie', pending.clear());
    if (started === null)
      return problem(reply, 400, 'This sign-in has expired', [
        'It took too long, or it was started in another browser. Go back to Persona and try again.',
      ]);
    const domain = emailDomain(started.email);
    const provider = live(domain);
    if (provider === undefined)
      return problem(reply, 409, `Signing in with ${domain} is off`, [
        'Go back to Persona and try again: it will offer another way.',
      ]);
    let claims;
    try {
      claims = await provider.finish(new URL(request.url, origin), started.t);
    } catch (err) {
      if (!(err instanceof ProviderError)) throw err;
      signIns.inc({ domain, outcome: err.code.replace(/-/g, '_') });
      request.log.warn(
        { event: 'bridge_signin_refused', domain, reason: err.code, detail: err.detail },
        'sign-in refused',
      );
      return err.code === 'provider-unavailable'
        ? problem(reply, 503, `${domain} is not answering`, [
            `Persona could not finish signing you in with ${escapeHtml(domain)}. Please try again in a few minutes.`,
          ])
        : problem(reply, 400, 'This sign-in could not be checked', [
            `${escapeHtml(domain)}'s answer did not match the sign-in Persona started, so nothing was certified. Go back to Persona and try again.`,
          ]);
    }
    if (claims.email === undefined || !claims.verified || !isEmail(claims.email)) {
      signIns.inc({ domain, outcome: 'unverified' });
      request.log.info(
        { event: 'bridge_signin_refused', domain, reason: 'unverified' },
        'address not verified',
      );
      return problem(reply, 403, `${domain} has not verified this address`, [
        `${escapeHtml(domain)} signed you in but did not confirm that the address is verified, so Persona cannot vouch for <strong>${escapeHtml(started.email)}</strong>.`,
      ]);
    }
    // Case-insensitive, as providers treat addresses; never a variant the person did not type.
    if (claims.email.toLowerCase() === started.email.toLowerCase()) {
      signIns.inc({ domain, outcome: 'proven' });
      request.log.info({ event: 'bridge_signin', domain, via: 'provider' }, 'address proven by the provider');
      return reply
        .header('set-cookie', [pending.clear(), session.issue({ email: started.email }, now())])
        .redirect('/authenticate/done', 303);
    }
    return await sendCode(request, reply, started.email, claims.email);
  });

  // ---- the alias fallback: a code mailed to the typed address ----------------------------------------

  const codePage = (
    reply: FastifyReply,
    status: number,
    entry: Pick<AliasCode, 'email' | 'returned'>,
    error?: string,
  ) => {
    const domain = emailDomain(entry.email);
    const invalid = error === undefined ? '' : ' aria-invalid="true" aria-describedby="code-error"';
    return html(
      reply,
      status,
      'code',
      'Check your mail',
      card(
        'Check your mail',
        [
          `${escapeHtml(domain)} signed you in as <strong>${escapeHtml(entry.returned)}</strong>, not <strong>${escapeHtml(entry.email)}</strong>.`,
          `To use <strong>${escapeHtml(entry.email)}</strong>, enter the code Persona just mailed to it. It works for 10 minutes.`,
        ],
        `<form method="post" action="/code" novalidate>
<label for="code">Code from the mail</label>
<input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" maxlength="6" pattern="[0-9]{6}" required${invalid}>
${error === undefined ? '' : `<p id="code-error" class="error" role="alert">${escapeHtml(error)}</p>`}
<p class="actions"><button type="submit">Continue</button><button type="button" id="cancel" class="secondary">Cancel</button></p>
</form>
<form method="post" action="/code/resend"><p class="hint">No mail? <button type="submit" class="link">Send a new code</button></p></form>`,
      ),
    );
  };

  async function mailCode(request: FastifyRequest, email: string, code: string): Promise<boolean> {
    try {
      const res = await deps.dbwriter.call({
        method: 'POST',
        url: '/wsapi/send_alias_code',
        headers: { 'content-type': 'application/json', [REQUEST_ID_HEADER]: request.id },
        body: JSON.stringify({ email, code, provider: emailDomain(email) }),
      });
      return res.status === 200;
    } catch (err) {
      request.log.warn(
        { event: 'alias_code_not_sent', why: err instanceof Error ? err.message : 'unknown' },
        'code not sent',
      );
      return false;
    }
  }

  async function sendCode(request: FastifyRequest, reply: FastifyReply, email: string, returned: string) {
    const domain = emailDomain(email);
    if (!mails.take(email, now())) {
      signIns.inc({ domain, outcome: 'alias_code_mail_limit' });
      return problem(reply, 429, 'Too many codes', [
        `Persona has mailed enough codes to <strong>${escapeHtml(email)}</strong> for now. Please try again in an hour.`,
      ]);
    }
    const code = newCode();
    signIns.inc({ domain, outcome: 'alias_code_sent' });
    request.log.info({ event: 'bridge_alias', domain }, 'provider returned another address: mailing a code');
    if (!(await mailCode(request, email, code)))
      return problem(reply, 503, 'The code could not be sent', [
        'Persona could not send mail just now. Please try again in a few minutes.',
      ]);
    const entry: AliasCode = {
      email,
      returned,
      digest: codeDigest(deps.cookieSecret, email, code),
      sentAt: now(),
    };
    reply.header('set-cookie', aliasCode.issue(entry, now()));
    return codePage(reply, 200, entry);
  }

  app.post('/code', async (request, reply) => {
    if (!sameOriginPost(request)) return reply.code(403).send({ error: 'cross-origin request refused' });
    const entry = aliasCode.read(request.headers.cookie, now());
    if (entry === null)
      return problem(reply, 400, 'This code has expired', [
        'Codes work for 10 minutes. Go back to Persona and sign in again for a new one.',
      ]);
    const domain = emailDomain(entry.email);
    if (!tries.take(entry.email, now())) {
      signIns.inc({ domain, outcome: 'alias_code_locked' });
      return codePage(reply, 429, entry, 'Too many tries. Wait 10 minutes, then ask for a new code.');
    }
    // Right or wrong, a check takes a second.
    await sleep(codeDelay);
    const given = (request.body as Record<string, unknown> | undefined)?.code;
    const code = typeof given === 'string' ? given.replace(/\s/g, '') : '';
    if (
      !/^\d{6}$/.test(code) ||
      !sameDigest(codeDigest(deps.cookieSecret, entry.email, code), entry.digest)
    ) {
      signIns.inc({ domain, outcome: 'alias_code_wrong' });
      return codePage(reply, 400, entry, 'That code is not right. Check the mail and try again.');
    }
    signIns.inc({ domain, outcome: 'proven_by_code' });
    request.log.info(
      { event: 'bridge_signin', domain, via: 'alias_code' },
      'address proven by a mailed code',
    );
    return reply
      .header('set-cookie', [aliasCode.clear(), session.issue({ email: entry.email }, now())])
      .redirect('/authenticate/done', 303);
  });

  app.post('/code/resend', async (request, reply) => {
    if (!sameOriginPost(request)) return reply.code(403).send({ error: 'cross-origin request refused' });
    const entry = aliasCode.read(request.headers.cookie, now());
    if (entry === null)
      return problem(reply, 400, 'This code has expired', [
        'Go back to Persona and sign in again for a new one.',
      ]);
    if (now() - entry.sentAt < RESEND_AFTER_MS)
      return codePage(reply, 429, entry, 'A code was sent less than a minute ago. Check your mail first.');
    return sendCode(request, reply, entry.email, entry.returned);
  });

  // ---- the provisioning page's API -------------------------------------------------------------------

  app.get('/api/whoami', async (request, reply) =>
    reply
      .header('cache-control', 'no-store')
      .send({ email: session.read(request.headers.cookie, now())?.email ?? null }),
  );

  app.post('/api/cert_key', async (request, reply) => {
    if (!sameOriginPost(request)) return reply.code(403).send({ error: 'cross-origin request refused' });
    const signed = session.read(request.headers.cookie, now());
    const body = (request.body ?? {}) as Record<string, unknown>;
    const email = body.email;
    if (signed === null || typeof email !== 'string' || email.toLowerCase() !== signed.email.toLowerCase())
      return reply.code(401).send({ error: 'not signed in as that address' });
    // Switched off since the sign-in: no more certificates for the domain.
    if (live(emailDomain(email)) === undefined) return reply.code(409).send({ error: 'switched off' });
    const res = await deps.signer.call({
      method: 'POST',
      url: '/wsapi/cert_key',
      headers: { 'content-type': 'application/json', [REQUEST_ID_HEADER]: request.id },
      body: JSON.stringify({
        email,
        pubkey: typeof body.pubkey === 'string' ? body.pubkey : JSON.stringify(body.pubkey),
      }),
    });
    if (res.status !== 200)
      return reply.code(res.status === 400 ? 400 : 503).send({ error: 'no certificate' });
    request.log.info({ event: 'bridge_cert_issued', domain: emailDomain(email) }, 'certificate issued');
    return reply.header('cache-control', 'no-store').send({ cert: res.body.toString('utf8') });
  });

  return tierApp;
}
