/**
 * `/.well-known/browserid` documents (SPEC §3, reference/persona.md §4.7), in the original's precedence:
 * a truthy `disabled` wins, then `authority` (delegation), else a supported document with key and paths.
 */
import { BrowserIdError, fail } from './errors.ts';
import { parsePublicKey, type PublicKey } from './keys.ts';
import { isHostname } from './names.ts';

export type SupportDocument =
  | { readonly kind: 'disabled' }
  | { readonly kind: 'delegated'; readonly authority: string }
  | {
      readonly kind: 'supported';
      readonly publicKey: PublicKey;
      readonly authentication: string;
      readonly provisioning: string;
    };

/** Largest document we parse; real ones are about 1 KB. */
export const MAX_SUPPORT_DOCUMENT_BYTES = 64 * 1024;

const malformed = (why: string): never =>
  fail('malformed-support-document', `malformed support document: ${why}`);

/** A path on the IdP's host: starts with one slash and parses as a path of that host. */
function checkPath(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 2048)
    return malformed(`missing ${name}`);
  if (!value.startsWith('/') || value.startsWith('//')) return malformed(`${name} must be a path`);
  try {
    if (new URL(value, 'https://idp.invalid').host !== 'idp.invalid')
      return malformed(`${name} must be a path`);
  } catch {
    return malformed(`${name} must be a path`);
  }
  return value;
}

/** Parses a support document from its JSON text or value. Throws `malformed-support-document`. */
export function parseSupportDocument(input: unknown): SupportDocument {
  let doc = input;
  if (typeof input === 'string') {
    if (input.length > MAX_SUPPORT_DOCUMENT_BYTES) return malformed('too large');
    try {
      doc = JSON.parse(input);
    } catch {
      return malformed('invalid JSON');
    }
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return malformed('not a JSON object');
  const o = doc as Record<string, unknown>;
  if (o.disabled) return { kind: 'disabled' };
  if (o.authority !== undefined) {
    if (typeof o.authority !== 'string') return malformed('malformed authority');
    const authority = o.authority.toLowerCase();
    if (!isHostname(authority)) return malformed('the authority is not a valid hostname');
    return { kind: 'delegated', authority };
  }
  const authentication = checkPath(o.authentication, 'authentication');
  const provisioning = checkPath(o.provisioning, 'provisioning');
  if (o['public-key'] === undefined) return malformed("missing 'public-key'");
  let publicKey: PublicKey;
  try {
    publicKey = parsePublicKey(o['public-key']);
  } catch (err) {
    if (err instanceof BrowserIdError) return malformed(`bad public-key: ${err.message}`);
    throw err;
  }
  return { kind: 'supported', publicKey, authentication, provisioning };
}

/** The document a domain publishes for its own key, as `persona keys generate` and the webhead serve it. */
export function supportDocumentFor(
  publicKey: PublicKey,
  paths: { authentication: string; provisioning: string },
) {
  return {
    'public-key': publicKey.json,
    authentication: paths.authentication,
    provisioning: paths.provisioning,
  };
}
