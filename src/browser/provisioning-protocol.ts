/**
 * The postMessage protocol between the dialog (/sign_in, on Persona's origin) and a primary IdP's
 * provisioning page, which the dialog frames hidden and which runs our provisioning_api.js. One module for
 * both sides, so the shapes cannot drift apart. docs/primary.md describes it.
 *
 * Every message is `{ protocol: PROVISIONING_PROTOCOL, type, …fields }`, a protocol name of its own so that
 * neither side can mistake one of include.js's messages for one of these. Receivers check the sender's
 * origin and window first, then the shape with the readers below; anything else is dropped.
 */

export const PROVISIONING_PROTOCOL = 'persona-provisioning/1';

/** Longest certificate or failure reason accepted: far beyond any real one, small enough to be harmless. */
export const MAX_CERTIFICATE_LENGTH = 16_384;
export const MAX_REASON_LENGTH = 500;

/**
 * provisioning page → dialog. `begin`: beginProvisioning() was called, send the identity; `genKeyPair`:
 * send a public key; then `registerCertificate` or `failure` ends the exchange.
 */
export type FromProvisioning =
  | { type: 'begin' }
  | { type: 'genKeyPair' }
  | { type: 'registerCertificate'; cert: string }
  | { type: 'failure'; reason: string };

/** dialog → provisioning page. `certDuration` in seconds; `pubkey` is jwcrypto's public-key JSON text. */
export type ToProvisioning =
  { type: 'identity'; email: string; certDuration: number } | { type: 'publicKey'; pubkey: string };

export type ProvisioningEnvelope<M extends FromProvisioning | ToProvisioning> = M & {
  protocol: typeof PROVISIONING_PROTOCOL;
};

export function provisioningEnvelope<M extends FromProvisioning | ToProvisioning>(
  message: M,
): ProvisioningEnvelope<M> {
  return { ...message, protocol: PROVISIONING_PROTOCOL };
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const nonEmpty = (value: unknown, max: number): value is string =>
  typeof value === 'string' && value.length > 0 && value.length <= max;

/** A message from the provisioning page, rebuilt from its known fields, or undefined. */
export function readFromProvisioning(data: unknown): FromProvisioning | undefined {
  if (!isRecord(data) || data.protocol !== PROVISIONING_PROTOCOL) return undefined;
  switch (data.type) {
    case 'begin':
    case 'genKeyPair':
      return { type: data.type };
    case 'registerCertificate':
      return nonEmpty(data.cert, MAX_CERTIFICATE_LENGTH)
        ? { type: 'registerCertificate', cert: data.cert }
        : undefined;
    case 'failure':
      // A failure without a usable reason is still a failure: it must not leave the dialog waiting.
      return {
        type: 'failure',
        reason: typeof data.reason === 'string' ? data.reason.slice(0, MAX_REASON_LENGTH) : '',
      };
    default:
      return undefined;
  }
}

/** A message from the dialog, rebuilt from its known fields, or undefined. */
export function readToProvisioning(data: unknown): ToProvisioning | undefined {
  if (!isRecord(data) || data.protocol !== PROVISIONING_PROTOCOL) return undefined;
  switch (data.type) {
    case 'identity': {
      const { email, certDuration } = data;
      return nonEmpty(email, 254) &&
        typeof certDuration === 'number' &&
        Number.isInteger(certDuration) &&
        certDuration > 0
        ? { type: 'identity', email, certDuration }
        : undefined;
    }
    case 'publicKey':
      return nonEmpty(data.pubkey, MAX_CERTIFICATE_LENGTH)
        ? { type: 'publicKey', pubkey: data.pubkey }
        : undefined;
    default:
      return undefined;
  }
}

/** The query parameter that carries the address to the IdP's authentication page (docs/primary.md). */
export const AUTH_EMAIL_PARAM = 'email';

/** Where the IdP's authentication page sends the dialog window back (authentication_api.js). */
export const AUTH_RETURN_PATH = '/sign_in?AUTH_RETURN';
export const AUTH_CANCEL_PATH = '/sign_in?AUTH_RETURN_CANCEL';

/** The IdP's authentication URL with the address added, keeping any query it already has. */
export function authenticationUrl(auth: string, email: string): string {
  const url = new URL(auth);
  url.searchParams.set(AUTH_EMAIL_PARAM, email);
  return url.toString();
}
