/**
 * Discovery of a domain's BrowserID support (SPEC §3, SPEC §4.3, reference/persona.md §4.7): fetches
 * `https://<domain>/.well-known/browserid?domain=<principal>`, follows delegation, and caches each
 * document per its Cache-Control within bounds. The only I/O in src/browserid; see docs/discovery.md.
 */
import { Agent, type Dispatcher } from 'undici';
import { createEgressDispatcher, destinationProblem } from './egress.ts';
import { BrowserIdError, fail, type ErrorCode } from './errors.ts';
import type { PublicKey } from './keys.ts';
import { isHostname } from './names.ts';
import {
  MAX_SUPPORT_DOCUMENT_BYTES,
  parseSupportDocument,
  type SupportDocument,
} from './support-document.ts';
import type { IssuerDirectory } from './verify.ts';

export const WELL_KNOWN_PATH = '/.well-known/browserid';
/** Longest delegation chain, in domains, the first included: the original's MAX_AUTHORITY_DELEGATIONS. */
export const MAX_AUTHORITY_DELEGATIONS = 6;

export const DISCOVERY_DEFAULTS = {
  // Below the dialog's 10 s "slow XHR" notice, as the original.
  timeoutMs: 8000,
  maxCacheMs: 6 * 60 * 60 * 1000,
  failureCacheMs: 60 * 1000,
  maxEntries: 10_000,
  // Enough for a busy verifier's cache misses; a flood of bogus issuers gets no more (docs/discovery.md).
  maxConcurrentFetches: 32,
} as const;

export type DiscoveryResult =
  | {
      readonly kind: 'supported';
      readonly publicKey: PublicKey;
      /** Absolute: `https://<authoritativeDomain><path>`. */
      readonly authentication: string;
      readonly provisioning: string;
      /** The domain whose document holds the key: the last of the chain. */
      readonly authoritativeDomain: string;
      /** Every domain asked, from the first to the authoritative one. */
      readonly delegationChain: readonly string[];
    }
  | { readonly kind: 'disabled'; readonly delegationChain: readonly string[] };

/** One network fetch, for metrics and for `idp.lastSeen` (reference/persona.md §4.7 `idp_seen`). */
export interface DiscoveryFetch {
  readonly domain: string;
  readonly principalDomain: string;
  readonly url: string;
  readonly ok: boolean;
  /** The document's kind when ok, else the error code. */
  readonly outcome: SupportDocument['kind'] | ErrorCode;
  /** HTTP status when a response arrived. */
  readonly status?: number;
  /** What went wrong, for logs: may name socket errors, which callers never see (SPEC §4.14). */
  readonly error?: string;
  readonly elapsedMs: number;
  /** How long this answer is reused; 0 when not at all. */
  readonly cachedForMs: number;
}

export interface DiscoveryOptions {
  /** The client to fetch with (the caller keeps ownership). Default: one built from proxyUrl and ca. */
  readonly dispatcher?: Dispatcher;
  /** Forward proxy for every fetch (PERSONA_HTTP_PROXY); ignored when a dispatcher is given. */
  readonly proxyUrl?: string;
  /** CA certificates (PEM) to trust instead of the system's; ignored when a dispatcher is given. */
  readonly ca?: string | readonly string[];
  /** Bound on one fetch from connect to the last body byte. Default 8000. */
  readonly timeoutMs?: number;
  /** Upper bound on reusing a document, whatever its Cache-Control says. Default 6 h (SPEC §4.3). */
  readonly maxCacheMs?: number;
  /** How long a failed fetch is remembered. Default 60 s (SPEC §4.3). */
  readonly failureCacheMs?: number;
  /** Most documents and failures kept; the least recently used go first. Default 10 000. */
  readonly maxEntries?: number;
  /** Fetches in flight at once, all domains together; past it a lookup fails at once, uncached. Default 32. */
  readonly maxConcurrentFetches?: number;
  /** The clock for cache freshness, ms. Default Date.now. */
  readonly now?: () => number;
  readonly onFetch?: (fetch: DiscoveryFetch) => void;
  /**
   * Development and tests only (refused in production by the configuration): mail domain → the http origin
   * that serves its support document and pages, as the original's SHIMMED_PRIMARIES. Fetched directly,
   * never through the egress proxy; the domain stays the issuer name.
   */
  readonly shimmedPrimaries?: ReadonlyMap<string, string>;
}

