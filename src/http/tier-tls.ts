/**
 * The deployment's tier CA (SPEC §2, docs/edge.md): the edge (nginx) cannot hold a per-pair MAC key, so it
 * proves itself with a client certificate from this CA, checked once per kept-alive connection by the
 * edge listeners of the tiers it calls. Each of those tiers serves its own certificate from the same CA,
 * which nginx verifies by name. Made with the tier keys on first start (openssl: node:crypto cannot issue
 * certificates); EC P-256 keys, each secret 0600.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EDGE, type Tier } from '../topology/index.ts';

/** The subject common name of the edge's client certificate: the caller it stands for. */
export const EDGE_CERT_NAME = 'edge';

/** The name a tier's edge listener certificate carries, and nginx checks (`proxy_ssl_name`). */
export const tierServerName = (tier: Tier): string => `${tier}.tiers.persona.internal`;

export interface TierTlsFiles {
  readonly dir: string;
  readonly caCert: string;
  readonly caKey: string;
  readonly edgeCert: string;
  readonly edgeKey: string;
  serverCert(tier: Tier): string;
  serverKey(tier: Tier): string;
}

export function tierTlsFiles(dir: string): TierTlsFiles {
  return {
    dir,
    caCert: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    edgeCert: join(dir, 'edge.crt'),
    edgeKey: join(dir, 'edge.key'),
    serverCert: (tier) => join(dir, `${tier}.crt`),
    serverKey: (tier) => join(dir, `${tier}.key`),
  };
}

/** Where the tier CA lives beside the pair keys. */
export const tierTlsDir = (tierKeysDir: string): string => join(tierKeysDir, 'tls');

const DAYS = { ca: 3650, leaf: 825 };
const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function issue(files: TierTlsFiles, name: string, cert: string, key: string, extensions: string[]): void {
  const csr = `${cert}.csr`;
  const ext = `${cert}.ext`;
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  try {
    openssl('req', '-new', ...EC, '-keyout', key, '-out', csr, '-subj', `/O=persona tiers/CN=${name}`);
    chmodSync(key, 0o600);
    writeFileSync(ext, ['basicConstraints=critical,CA:FALSE', ...extensions].join('\n'));
    openssl(
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      files.caCert,
      '-CAkey',
      files.caKey,
      '-set_serial',
      `0x${randomBytes(16).toString('hex')}`,
      '-days',
      String(DAYS.leaf),
      '-sha256',
      '-extfile',
      ext,
      '-out',
      cert,
    );
  } finally {
    rmSync(csr, { force: true });
    rmSync(ext, { force: true });
  }
}

/**
 * Creates what is missing: the CA, the edge's client certificate, a server certificate per tier the edge
 * may call. Never replaces an existing file; true if anything was made.
 */
export function ensureTierTls(dir: string): boolean {
  const files = tierTlsFiles(dir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  let made = false;
  if (!existsSync(files.caCert)) {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        ...EC,
        '-keyout',
        files.caKey,
        '-out',
        files.caCert,
        '-days',
        String(DAYS.ca),
        '-subj',
        '/O=persona tiers/CN=persona tier CA',
        '-addext',
        'basicConstraints=critical,CA:TRUE,pathlen:0',
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign',
      ],
      { stdio: 'pipe' },
    );
    chmodSync(files.caKey, 0o600);
    made = true;
  }
  if (!existsSync(files.edgeCert)) {
    issue(files, EDGE_CERT_NAME, files.edgeCert, files.edgeKey, [
      'keyUsage=critical,digitalSignature',
      'extendedKeyUsage=clientAuth',
    ]);
    made = true;
  }
  for (const tier of EDGE.mayCall) {
    if (existsSync(files.serverCert(tier))) continue;
    issue(files, tier, files.serverCert(tier), files.serverKey(tier), [
      'keyUsage=critical,digitalSignature',
      'extendedKeyUsage=serverAuth',
      `subjectAltName=DNS:${tierServerName(tier)}`,
    ]);
    made = true;
  }
  return made;
}

/** What a tier's edge listener serves and trusts. */
export interface EdgeListenerTls {
  readonly ca: Buffer;
  readonly cert: Buffer;
  readonly key: Buffer;
}

export function loadEdgeListenerTls(dir: string, tier: Tier): EdgeListenerTls {
  const files = tierTlsFiles(dir);
  const read = (file: string) => {
    try {
      return readFileSync(file);
    } catch {
      throw new Error(`${file} not found: run \`persona start\` once to make the tier CA (docs/edge.md)`);
    }
  };
  return { ca: read(files.caCert), cert: read(files.serverCert(tier)), key: read(files.serverKey(tier)) };
}
