// Writes the native addons compiled in this checkout's node_modules as prebuild archives into a folder
// (default release/prebuilds), named as prebuild-install looks for them. An install of the release
// pointed there (npm_config_better_sqlite3_local_prebuilds=DIR) unpacks them instead of downloading
// from the addon's release host or compiling: hosts without a compiler or without internet access
// (docs/provisioning.md). bcrypt needs none: its npm package carries its prebuilds.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = resolve(process.argv[2] ?? join(root, 'release', 'prebuilds'));
const ADDONS = [{ name: 'better-sqlite3', binary: 'build/Release/better_sqlite3.node' }];

mkdirSync(out, { recursive: true });
for (const { name, binary } of ADDONS) {
  const dir = join(root, 'node_modules', name);
  const built = join(dir, binary);
  if (!existsSync(built)) {
    process.stderr.write(`native-prebuilds: ${built} is missing: install dependencies first\n`);
    process.exit(1);
  }
  const { version } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const archive = `${name}-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
  const stage = mkdtempSync(join(tmpdir(), 'persona-prebuild-'));
  try {
    cpSync(built, join(stage, binary));
    const r = spawnSync('tar', ['czf', join(out, archive), '-C', stage, binary.split('/')[0]], {
      stdio: 'inherit',
    });
    if (r.status !== 0) process.exit(r.status ?? 1);
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
  process.stdout.write(`${join(out, archive)}\n`);
}
