// The import rule that keeps the load generator out of every tier (.dependency-cruiser.cjs), shown failing
// on a scratch tree where a tier loads it, and passing where only the CLI entry point does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

const ROOT = resolve('.');

function cruise(files: Record<string, string>): { status: number | null; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'persona-loadgen-deps-'));
  try {
    writeFileSync(join(dir, 'tsconfig.json'), '{}');
    for (const [path, source] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), source);
    }
    const r = spawnSync(
      process.execPath,
      [
        join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs'),
        '--config',
        join(ROOT, '.dependency-cruiser.cjs'),
        'src',
      ],
      { cwd: dir, encoding: 'utf8' },
    );
    return { status: r.status, output: r.stdout + r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const LOADGEN = { 'src/loadgen/index.ts': 'export const runLoadgen = 1;\n' };

test('only the CLI entry point loads src/loadgen; a tier that does breaks the rule', () => {
  const allowed = cruise({
    ...LOADGEN,
    'src/cli/main.ts': "export const main = () => import('../loadgen/index.ts');\n",
  });
  assert.equal(allowed.status, 0, allowed.output);
  const tier = cruise({
    ...LOADGEN,
    'src/tiers/webhead/index.ts':
      "import { runLoadgen } from '../../loadgen/index.ts';\nexport { runLoadgen };\n",
  });
  assert.notEqual(tier.status, 0);
  assert.match(tier.output, /nothing-loads-the-loadgen/);
});
