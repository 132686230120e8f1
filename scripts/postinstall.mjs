// browserid-crypto (a dev-only interop oracle) ships a broken postinstall, which allowScripts denies;
// its runtime needs libs/minimal.js, which its own scripts/package.js builds. Absent in production installs.
// Then the browser bundles (dist-browser/), so the webhead never bundles in production; installs without
// dev dependencies (no esbuild) must bring dist-browser/ built elsewhere (`npm run build:browser`).
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

const dir = 'node_modules/browserid-crypto';
if (existsSync(`${dir}/scripts/package.js`) && !existsSync(`${dir}/libs/minimal.js`)) {
  const r = spawnSync(process.execPath, ['scripts/package.js'], { cwd: dir, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

if (existsSync('node_modules/esbuild/package.json') && existsSync('src/browser/include.ts')) {
  const r = spawnSync(process.execPath, ['scripts/build-browser.mjs'], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
