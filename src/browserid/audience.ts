/**
 * Audience comparison as the original verifier did it (reference/persona.md §4.4): the relying party may
 * name a full origin, `host:port` or a bare host, and only the parts it names are compared.
 */
import { BrowserIdError } from './errors.ts';

interface Origin {
  scheme?: string;
  host: string;
  port?: string;
}

const DEFAULT_PORTS: Record<string, string> = { https: '443', http: '80', app: '80' };
const HOST = /^[a-z0-9.-]+$|^\[[0-9a-f:.]+\]$/i;

/** Parses `scheme://host[:port][/]`, `host:port` or `host`; null when it is none of those. */
function parseOrigin(text: string): Origin | null {
  const full = /^([a-z][a-z0-9+.-]*):\/\/([^/:?#]*)(?::(\d{1,5}))?\/?$/i.exec(text);
  if (full) {
    const scheme = (full[1] ?? '').toLowerCase();
    return { scheme, host: (full[2] ?? '').toLowerCase(), port: full[3] ?? DEFAULT_PORTS[scheme] };
  }
  // The host may be empty (`:8080`): that is "domain missing", as the original said, not malformed.
  const hostPort = /^([^/:?#]*):(\d{1,5})$/.exec(text);
  if (hostPort) return { host: (hostPort[1] ?? '').toLowerCase(), port: hostPort[2] };
  if (/^[^/:?#]+$/.test(text)) return { host: text.toLowerCase() };
  return null;
}

/**
 * Throws `audience-mismatch` (reason `audience mismatch: scheme mismatch|port mismatch|domain mismatch|domain
 * missing`) or `malformed-audience` when `expected` (from the relying party) does not admit `asserted`.
 */
export function compareAudiences(expected: string, asserted: string): void {
  const want = parseOrigin(expected);
  if (!want) throw new BrowserIdError('malformed-audience');
  const mismatch = (what: string): never => {
    throw new BrowserIdError('audience-mismatch', `audience mismatch: ${what}`);
  };
  if (!HOST.test(want.host)) mismatch('domain missing');
  const got = parseOrigin(asserted);
  if (!got || !HOST.test(got.host)) mismatch('domain missing');
  if (want.scheme !== undefined && want.scheme !== got?.scheme) mismatch('scheme mismatch');
  if (want.port !== undefined && want.port !== got?.port) mismatch('port mismatch');
  if (want.host !== got?.host) mismatch('domain mismatch');
}
