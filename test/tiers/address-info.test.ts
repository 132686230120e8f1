import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  addressState,
  idpBookkeeping,
  type AddressFacts,
  type AddressState,
  type KnownAddress,
} from '../../src/tiers/webhead/address-info.ts';

type EmailType = 'primary' | 'secondary';
const TYPES: EmailType[] = ['primary', 'secondary'];
const BOOLS = [true, false];

const facts = (over: Partial<AddressFacts> = {}): AddressFacts => ({
  account: { hasPassword: true, lastUsedAs: 'secondary', verified: true },
  typeNow: 'secondary',
  disabled: false,
  primarySeenRecently: false,
  forcedIssuer: false,
  ...over,
});

// reference/persona.md §2.3, written out independently of the implementation's table.
function expectedFromTable(hasPassword: boolean, lastUsedAs: EmailType, typeNow: EmailType): AddressState {
  const key = `${hasPassword ? 'pw' : 'nopw'}/${lastUsedAs}/${typeNow}`;
  const table: Record<string, AddressState> = {
    'pw/primary/primary': 'known',
    'pw/primary/secondary': 'transition_to_secondary',
    'pw/secondary/primary': 'transition_to_primary',
    'pw/secondary/secondary': 'known',
    'nopw/primary/primary': 'known',
    'nopw/primary/secondary': 'transition_no_password',
    'nopw/secondary/primary': 'transition_to_primary',
    'nopw/secondary/secondary': 'transition_no_password',
  };
  return table[key]!;
}

test('every combination of facts gives the state of the original rules, in their order', () => {
  let cases = 0;
  for (const known of BOOLS)
    for (const hasPassword of BOOLS)
      for (const lastUsedAs of TYPES)
        for (const verified of BOOLS)
          for (const typeNow of TYPES)
            for (const disabled of BOOLS)
              for (const primarySeenRecently of BOOLS)
                for (const forcedIssuer of BOOLS) {
                  const account: KnownAddress | undefined = known
                    ? { hasPassword, lastUsedAs, verified }
                    : undefined;
                  const f = { account, typeNow, disabled, primarySeenRecently, forcedIssuer };
                  let expected: AddressState;
                  if (!known) expected = 'unknown';
                  else if (forcedIssuer) expected = hasPassword ? 'known' : 'transition_no_password';
                  else if (typeNow === 'secondary' && primarySeenRecently && !disabled) expected = 'offline';
                  else if (typeNow === 'secondary' && !verified) expected = 'unverified';
                  else expected = expectedFromTable(hasPassword, lastUsedAs, typeNow);
                  assert.equal(addressState(f), expected, JSON.stringify(f));
                  cases++;
                }
  assert.equal(cases, 256);
});

test('named cases: the dialog flows each state leads to', () => {
  assert.equal(addressState(facts({ account: undefined })), 'unknown');
  assert.equal(addressState(facts()), 'known');
  // A primary that stopped answering days after we last saw it: offline, not a secondary.
  assert.equal(addressState(facts({ primarySeenRecently: true })), 'offline');
  // ...unless it says it is disabled: then it is a secondary for good.
  assert.equal(addressState(facts({ primarySeenRecently: true, disabled: true })), 'known');
  // Offline wins over unverified; primary now ignores verification.
  assert.equal(
    addressState(
      facts({
        primarySeenRecently: true,
        account: { hasPassword: true, lastUsedAs: 'secondary', verified: false },
      }),
    ),
    'offline',
  );
  assert.equal(
    addressState(facts({ account: { hasPassword: true, lastUsedAs: 'secondary', verified: false } })),
    'unverified',
  );
  assert.equal(
    addressState(
      facts({ typeNow: 'primary', account: { hasPassword: true, lastUsedAs: 'primary', verified: false } }),
    ),
    'known',
  );
  assert.equal(
    addressState(
      facts({ typeNow: 'primary', account: { hasPassword: false, lastUsedAs: 'secondary', verified: true } }),
    ),
    'transition_to_primary',
  );
  assert.equal(
    addressState(facts({ account: { hasPassword: false, lastUsedAs: 'primary', verified: true } })),
    'transition_no_password',
  );
  // A forced issuer ignores the domain entirely.
  assert.equal(
    addressState(
      facts({
        forcedIssuer: true,
        typeNow: 'primary',
        account: { hasPassword: false, lastUsedAs: 'primary', verified: false },
      }),
    ),
    'transition_no_password',
  );
  assert.equal(addressState(facts({ forcedIssuer: true, primarySeenRecently: true })), 'known');
});

const DAY = 86_400_000;
const NOW = 1_800_000_000_000;
const idp = (lastSeen: number | undefined, typeNow: EmailType, disabled = false) =>
  idpBookkeeping({ lastSeen, now: NOW, graceMs: 5 * DAY, refreshMs: 3_600_000, typeNow, disabled });

test('idp bookkeeping: a primary is recorded when unrecorded or older than the refresh period', () => {
  assert.deepEqual(idp(undefined, 'primary'), { primarySeenRecently: false, action: 'saw' });
  assert.deepEqual(idp(NOW - 60_000, 'primary'), { primarySeenRecently: true, action: 'none' });
  assert.deepEqual(idp(NOW - 3_600_000, 'primary'), { primarySeenRecently: true, action: 'saw' });
  assert.deepEqual(idp(NOW - 10 * DAY, 'primary'), { primarySeenRecently: false, action: 'saw' });
});

test('idp bookkeeping: a secondary now is offline within 5 days; older rows and disabled domains are forgotten', () => {
  assert.deepEqual(idp(undefined, 'secondary'), { primarySeenRecently: false, action: 'none' });
  assert.deepEqual(idp(NOW - 4 * DAY, 'secondary'), { primarySeenRecently: true, action: 'none' });
  assert.deepEqual(idp(NOW - 5 * DAY + 1, 'secondary'), { primarySeenRecently: true, action: 'none' });
  assert.deepEqual(idp(NOW - 5 * DAY, 'secondary'), { primarySeenRecently: false, action: 'forget' });
  assert.deepEqual(idp(NOW - 30 * DAY, 'secondary'), { primarySeenRecently: false, action: 'forget' });
  assert.deepEqual(idp(NOW - DAY, 'secondary', true), { primarySeenRecently: true, action: 'forget' });
  assert.deepEqual(idp(undefined, 'secondary', true), { primarySeenRecently: false, action: 'none' });
});
