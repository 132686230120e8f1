/**
 * Where a deployment keeps its files, under PERSONA_DATA_DIR, and the first-run setup that creates them:
 * the domain keypair, the tiers' signing keys, the tier CA and the cookie secret (each secret 0600).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Config } from '../config/settings.ts';
import { ensureTierKeys, tierKeyDir } from '../http/tier-auth.ts';
import { ensureTierTls, tierTlsDir } from '../http/tier-tls.ts';
import { generateCookieSecret } from '../wsapi/session.ts';
import { generateDomainKeys, KEY_FILES } from './keys.ts';

export interface Layout {
  readonly dataDir: string;
  readonly keysDir: string;
  readonly domainSecretKey: string;
  readonly domainPublicKey: string;
  readonly tierKeysDir: string;
  readonly cookieSecret: string;
  readonly mailboxDir: string;
  /** The bridge's issuer keypair (the bridgesigner holds the secret half) and its cookie secret. */
  readonly bridgeSecretKey: string;
  readonly bridgePublicKey: string;
  readonly bridgeCookieSecret: string;
}

export function layoutOf(config: Pick<Config, 'dataDir'>): Layout {
  const keysDir = join(config.dataDir, 'keys');
  return {
    dataDir: config.dataDir,
    keysDir,
    domainSecretKey: join(keysDir, KEY_FILES.secret),
    domainPublicKey: join(keysDir, KEY_FILES.public),
    tierKeysDir: tierKeyDir(config.dataDir),
    cookieSecret: join(config.dataDir, 'cookie-secret'),
    mailboxDir: join(config.dataDir, 'mailbox'),
    bridgeSecretKey: join(keysDir, 'bridge', KEY_FILES.secret),
    bridgePublicKey: join(keysDir, 'bridge', KEY_FILES.public),
    bridgeCookieSecret: join(config.dataDir, 'bridge-cookie-secret'),
  };
}

/** Creates whatever of the layout is missing; never replaces an existing key or secret. */
export function ensureLayout(layout: Layout): string[] {
  const created: string[] = [];
  mkdirSync(layout.dataDir, { recursive: true, mode: 0o700 });
  if (!existsSync(layout.domainSecretKey)) {
    generateDomainKeys(layout.keysDir);
    created.push('domain keypair');
  }
  if (!existsSync(join(layout.tierKeysDir, 'router.key'))) created.push('tier keys');
  ensureTierKeys(layout.tierKeysDir);
  // The edge's credential (docs/edge.md): made with the pair keys, used once PERSONA_EDGE_LISTENERS is on.
  if (ensureTierTls(tierTlsDir(layout.tierKeysDir))) created.push('tier CA');
  if (!existsSync(layout.bridgeSecretKey)) {
    generateDomainKeys(dirname(layout.bridgeSecretKey));
    created.push("bridge's keypair");
  }
  if (!existsSync(layout.bridgeCookieSecret)) {
    writeFileSync(layout.bridgeCookieSecret, `${generateCookieSecret()}\n`, { mode: 0o600, flag: 'wx' });
  }
  if (!existsSync(layout.cookieSecret)) {
    writeFileSync(layout.cookieSecret, `${generateCookieSecret()}\n`, { mode: 0o600, flag: 'wx' });
    created.push('cookie secret');
  }
  return created;
}

/** Reads a file the setup makes, with a message that says how to make it. */
export function readRequired(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    throw new Error(`${what} not found at ${path}: run \`persona start\` once, or \`persona keys generate\``);
  }
}
