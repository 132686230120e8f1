// Bundles the browser code (src/browser) into dist-browser/, minified, and prints the sizes. `npm install`
// runs it (scripts/postinstall.mjs); the webhead reads these files in production and never bundles there
// (in development it bundles src/browser in memory, src/tiers/webhead/static.ts).
// ENTRIES must equal BUNDLE_ENTRIES there (test/browser/static.test.ts checks); keep the options in step.
import { build } from 'esbuild';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const ENTRIES = [
  'include',
  'dialog',
  'communication_iframe',
  'landing',
  'account',
  'provisioning_api',
  'authentication_api',
];
const outdir = join(root, 'dist-browser');
mkdirSync(outdir, { recursive: true });

const result = await build({
  entryPoints: ENTRIES.map((name) => join(root, 'src/browser', `${name}.ts`)),
  outdir,
  bundle: true,
  minify: true,
  format: 'iife',
  target: ['es2020'],
  charset: 'utf8',
  legalComments: 'none',
  write: false,
  logLevel: 'warning',
});

for (const file of result.outputFiles) {
  writeFileSync(file.path, file.contents);
  const gzip = gzipSync(file.contents, { level: 9 }).length;
  console.log(
    `${file.path.slice(root.length + 1).padEnd(36)} ${String(file.contents.length).padStart(6)} B  ${String(gzip).padStart(5)} B gzip`,
  );
}
