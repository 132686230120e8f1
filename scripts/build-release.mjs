// `npm pack`'s prepack (`npm run release`): what the tarball ships, built fresh. dist/ from src/ by tsc
// (emit only: `npm run typecheck` is the type gate, run by `npm run release` and `npm test`), emptied
// first so no file of a deleted source rides along; then the browser bundles into dist-browser/, so an
// install without dev dependencies never needs a bundler (src/tiers/webhead/static.ts).
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function run(what, args) {
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) {
    process.stderr.write(`release: ${what} failed\n`);
    process.exit(r.status ?? 1);
  }
}

rmSync(join(root, 'dist'), { recursive: true, force: true });
rmSync(join(root, 'dist-browser'), { recursive: true, force: true });
run('compiling src/', [
  join(root, 'node_modules', 'typescript', 'bin', 'tsc'),
  '-p',
  'tsconfig.build.json',
  '--noCheck',
]);
run('bundling src/browser', [join(root, 'scripts', 'build-browser.mjs')]);
