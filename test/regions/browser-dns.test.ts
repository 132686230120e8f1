/**
 * A browser follows the regions' DNS (issue 15): Debian's Chromium, in a mount namespace whose
 * /etc/resolv.conf names the real PowerDNS (on 127.0.53.1:53; same network namespace, so the regions'
 * loopback addresses stay reachable), opens the service by its name and lands on the region PowerDNS
 * answers: either while both are up, b once a is stopped, a once b is stopped. The tiers are real
 * (SQLite shared on this host: the database across regions is the drill's part).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { ensureLayout, layoutOf } from '../../src/cli/layout.ts';
import { portTaken } from '../../src/cli/ports.ts';
import { loadConfig } from '../../src/config/load.ts';
import { databaseSettingsFrom, migrateToLatest } from '../../src/db/write.ts';
import { dnsFiles } from '../../src/ops/dns.ts';
import { startPdns, type RunningDns } from '../../src/regions/pdns.ts';
import { createRegions, type Regions } from '../../src/regions/start.ts';
import { DNS_HOST, regionsOf } from '../../src/topology/regions.ts';
import { CHROMIUM, CHROMIUM_FLAGS, CHROMIUM_PATH } from '../browser/chromium.ts';
import { missing, POWERDNS } from '../helpers/components.ts';
import { freePort } from '../helpers/stack.ts';

const skip =
  (await missing(CHROMIUM)) ??
  (await missing(POWERDNS)) ??
  (await missing({
    name: `root with unshare and a free ${DNS_HOST}:53 (a browser's resolver asks port 53)`,
    install: 'run as root (util-linux unshare)',
    present: async () =>
      process.getuid?.() === 0 &&
      spawnSync('unshare', ['--mount', 'true']).status === 0 &&
      !(await portTaken(DNS_HOST, 53)),
  }));

const regions = regionsOf(2);
let dir: string;
let dns: RunningDns;
let stacks: Regions;
let base: string;
let wrapper: string;

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'p15-browser-'));
  const routerPort = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PERSONA_ENV: 'test',
    PERSONA_DATA_DIR: join(dir, 'var'),
    PERSONA_PORT_BASE: String(routerPort - 2),
    PERSONA_PUBLIC_URL: `http://login.persona.test:${routerPort}`,
    PERSONA_BCRYPT_COST: '4',
    PERSONA_LOG_LEVEL: 'warn',
    PERSONA_MAX_EVENT_LOOP_LAG_MS: '0',
  };
  const config = loadConfig({ env });
  ensureLayout(layoutOf(config));
  await migrateToLatest(databaseSettingsFrom(config).write);
  const dnsDir = join(dir, 'dns');
  dns = await startPdns(dnsDir, dnsFiles(config, { dir: dnsDir, regions, port: 53 }));
  stacks = createRegions({
    config,
    regions,
    env,
    serveCommand: [process.execPath, '--import', 'tsx', 'src/cli/main.ts'],
    out: () => undefined,
  });
  await Promise.all(regions.map((r) => stacks.start(r.name)));
  base = stacks.publicUrl;
  // Chromium with its own /etc/resolv.conf naming PowerDNS: a mount namespace, not a network one.
  writeFileSync(join(dir, 'resolv.conf'), `nameserver ${DNS_HOST}\noptions timeout:1 attempts:2\n`);
  wrapper = join(dir, 'chromium');
  writeFileSync(
    wrapper,
    `#!/bin/sh\nexec unshare --mount -- /bin/sh -c 'mount --bind "$1" /etc/resolv.conf && shift && exec ${CHROMIUM_PATH} "$@"' sh ${join(dir, 'resolv.conf')} "$@"\n`,
  );
  chmodSync(wrapper, 0o755);
});

after(async () => {
  await stacks?.stopAll();
  await dns?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A fresh browser (no DNS cache) opens the service's name; the address it reached. */
async function openInBrowser(): Promise<string | undefined> {
  const profile = join(dir, `profile-${Date.now()}`);
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: wrapper,
    headless: true,
    args: [...CHROMIUM_FLAGS],
    timeout: 60_000,
  });
  try {
    const page = await context.newPage();
    const response = await page.goto(`${base}/__heartbeat__`, { timeout: 30_000 });
    assert.equal(response?.status(), 200);
    assert.equal((await page.textContent('body'))?.trim(), 'ok');
    return (await response?.serverAddr())?.ipAddress;
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

async function untilDns(want: string[]): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (JSON.stringify(await dns.answers()) !== JSON.stringify(want)) {
    if (Date.now() > deadline) assert.fail(`DNS answers ${(await dns.answers()).join(', ')}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

test(
  'Chromium resolves the service through PowerDNS and lands where it answers',
  { skip, timeout: 300_000 },
  async () => {
    await untilDns(['127.0.1.1', '127.0.2.1']);
    assert.ok(['127.0.1.1', '127.0.2.1'].includes((await openInBrowser()) ?? ''));

    await stacks.stop('a');
    await untilDns(['127.0.2.1']);
    assert.equal(await openInBrowser(), '127.0.2.1');

    await stacks.start('a');
    await stacks.stop('b');
    await untilDns(['127.0.1.1']);
    assert.equal(await openInBrowser(), '127.0.1.1');
  },
);
