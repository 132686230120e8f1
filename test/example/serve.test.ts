/** `persona serve example-*`: each example listens on its configured port, and production refuses them. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { request } from 'undici';
import { exampleOrigin, isExample, serveExample, type ExampleConfig } from '../../src/example/serve.ts';
import { freePort } from '../helpers/stack.ts';

const silent = pino({ level: 'silent' });

async function configWith(env: ExampleConfig['env']): Promise<ExampleConfig> {
  return {
    env,
    host: '127.0.0.1',
    publicUrl: 'http://127.0.0.1:10002',
    logLevel: 'silent',
    exampleSitePort: await freePort(),
    examplePrimaryPort: await freePort(),
    examplePrimaryDomain: 'example.domain',
  };
}

test('both examples serve on their ports in development', async () => {
  const config = await configWith('development');
  const site = await serveExample('example-site', config, silent);
  const primary = await serveExample('example-primary', config, silent);
  try {
    assert.equal(site.url, `http://127.0.0.1:${config.exampleSitePort}`);
    const page = await request(`${site.url}/`);
    assert.equal(page.statusCode, 200);
    assert.match(await page.body.text(), /<script src="http:\/\/127\.0\.0\.1:10002\/include\.js">/);
    const doc = await request(`${primary.url}/.well-known/browserid`);
    assert.equal(doc.statusCode, 200);
    assert.equal(((await doc.body.json()) as Record<string, unknown>).provisioning, '/provision');
  } finally {
    await site.close();
    await primary.close();
  }
});

test('production refuses the examples; names and origins', async () => {
  const config = await configWith('production');
  await assert.rejects(serveExample('example-primary', config, silent), /development only/);
  await assert.rejects(serveExample('example-site', config, silent), /development only/);
  assert.ok(isExample('example-site') && isExample('example-primary') && !isExample('router'));
  assert.equal(
    exampleOrigin({ ...config, host: '0.0.0.0' }, 'example-primary'),
    `http://127.0.0.1:${config.examplePrimaryPort}`,
  );
});
