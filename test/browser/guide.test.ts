// docs/relying-parties.md shows the example site's code as it is (issue 18): the page's script and the
// server's sign-in and sign-out. No browser here.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { SITE_JS } from '../../src/example/site.ts';

const guide = readFileSync(new URL('../../docs/relying-parties.md', import.meta.url), 'utf8');
const site = readFileSync(new URL('../../src/example/site.ts', import.meta.url), 'utf8');

test("the guide shows the example site's page script as it is", () => {
  assert.ok(guide.includes('```js\n' + SITE_JS + '```'), 'docs/relying-parties.md: the ```js block');
});

test("the guide shows the example site's server sign-in and sign-out as they are", () => {
  const start = site.indexOf('// guide:server start');
  const end = site.indexOf('  // guide:server end');
  assert.ok(start > 0 && end > start, 'the markers in src/example/site.ts');
  const code = site
    .slice(site.indexOf('\n', start) + 1, end)
    .split('\n')
    .map((line) => line.replace(/^ {2}/, ''))
    .join('\n');
  assert.ok(guide.includes('```ts\n' + code + '```'), 'docs/relying-parties.md: the ```ts block');
});

test('the guide names every failure reason the verifier gives', async () => {
  const { reasons } = await import('../../src/browserid/errors.ts');
  for (const reason of Object.values(reasons)) assert.ok(guide.includes(reason), reason);
});
