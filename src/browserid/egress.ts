/**
 * The HTTP client outbound fetches go through (SPEC §1: all outbound HTTP through a configurable forward
 * proxy, squid in production). With a proxy URL, an undici ProxyAgent tunnels every request with CONNECT
 * (reference/stack.md §1.8: the right mode for https targets); without one, a plain Agent connects directly.
 * Redirects are never followed: undici's dispatchers do not, and we add no redirect interceptor.
 */
import { Agent, ProxyAgent, type Dispatcher } from 'undici';

export interface EgressOptions {
  /** Forward proxy, `http://host:port` (or https://); absent means direct connections. */
  readonly proxyUrl?: string;
  /** CA certificates (PEM) to trust instead of the system's, e.g. a private CA; absent means the system's. */
  readonly ca?: string | readonly string[];
  /** Bound on TCP connect plus TLS handshake, ms. */
  readonly connectTimeoutMs?: number;
}

/** Checks a proxy URL early, so a typo fails at start, not on the first lookup. */
export function parseProxyUrl(proxyUrl: string): URL {
  let url: URL;
  try {
    url = new URL(proxyUrl);
  } catch {
    throw new Error(`invalid proxy URL: ${proxyUrl}`);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '')
    throw new Error(`invalid proxy URL (want http://host:port): ${proxyUrl}`);
  return url;
}

/** A dispatcher for outbound requests; the caller owns it and closes it. */
export function createEgressDispatcher(options: EgressOptions = {}): Dispatcher {
  const tls = {
    ...(options.ca !== undefined ? { ca: [options.ca].flat() } : {}),
    ...(options.connectTimeoutMs !== undefined ? { timeout: options.connectTimeoutMs } : {}),
  };
  if (options.proxyUrl !== undefined && options.proxyUrl !== '') {
    parseProxyUrl(options.proxyUrl);
    // requestTls applies to the origin's TLS inside the tunnel; the proxy itself is usually plain http.
    return new ProxyAgent({ uri: options.proxyUrl, requestTls: tls, proxyTls: tls });
  }
  return new Agent({ connect: tls });
}
