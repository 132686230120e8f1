// The import rules (.dependency-cruiser.cjs, run by `npm run deps`): the real tree keeps them, and each
// rule fails on a deliberate violation, built in a scratch tree laid out like src/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

const ROOT = resolve('.');
const DEPCRUISE = join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');
const CONFIG = join(ROOT, '.dependency-cruiser.cjs');

function cruise(cwd: string): { status: number | null; output: string } {
  const r = spawnSync(process.execPath, [DEPCRUISE, '--config', CONFIG, 'src'], { cwd, encoding: 'utf8' });
  return { status: r.status, output: r.stdout + r.stderr };
}

/** A scratch tree with the given files (path → source), cruised with the project's rules. */
function cruiseFiles(files: Record<string, string>): { status: number | null; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'persona-deps-'));
  try {
    writeFileSync(join(dir, 'tsconfig.json'), '{}');
    for (const [path, source] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), source);
    }
    return cruise(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('the source tree keeps every import rule', () => {
  const { status, output } = cruise(ROOT);
  assert.equal(status, 0, output);
});

test('a scratch tree without violations passes (the failures below are the rules, not the set-up)', () => {
  const { status, output } = cruiseFiles({
    'src/tiers/keysigner/index.ts':
      "import { sign } from '../../browserid/jws.ts';\nexport const k = sign;\n",
    'src/browserid/jws.ts': "import { createSign } from 'node:crypto';\nexport const sign = createSign;\n",
    'src/tiers/webhead/index.ts':
      "import { openReader } from '../../db/read.ts';\nexport const w = openReader;\n",
    'src/db/read.ts': 'export const openReader = 1;\n',
  });
  assert.equal(status, 0, output);
});

const violations: Record<string, Record<string, string>> = {
  // Through a helper: the rule follows imports transitively.
  'keysigner-no-db': {
    'src/tiers/keysigner/index.ts': "import { h } from './helper.ts';\nexport const k = h;\n",
    'src/tiers/keysigner/helper.ts':
      "import { openReader } from '../../db/read.ts';\nexport const h = openReader;\n",
    'src/db/read.ts': 'export const openReader = 1;\n',
  },
  'keysigner-no-mail-sessions-passwords': {
    'src/tiers/keysigner/index.ts':
      "import { codec } from '../../wsapi/session.ts';\nexport const k = codec;\n",
    'src/wsapi/session.ts': 'export const codec = 1;\n',
  },
  'read-tiers-no-db-writes': {
    'src/tiers/webhead/index.ts':
      "import type { Writer } from '../../db/write.ts';\nexport type W = Writer;\n",
    'src/db/write.ts': 'export type Writer = number;\n',
  },
  'read-tiers-no-mail': {
    'src/tiers/router/index.ts': "import { send } from '../../mail/index.ts';\nexport const r = send;\n",
    'src/mail/index.ts': 'export const send = 1;\n',
  },
  'tiers-through-entry-points': {
    'src/tiers/dbwriter/index.ts':
      "import { stage } from '../../db/writes/staged.ts';\nexport const d = stage;\n",
    'src/db/writes/staged.ts': 'export const stage = 1;\n',
  },
  'accounts-without-http': {
    'src/accounts/staging.ts':
      "import type { WsapiContext } from '../wsapi/framework.ts';\nexport type S = WsapiContext;\n",
    'src/wsapi/framework.ts': 'export type WsapiContext = number;\n',
  },
  'cli-loads-storage-lazily': {
    'src/cli/serve.ts': "import { openWriter } from '../db/write.ts';\nexport const s = openWriter;\n",
    'src/db/write.ts': 'export const openWriter = 1;\n',
  },
  'no-bundler-at-run-time': {
    'src/tiers/webhead/static.ts': "import { build } from 'esbuild';\nexport const s = build;\n",
  },
  'browserid-pure': {
    'src/browserid/verify.ts': "import { readFileSync } from 'node:fs';\nexport const v = readFileSync;\n",
  },
  'browserid-stays-in-protocol': {
    'src/browserid/verify.ts': "import { e } from '../http/errors.ts';\nexport const v = e;\n",
    'src/http/errors.ts': 'export const e = 1;\n',
  },
  'browser-no-server-code': {
    'src/browser/dialog.ts': "import { isEmail } from '../browserid/names.ts';\nexport const d = isEmail;\n",
    'src/browserid/names.ts': 'export const isEmail = 1;\n',
  },
  'server-no-browser-code': {
    'src/tiers/webhead/static.ts': "import { t } from '../../browser/i18n.ts';\nexport const s = t;\n",
    'src/browser/i18n.ts': 'export const t = 1;\n',
  },
  'text-stands-alone': {
    'src/text/i18n.ts': "import { d } from '../browser/dom.ts';\nexport const t = d;\n",
    'src/browser/dom.ts': 'export const d = 1;\n',
  },
  'bridge-no-db-mail-passwords': {
    'src/tiers/bridge/index.ts': "import { send } from '../../mail/index.ts';\nexport const b = send;\n",
    'src/mail/index.ts': 'export const send = 1;\n',
  },
  'oidc-provider-only-in-the-example': {
    'src/tiers/bridge/index.ts': "import Provider from 'oidc-provider';\nexport const b = Provider;\n",
  },
  'development-provider-loaded-lazily': {
    'src/cli/main.ts': "import { start } from '../example/oidc-provider.ts';\nexport const m = start;\n",
    'src/example/oidc-provider.ts': 'export const start = 1;\n',
  },
};

for (const [rule, files] of Object.entries(violations)) {
  test(`${rule}: a deliberate violation fails, naming the rule`, () => {
    const { status, output } = cruiseFiles(files);
    assert.notEqual(status, 0, output);
    assert.match(output, new RegExp(`error ${rule}:`), output);
  });
}
