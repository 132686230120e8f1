/**
 * How an address must sign in right now: the `address_info` state machine (reference/persona.md §2.3) and
 * the `idp` row bookkeeping that feeds its `offline` rule, as pure functions over the facts the op gathers.
 */
import type { EmailType } from '../../db/read.ts';

export type AddressState =
  | 'unknown'
  | 'known'
  | 'transition_to_primary'
  | 'transition_to_secondary'
  | 'transition_no_password'
  | 'unverified'
  | 'offline';

/** What the database says about an address it holds. */
export interface KnownAddress {
  readonly hasPassword: boolean;
  /** How the address was last used (`email.type`). */
  readonly lastUsedAs: EmailType;
  readonly verified: boolean;
}

export interface AddressFacts {
  /** Undefined when no account holds the address. */
  readonly account: KnownAddress | undefined;
  /** How the address's domain authenticates right now. */
  readonly typeNow: EmailType;
  /** The domain's support document says `disabled`. */
  readonly disabled: boolean;
  /** The domain was a primary within the offline grace period. */
  readonly primarySeenRecently: boolean;
  /** The caller forced an issuer (the `issuer` parameter): the address is certified by us, as a secondary. */
  readonly forcedIssuer: boolean;
}

// [has a password][last used as][type right now], only meaningful for a known address whose IdP is not
// offline (reference/persona.md §2.3, the table).
const BY_PASSWORD: Readonly<Record<'yes' | 'no', Record<EmailType, Record<EmailType, AddressState>>>> = {
  yes: {
    primary: { primary: 'known', secondary: 'transition_to_secondary' },
    secondary: { primary: 'transition_to_primary', secondary: 'known' },
  },
  no: {
    primary: { primary: 'known', secondary: 'transition_no_password' },
    secondary: { primary: 'transition_to_primary', secondary: 'transition_no_password' },
  },
};

export function addressState(facts: AddressFacts): AddressState {
  const { account } = facts;
  if (account === undefined) return 'unknown';
  // A forced issuer certifies with our key, so only the password matters (B2G's forced-issuer flow).
  if (facts.forcedIssuer) return account.hasPassword ? 'known' : 'transition_no_password';
  // The domain was a primary days ago and now answers nothing usable: its IdP is down, not gone.
  if (facts.typeNow === 'secondary' && facts.primarySeenRecently && !facts.disabled) return 'offline';
  if (facts.typeNow === 'secondary' && !account.verified) return 'unverified';
  return BY_PASSWORD[account.hasPassword ? 'yes' : 'no'][account.lastUsedAs][facts.typeNow];
}

export interface IdpFacts {
  /** `idp.lastSeen` of the domain, epoch ms; undefined when there is no row. */
  readonly lastSeen: number | undefined;
  readonly now: number;
  /** How long a primary that stops answering counts as offline rather than gone (5 days). */
  readonly graceMs: number;
  /** A primary's row is refreshed when older than this, so a busy domain costs one write per period. */
  readonly refreshMs: number;
  readonly typeNow: EmailType;
  readonly disabled: boolean;
}

export interface IdpBookkeeping {
  readonly primarySeenRecently: boolean;
  /** `saw`: record the primary as seen now; `forget`: delete the row; `none`: leave it. */
  readonly action: 'none' | 'saw' | 'forget';
}

export function idpBookkeeping(facts: IdpFacts): IdpBookkeeping {
  const { lastSeen, now } = facts;
  const age = lastSeen === undefined ? undefined : now - lastSeen;
  const primarySeenRecently = age !== undefined && age < facts.graceMs;
  if (facts.typeNow === 'primary') {
    return { primarySeenRecently, action: age === undefined || age >= facts.refreshMs ? 'saw' : 'none' };
  }
  // Lazy cleanup of a row past the grace period; and a domain that now explicitly opts out of BrowserID
  // is not an IdP that is down, so its row goes at once (reference/persona.md §2.3).
  if (age !== undefined && !primarySeenRecently) return { primarySeenRecently, action: 'forget' };
  if (primarySeenRecently && facts.disabled) return { primarySeenRecently, action: 'forget' };
  return { primarySeenRecently, action: 'none' };
}
