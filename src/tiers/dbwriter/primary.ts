/**
 * Primary identity providers as the dbwriter needs them (reference/persona.md §4.4, last paragraph):
 * verifying an assertion made for Persona itself, and telling whether a mail domain is a primary now.
 */
import {
  BrowserIdError,
  emailDomain,
  verifyBackedAssertion,
  type IssuerDirectory,
  type PublicKey,
} from '../../browserid/index.ts';

export interface Primaries {
  /** The address a primary's backed assertion proves to us; rejects with a BrowserIdError saying why not. */
  verifyAssertion(assertion: string): Promise<string>;
  /** True when the address's domain has (or delegates to) a BrowserID support document now. */
  isPrimary(email: string): Promise<boolean>;
}

export function createPrimaries(directory: IssuerDirectory, publicUrl: string, now = Date.now): Primaries {
  const audience = new URL(publicUrl).origin;
  const ownIssuer = new URL(publicUrl).hostname;
  // Our own certificates are no proof here: they would let a session vouch for itself (the original's
  // "cannot authenticate to browserid with a certificate issued by it").
  const primariesOnly: IssuerDirectory = {
    publicKeyOf(issuer: string): Promise<PublicKey> {
      if (issuer.toLowerCase() === ownIssuer)
        return Promise.reject(
          new BrowserIdError(
            'no-public-key',
            'cannot authenticate to this service with a certificate issued by it',
          ),
        );
      return directory.publicKeyOf(issuer);
    },
    authorityOf: (domain) => directory.authorityOf(domain),
  };
  return {
    async verifyAssertion(assertion) {
      // allowUnverified stays off: an `unverified-email` certificate proves nothing here.
      const verified = await verifyBackedAssertion(assertion, {
        audience,
        directory: primariesOnly,
        now: now(),
      });
      return verified.email;
    },
    async isPrimary(email) {
      try {
        return (await directory.authorityOf(emailDomain(email))) !== null;
      } catch {
        // A domain whose document cannot be fetched or parsed is treated as a secondary, as the original.
        return false;
      }
    },
  };
}
