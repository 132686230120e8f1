/**
 * A tier key for tests, shaped like a keypair: tier calls are MACs under a key caller and callee share
 * (src/http/tier-auth.ts), so the caller's "private" and the callee's "public" key are the same secret.
 */
import type { KeyObject } from 'node:crypto';
import { generateTierKey } from '../../src/http/tier-auth.ts';

export function tierKeyPair(): { readonly privateKey: KeyObject; readonly publicKey: KeyObject } {
  const key = generateTierKey();
  return { privateKey: key, publicKey: key };
}
