// browserid-crypto (a dev-only interop oracle) ships a broken postinstall, which allowScripts denies;
// its runtime needs libs/minimal.js, which its own scripts/package.js builds. Absent in production installs.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

const dir = 'node_modules/browserid-crypto';
if (existsSync(`${dir}/scripts/package.js`) && !existsSync(`${dir}/libs/minimal.js`)) {
  const r = spawnSync(process.execPath, ['scripts/package.js'], { cwd: dir, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
