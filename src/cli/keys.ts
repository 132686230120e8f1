/** `persona keys generate`: the domain keypair the keysigner signs with and the webhead publishes. */
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeypair, supportDocumentFor } from '../browserid/index.ts';

export const KEY_FILES = {
  secret: 'domain-key.secret.json',
  public: 'domain-key.public.json',
  supportDocument: 'browserid.json',
} as const;

export class KeysExistError extends Error {}

export interface GeneratedKeys {
  readonly dir: string;
  readonly files: readonly string[];
}

/** Writes the RS256 domain keypair into `dir` (secret with mode 0600). Refuses to overwrite unless forced. */
export function generateDomainKeys(dir: string, force = false): GeneratedKeys {
  const files = Object.values(KEY_FILES).map((name) => join(dir, name));
  const existing = files.filter((file) => existsSync(file));
  if (existing.length > 0 && !force) {
    throw new KeysExistError(
      `refusing to overwrite ${existing.join(', ')} (use --force to replace the domain key)`,
    );
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const { publicKey, secretKey } = generateKeypair('RS256');
  const [secretFile = '', publicFile = '', docFile = ''] = files;
  // Write the secret first with its mode set at creation, so it is never readable by others.
  writeFileSync(secretFile, `${JSON.stringify(secretKey.json)}\n`, { mode: 0o600, flag: force ? 'w' : 'wx' });
  chmodSync(secretFile, 0o600); // an overwritten file keeps its old mode
  writeFileSync(publicFile, `${JSON.stringify(publicKey.json)}\n`, { mode: 0o644 });
  const doc = supportDocumentFor(publicKey, { authentication: '/auth', provisioning: '/provision' });
  writeFileSync(docFile, `${JSON.stringify(doc, null, 2)}\n`, { mode: 0o644 });
  return { dir, files };
}