export interface Discovery extends IssuerDirectory {
  /** Where `domain` stands, following delegation; `principalDomain` (default `domain`) is sent as `?domain=`. */
  discover(domain: string, principalDomain?: string): Promise<DiscoveryResult>;
  /** Forgets every cached document and failure. */
  clear(): void;
  /** Closes the client if this object made it. */
  close(): Promise<void>;
}

type Fetched = { doc: SupportDocument; status: number; lifetimeMs: number };
type Outcome =
  { ok: true; doc: SupportDocument } | { ok: false; code: ErrorCode; message: string; detail: string };

/** A failure whose message is the original's generic reason; the detail is only for our logs. */
class DiscoveryFailure extends BrowserIdError {
  readonly detail: string;
  constructor(message: string, detail: string) {
    super('discovery-failed', message);
    this.detail = detail;
  }
}

/**
 * How long a response may be reused, ms, from its Cache-Control and Age headers: `s-maxage` over
 * `max-age` (answers are shared by every caller, as in a shared cache), less the Age a proxy added, within
 * [0, maxMs]. `no-store`, `no-cache`, `private`, or no freshness directive at all → 0 (not reused).
 */
export function cacheLifetimeMs(
  cacheControl: string | readonly string[] | undefined,
  age: string | readonly string[] | undefined,
  maxMs: number,
): number {
  const directives = new Map<string, string>();
  for (const part of [cacheControl ?? []].flat().join(',').split(',')) {
    const m = /^\s*([a-z-]+)\s*(?:=\s*"?([^",]*)"?)?\s*$/i.exec(part);
    const name = m?.[1]?.toLowerCase();
    // RFC 9111 §4.2.1: with a directive repeated, the first one counts.
    if (name !== undefined && !directives.has(name)) directives.set(name, m?.[2]?.trim() ?? '');
  }
  if (directives.has('no-store') || directives.has('no-cache') || directives.has('private')) return 0;
  const seconds = directives.get('s-maxage') ?? directives.get('max-age');
  if (seconds === undefined || !/^\d+$/.test(seconds)) return 0;
  const ageValue = [age ?? []].flat()[0]?.trim() ?? '';
  const ageSeconds = /^\d+$/.test(ageValue) ? Number(ageValue) : 0;
  return Math.min(Math.max(0, (Number(seconds) - ageSeconds) * 1000), maxMs);
}

function checkDomain(name: unknown): string {
  const domain = typeof name === 'string' ? name.toLowerCase() : name;
  if (!isHostname(domain)) fail('discovery-failed', `invalid domain: ${String(name).slice(0, 253)}`);
  return domain;
}

const notPrimary = (domain: string, why: string): never =>
  fail('discovery-failed', `${domain} is not a browserid primary${why}`);

/**
 * The reason for a failure below HTTP (refused destination, DNS, connect, TLS, proxy): the original's
 * words without its error text, so callers cannot map what is reachable (SPEC §4.14).
 */
const unreachable = (domain: string, detail: string): DiscoveryFailure =>
  new DiscoveryFailure(`${domain} is not a browserid primary`, detail.slice(0, 300));

/** Drops a body we will not read; undici reports the abort as an error event, expected here. */
function discard(body: Dispatcher.ResponseData['body']): void {
  body.on('error', () => undefined);
  body.destroy();
}

const headerValue = (value: string | string[] | undefined): string | undefined =>
  Array.isArray(value) ? value[0] : value;

async function readCapped(body: Dispatcher.ResponseData['body'], domain: string): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_SUPPORT_DOCUMENT_BYTES) {
      discard(body);
      notPrimary(domain, ` - support document larger than ${MAX_SUPPORT_DOCUMENT_BYTES} bytes`);
    }
    chunks.push(chunk);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
  } catch {
    return fail('malformed-support-document', `bad support document for '${domain}': not UTF-8`);
  }
}

