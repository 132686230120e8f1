// `npm run release:host`: the release installed once, as a host runs it, packed for the fleet: installs
// release/persona-ts-*.tgz with production dependencies only (the native addons from release/prebuilds)
// into an empty folder and writes release/persona-host.tar.gz, which the AWS hosts unpack into
// /opt/persona (infra/, docs/provisioning.md). Run it on the hosts' platform (Linux x64, Node 20).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const release = resolve(process.argv[2] ?? join(root, 'release'));
const tarball = readdirSync(release).find((name) => /^persona-ts-.*\.tgz$/.test(name));
if (!tarball) {
  process.stderr.write(`host-bundle: no persona-ts-*.tgz in ${release}: run \`npm run release\` first\n`);
  process.exit(1);
}
const host = mkdtempSync(join(tmpdir(), 'persona-host-'));
try {
  // The hosts' package.json: it approves the native addons' install scripts (npm 11), as the test does.
  writeFileSync(
    join(host, 'package.json'),
    `${JSON.stringify({ private: true, allowScripts: { bcrypt: true, 'better-sqlite3': true } })}\n`,
  );
  const install = spawnSync(
    'npm',
    ['install', '--omit=dev', '--no-audit', '--no-fund', join(release, tarball)],
    {
      cwd: host,
      stdio: 'inherit',
      env: { ...process.env, npm_config_better_sqlite3_local_prebuilds: join(release, 'prebuilds') },
    },
  );
  if (install.status !== 0) process.exit(install.status ?? 1);
  const out = join(release, 'persona-host.tar.gz');
  const tar = spawnSync('tar', ['czf', out, '-C', host, 'package.json', 'node_modules'], { stdio: 'inherit' });
  if (tar.status !== 0) process.exit(tar.status ?? 1);
  process.stdout.write(`${out}\n`);
} finally {
  rmSync(host, { recursive: true, force: true });
}
