// `npm start`: compiles the server (tsc → dist/) and the browser bundles (esbuild → dist-browser/) when
// their sources changed since the last build, then becomes `persona start` from the compiled code in this
// same process: the supervisor and every tier run as plain JavaScript, without tsx, which keeps the idle
// stack small (bench/memory.ts).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The newest modification time under the given paths (files or folders), 0 when none exist. */
function newest(paths, accept = () => true) {
  let latest = 0;
  const visit = (path) => {
    if (!existsSync(path)) return;
    const stat = statSync(path);
    if (stat.isDirectory()) {
      for (const name of readdirSync(path)) visit(join(path, name));
    } else if (accept(path)) latest = Math.max(latest, stat.mtimeMs);
  };
  for (const path of paths) visit(join(root, path));
  return latest;
}

const stampTime = (stamp) => (existsSync(stamp) ? statSync(stamp).mtimeMs : 0);

function buildIfStale(what, sources, stamp, command) {
  if (newest(sources) <= stampTime(stamp)) return;
  process.stdout.write(`npm start: building ${what} (its sources changed)…\n`);
  const r = spawnSync(process.execPath, command, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) {
    process.stderr.write(`npm start: building ${what} failed\n`);
    process.exit(r.status ?? 1);
  }
  writeFileSync(stamp, `${new Date().toISOString()}\n`);
}

const serverSources = ['src', 'package.json', 'tsconfig.json', 'tsconfig.build.json'];
buildIfStale('the server', serverSources, join(root, 'dist', '.built'), [
  join(root, 'node_modules', 'typescript', 'bin', 'tsc'),
  '-p',
  'tsconfig.build.json',
]);
buildIfStale('the browser bundles', ['src/browser', 'src/text'], join(root, 'dist-browser', '.built'), [
  join(root, 'scripts', 'build-browser.mjs'),
]);

process.argv = [process.argv[0], join(root, 'dist', 'cli', 'main.js'), 'start', ...process.argv.slice(2)];
await import(pathToFileURL(join(root, 'dist', 'cli', 'main.js')).href);
