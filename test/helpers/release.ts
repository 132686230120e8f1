/**
 * The release as a user gets it, for tests: the tree's sources staged in a temp folder (so the shared
 * checkout's dist/ is never rebuilt under other tests), `npm pack` there (its prepack builds dist/ and
 * dist-browser/), the native prebuilds beside it, and an install of the tarball into an empty folder
 * with production dependencies only (from the npm cache, else the registry).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..', '..');
/** What `npm pack` reads from the tree: the package, its build inputs and the scripts the build runs. */
const STAGED = ['package.json', 'README.md', 'tsconfig.json', 'tsconfig.build.json', 'bin', 'scripts', 'src'];

export interface Release {
  /** Where everything of this release lives (remove it when done). */
  readonly dir: string;
  readonly tarball: string;
  readonly prebuilds: string;
  /** The tarball's files, relative to the package (without the `package/` prefix). */
  readonly files: readonly string[];
}

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): string {
  const r = spawnSync(command, args, { cwd, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0)
    throw new Error(`${command} ${args.join(' ')} failed (${r.status}):\n${r.stderr.slice(-4000)}`);
  return r.stdout;
}

export function packRelease(): Release {
  const dir = mkdtempSync(join(tmpdir(), 'persona-release-'));
  const tree = join(dir, 'tree');
  mkdirSync(tree);
  for (const name of STAGED) cpSync(join(ROOT, name), join(tree, name), { recursive: true });
  // The build tools (tsc, esbuild) come from the checkout's dependencies.
  symlinkSync(join(ROOT, 'node_modules'), join(tree, 'node_modules'), 'dir');
  run('npm', ['pack', '--silent', '--pack-destination', dir], tree);
  const tarball = join(dir, readdirSync(dir).find((name) => name.endsWith('.tgz')) ?? 'missing.tgz');
  const prebuilds = join(dir, 'prebuilds');
  run(process.execPath, [join(tree, 'scripts', 'native-prebuilds.mjs'), prebuilds], tree);
  const files = execFileSync('tar', ['tzf', tarball], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => line.replace(/^package\//, ''));
  return { dir, tarball, prebuilds, files };
}

/** The package.json of an installing host: it approves the native addons' install scripts (npm 11). */
export const HOST_PACKAGE = { private: true, allowScripts: { bcrypt: true, 'better-sqlite3': true } };

/**
 * Installs the release into `into` as a fleet host does (docs/provisioning.md): an empty project that
 * approves the install scripts of the native addons, `npm install --omit=dev` of the tarball.
 */
export function installRelease(release: Release, into: string): string {
  mkdirSync(into, { recursive: true });
  writeFileSync(join(into, 'package.json'), `${JSON.stringify(HOST_PACKAGE)}\n`);
  run(
    'npm',
    [
      'install',
      '--omit=dev',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      '--loglevel=error',
      release.tarball,
    ],
    into,
    { ...process.env, npm_config_better_sqlite3_local_prebuilds: release.prebuilds },
  );
  return join(into, 'node_modules', 'persona-ts');
}
