/**
 * SPEC §2: the keysigner imports no database code. Walks the static import graph from what a keysigner
 * process loads (the CLI entry, the serve wiring, the keysigner tier) and fails on any database module.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

const STATIC_IMPORT = /^\s*(?:import|export)\s+(?!type\b)(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/gm;

function staticGraph(entries: string[]): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const queue = entries.map((e) => resolve(e));
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    for (const [, spec] of readFileSync(file, 'utf8').matchAll(STATIC_IMPORT)) {
      if (spec!.startsWith('.')) queue.push(resolve(dirname(file), spec!));
      else
        packages.add(spec!.startsWith('@') ? spec!.split('/').slice(0, 2).join('/') : spec!.split('/')[0]!);
    }
  }
  return { files, packages };
}

test('a keysigner process loads no database module, statically', () => {
  const { files, packages } = staticGraph([
    'src/cli/main.ts',
    'src/cli/serve.ts',
    'src/tiers/keysigner/index.ts',
  ]);
  const dbFiles = [...files].filter((f) => f.includes('/src/db/'));
  assert.deepEqual(dbFiles, []);
  for (const pkg of ['better-sqlite3', 'mysql2', 'kysely', 'bcrypt', 'nodemailer'])
    assert.ok(!packages.has(pkg), `${pkg} is imported`);
  assert.ok(files.has(resolve('src/browserid/certificate.ts')), 'the walk does follow imports');
});

test('the walk notices a database import (the check can fail)', () => {
  const { files } = staticGraph(['src/wsapi/framework.ts']);
  assert.ok([...files].some((f) => f.includes('/src/db/')));
});