export function createDiscovery(options: DiscoveryOptions = {}): Discovery {
  const timeoutMs = options.timeoutMs ?? DISCOVERY_DEFAULTS.timeoutMs;
  const maxCacheMs = options.maxCacheMs ?? DISCOVERY_DEFAULTS.maxCacheMs;
  const failureCacheMs = options.failureCacheMs ?? DISCOVERY_DEFAULTS.failureCacheMs;
  const maxEntries = Math.max(1, options.maxEntries ?? DISCOVERY_DEFAULTS.maxEntries);
  const maxConcurrent = Math.max(1, options.maxConcurrentFetches ?? DISCOVERY_DEFAULTS.maxConcurrentFetches);
  const now = options.now ?? Date.now;
  const ownsDispatcher = options.dispatcher === undefined;
  const shims = options.shimmedPrimaries ?? new Map<string, string>();
  const shimAgent = shims.size > 0 ? new Agent({ connect: { timeout: timeoutMs } }) : undefined;
  const originOf = (domain: string): string => shims.get(domain) ?? `https://${domain}`;
  const dispatcher =
    options.dispatcher ??
    createEgressDispatcher({
      ...(options.proxyUrl !== undefined ? { proxyUrl: options.proxyUrl } : {}),
      ...(options.ca !== undefined ? { ca: options.ca } : {}),
      connectTimeoutMs: timeoutMs,
    });

  // Keyed by URL, in least-recently-used order (a Map iterates in insertion order).
  const cache = new Map<string, { outcome: Outcome; expiresAt: number }>();
  // Single flight: concurrent lookups of one URL share one fetch.
  const inflight = new Map<string, Promise<Outcome>>();

  function remember(url: string, outcome: Outcome, forMs: number): void {
    if (forMs <= 0) return;
    cache.delete(url);
    cache.set(url, { outcome, expiresAt: now() + forMs });
    for (const key of cache.keys()) {
      if (cache.size <= maxEntries) break;
      cache.delete(key);
    }
  }

  /** One GET and its body, every failure turned into a BrowserIdError; the document and its cache life. */
  async function fetchDocument(domain: string, path: string, signal: AbortSignal): Promise<Fetched> {
    try {
      const { statusCode, headers, body } = await (
        shims.has(domain) && shimAgent ? shimAgent : dispatcher
      ).request({
        origin: originOf(domain),
        path,
        method: 'GET',
        headers: { accept: 'application/json' },
        signal,
      });
      if (statusCode !== 200) {
        discard(body);
        if (statusCode >= 300 && statusCode < 400)
          notPrimary(domain, ' - redirection not supported for support documents');
        notPrimary(domain, ` - non-200 response code to ${WELL_KNOWN_PATH}`);
      }
      if (!headerValue(headers['content-type'])?.toLowerCase().startsWith('application/json')) {
        discard(body);
        notPrimary(domain, ` - non "application/json" response to ${WELL_KNOWN_PATH}`);
      }
      if (Number(headerValue(headers['content-length']) ?? 0) > MAX_SUPPORT_DOCUMENT_BYTES) {
        discard(body);
        notPrimary(domain, ` - support document larger than ${MAX_SUPPORT_DOCUMENT_BYTES} bytes`);
      }
      const text = await readCapped(body, domain);
      let doc: SupportDocument;
      try {
        doc = parseSupportDocument(text);
      } catch (err) {
        if (!(err instanceof BrowserIdError)) throw err;
        return fail(err.code, `bad support document for '${domain}': ${err.message}`);
      }
      return {
        doc,
        status: statusCode,
        lifetimeMs: cacheLifetimeMs(headers['cache-control'], headers.age, maxCacheMs),
      };
    } catch (err) {
      if (err instanceof BrowserIdError) throw err;
      throw unreachable(domain, String(err));
    }
  }

  /**
   * fetchDocument within timeoutMs, from connect to the last body byte. A race, not only the abort signal:
   * undici acts on an abort only once the connection is up, and a TLS handshake can hang.
   */
  async function fetchWithDeadline(domain: string, path: string): Promise<Fetched> {
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        controller.abort();
        reject(new BrowserIdError('discovery-failed', `timeout trying to load well-known for ${domain}`));
      }, timeoutMs);
    });
    const work = fetchDocument(domain, path, controller.signal);
    work.catch(() => undefined); // it may fail after losing the race, with nobody left to tell
    try {
      return await Promise.race([work, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  async function load(domain: string, principalDomain: string, url: string, path: string): Promise<Outcome> {
    const started = performance.now();
    let outcome: Outcome;
    let status: number | undefined;
    let cachedForMs: number;
    try {
      const fetched = await fetchWithDeadline(domain, path);
      outcome = { ok: true, doc: fetched.doc };
      status = fetched.status;
      cachedForMs = fetched.lifetimeMs;
    } catch (err) {
      const failure = err instanceof BrowserIdError ? err : unreachable(domain, String(err));
      outcome = {
        ok: false,
        code: failure.code,
        message: failure.message,
        detail: failure instanceof DiscoveryFailure ? failure.detail : failure.message,
      };
      cachedForMs = failureCacheMs;
    }
    remember(url, outcome, cachedForMs);
    options.onFetch?.({
      domain,
      principalDomain,
      url,
      ok: outcome.ok,
      outcome: outcome.ok ? outcome.doc.kind : outcome.code,
      ...(status !== undefined ? { status } : {}),
      ...(outcome.ok ? {} : { error: outcome.detail }),
      elapsedMs: performance.now() - started,
      cachedForMs: Math.max(0, cachedForMs),
    });
    return outcome;
  }

  async function documentOf(domain: string, principalDomain: string): Promise<SupportDocument> {
    const path = `${WELL_KNOWN_PATH}?domain=${principalDomain}`;
    const url = `${originOf(domain)}${path}`;
    let outcome: Outcome;
    const cached = cache.get(url);
    if (cached && cached.expiresAt > now()) {
      cache.delete(url);
      cache.set(url, cached);
      outcome = cached.outcome;
    } else {
      if (cached) cache.delete(url);
      let pending = inflight.get(url);
      if (!pending) {
        // Checked before anything is sent or resolved, whichever client fetches; shims are the
        // development allow-list (refused in production by the configuration).
        if (!shims.has(domain) && destinationProblem(domain) !== undefined)
          throw unreachable(domain, 'refused by name');
        // Past the global cap, fail at once and remember nothing: the domain did nothing wrong.
        if (inflight.size >= maxConcurrent) throw unreachable(domain, 'too many fetches in flight');
        pending = load(domain, principalDomain, url, path).finally(() => inflight.delete(url));
        inflight.set(url, pending);
      }
      outcome = await pending;
    }
    // A fresh error per caller: a shared one would carry the first caller's stack.
    if (!outcome.ok) throw new BrowserIdError(outcome.code, outcome.message);
    return outcome.doc;
  }

  async function discover(domain: string, principalDomain: string = domain): Promise<DiscoveryResult> {
    const first = checkDomain(domain);
    const principal = checkDomain(principalDomain);
    const chain = [first];
    for (let current = first; ;) {
      const doc = await documentOf(current, principal);
      if (doc.kind === 'disabled') return { kind: 'disabled', delegationChain: chain };
      if (doc.kind === 'supported') {
        return {
          kind: 'supported',
          publicKey: doc.publicKey,
          authentication: `${originOf(current)}${doc.authentication}`,
          provisioning: `${originOf(current)}${doc.provisioning}`,
          authoritativeDomain: current,
          delegationChain: chain,
        };
      }
      const next = doc.authority;
      // Both messages list the chain as the original did: the repeated domain is not written twice.
      if (chain.includes(next))
        fail('delegation-loop', `Circular reference in delegating authority: ${chain.join(' > ')}`);
      chain.push(next);
      if (chain.length > MAX_AUTHORITY_DELEGATIONS)
        fail('too-many-hops', `Too many hops while delegating authority: ${chain.join(' > ')}`);
      current = next;
    }
  }

  return {
    discover,
    async publicKeyOf(issuer) {
      const result = await discover(issuer);
      if (result.kind === 'disabled')
        fail('no-public-key', `browserid support is disabled for ${result.delegationChain.join(' > ')}`);
      return result.publicKey;
    },
    async authorityOf(domain) {
      const result = await discover(domain);
      return result.kind === 'supported' ? result.authoritativeDomain : null;
    },
    clear() {
      cache.clear();
    },
    async close() {
      cache.clear();
      await shimAgent?.close();
      if (ownsDispatcher) await dispatcher.close();
    },
  };
}
