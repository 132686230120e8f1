/**
 * `persona serve <tier>`: builds one tier from the configuration and listens. The composition root: the only
 * place that reads key files and opens databases for a tier. Database code is imported only for the tiers
 * that use it, so the keysigner process never loads it (SPEC §2).
 */
import { statSync } from 'node:fs';
import type { Logger } from 'pino';
import { parsePublicKey, parseSecretKey } from '../browserid/index.ts';
import type { Config } from '../config/settings.ts';
import { createLogger, type TierApp } from '../http/app.ts';
import { createDependencyMetrics, type DependencyMetrics } from '../http/dependency-metrics.ts';
import { loadCallerKeys, loadTierSecretKey, TIERS, type Tier } from '../http/tier-auth.ts';
import { createUpstream, type Upstream } from '../http/upstream.ts';
import { layoutOf, readRequired, type Layout } from './layout.ts';

export const PORT_OF: Record<Tier, (c: Config) => number> = {
  router: (c) => c.routerPort,
  webhead: (c) => c.webheadPort,
  dbwriter: (c) => c.dbwriterPort,
  keysigner: (c) => c.keysignerPort,
  verifier: (c) => c.verifierPort,
};

const URLS_OF: Partial<Record<Tier, (c: Config) => readonly string[]>> = {
  webhead: (c) => c.webheadUrls,
  dbwriter: (c) => c.dbwriterUrls,
  keysigner: (c) => c.keysignerUrls,
  verifier: (c) => c.verifierUrls,
};

/** Where the instances of a tier are: the configured list, else this host's port for it. */
export function instancesOf(tier: Tier, config: Config): string[] {
  const urls = URLS_OF[tier]?.(config) ?? [];
  return urls.length > 0 ? [...urls] : [`http://${config.host}:${PORT_OF[tier](config)}`];
}

export const isTier = (name: string | undefined): name is Tier => TIERS.some((t) => t === name);

export interface ServedTier {
  readonly tierApp: TierApp;
  readonly url: string;
  close(): Promise<void>;
}

const issuerOf = (config: Config): string => new URL(config.publicUrl).hostname;

function domainPublicKey(layout: Layout) {
  return parsePublicKey(readRequired(layout.domainPublicKey, 'the domain public key'));
}

async function build(
  tier: Tier,
  config: Config,
  layout: Layout,
  logger: Logger,
  dependencies: DependencyMetrics,
): Promise<{ tierApp: TierApp; cleanup: () => Promise<void> }> {
  const common = { logger, maxEventLoopLagMs: config.maxEventLoopLagMs };
  const callerKeys = loadCallerKeys(layout.tierKeysDir, tier);
  const upstreams: Upstream[] = [];
  const upstream = (to: Tier): Upstream => {
    const made = createUpstream({
      tier: to,
      urls: instancesOf(to, config),
      caller: tier,
      callerKey: loadTierSecretKey(layout.tierKeysDir, tier),
      logger,
    });
    upstreams.push(made);
    return made;
  };
  const closeUpstreams = async () => {
    await Promise.all(upstreams.map((u) => u.close()));
  };
  const discoveryFor = async () => {
    const { createDiscovery } = await import('../browserid/discovery.ts');
    return createDiscovery({
      ...(config.httpProxy ? { proxyUrl: config.httpProxy } : {}),
      timeoutMs: config.discoveryTimeoutMs,
      maxCacheMs: config.discoveryMaxCacheMs,
      onFetch: dependencies.discovery,
      shimmedPrimaries: new Map(
        Object.entries(config.shimmedPrimaries).map(([domain, origin]) => [domain.toLowerCase(), origin]),
      ),
    });
  };

  switch (tier) {
    case 'keysigner': {
      const { buildKeysigner } = await import('../tiers/keysigner/index.ts');
      const tierApp = buildKeysigner({
        ...common,
        issuer: issuerOf(config),
        domainKey: parseSecretKey(readRequired(layout.domainSecretKey, 'the domain secret key')),
        certificateValidityMs: config.certificateValidityMs,
        ephemeralValidityMs: config.ephemeralSessionDurationMs,
        forcibleIssuers: config.forcibleIssuers,
        callerKeys,
      });
      return { tierApp, cleanup: closeUpstreams };
    }
    case 'verifier': {
      const { buildVerifier } = await import('../tiers/verifier/index.ts');
      const discovery = await discoveryFor();
      const tierApp = buildVerifier({
        ...common,
        fallbackIssuer: issuerOf(config),
        fallbackKey: domainPublicKey(layout),
        forcibleIssuers: config.forcibleIssuers,
        directory: discovery,
        callerKeys,
      });
      return { tierApp, cleanup: () => discovery.close() };
    }
    case 'router': {
      const { buildRouter } = await import('../tiers/router/index.ts');
      const tierApp = buildRouter({
        ...common,
        webhead: upstream('webhead'),
        dbwriter: upstream('dbwriter'),
        verifier: upstream('verifier'),
        fakeVerification: config.fakeVerification,
        https: config.publicUrl.startsWith('https:'),
      });
      return { tierApp, cleanup: closeUpstreams };
    }
    case 'webhead':
    case 'dbwriter':
      return buildDatabaseTier(tier, config, layout, logger, dependencies, {
        callerKeys,
        upstream,
        closeUpstreams,
        discoveryFor,
      });
  }
}

interface Wiring {
  readonly callerKeys: ReturnType<typeof loadCallerKeys>;
  readonly upstream: (to: Tier) => Upstream;
  readonly closeUpstreams: () => Promise<void>;
  readonly discoveryFor: () => Promise<import('../browserid/discovery.ts').Discovery>;
}

async function buildDatabaseTier(
  tier: 'webhead' | 'dbwriter',
  config: Config,
  layout: Layout,
  logger: Logger,
  dependencies: DependencyMetrics,
  wiring: Wiring,
): Promise<{ tierApp: TierApp; cleanup: () => Promise<void> }> {
  const db = await import('../db/read.ts');
  const { createPasswordHasher } = await import('../passwords/index.ts');
  const { createSessionCodec } = await import('../wsapi/session.ts');
  const settings = db.databaseSettingsFrom(config, {
    readUrl: config.databaseReadUrl,
    queryTimeoutMs: config.databaseQueryTimeoutMs,
  });
  if (tier === 'dbwriter' && config.migrateAtStart)
    await (await import('../db/write.ts')).migrateToLatest(settings.write);
  const hasher = createPasswordHasher({ cost: config.bcryptCost, onTiming: dependencies.bcrypt });
  const observed = { observe: dependencies.database };
  dependencies.watchBcrypt(() => hasher.load());
  const codec = createSessionCodec({
    secret: readRequired(layout.cookieSecret, 'the cookie secret').trim(),
    publicUrl: config.publicUrl,
  });
  const discovery = await wiring.discoveryFor();
  const shared = {
    logger,
    maxEventLoopLagMs: config.maxEventLoopLagMs,
    hasher,
    codec,
    https: config.publicUrl.startsWith('https:'),
    publicUrl: config.publicUrl,
    sessionDurationMs: config.sessionDurationMs,
    ephemeralSessionDurationMs: config.ephemeralSessionDurationMs,
    callerKeys: wiring.callerKeys,
    discovery,
  };
  if (tier === 'dbwriter') {
    const { buildDbwriter } = await import('../tiers/dbwriter/index.ts');
    const { createMailer } = await import('../mail/index.ts');
    const writer = (await import('../db/write.ts')).openWriter(settings, observed);
    const mailer = createMailer({
      publicUrl: config.publicUrl,
      from: `Persona <no-reply@${issuerOf(config)}>`,
      smtpUrl: config.smtpUrl,
      mailboxDir: layoutOf(config).mailboxDir,
      logger,
    });
    const tierApp = buildDbwriter({
      ...shared,
      writer,
      mailer,
      minTimeBetweenEmailsMs: config.minTimeBetweenEmailsMs,
    });
    return {
      tierApp,
      cleanup: async () => {
        mailer.close();
        await discovery.close();
        await writer.close();
      },
    };
  }
  const { buildWebhead } = await import('../tiers/webhead/index.ts');
  const reader = db.openReader(settings, observed);
  const tierApp = buildWebhead({
    ...shared,
    reader,
    domainPublicKey: domainPublicKey(layout),
    // The key file's time stands for the key's creation (the original read its root certificate's iat).
    domainKeyCreatedAt: Math.round(statSync(layout.domainPublicKey).mtimeMs),
    keysigner: wiring.upstream('keysigner'),
    dbwriter: wiring.upstream('dbwriter'),
    maxAuthAttempts: config.maxAuthAttempts,
    forcibleIssuers: config.forcibleIssuers,
    proxyIdps: config.proxyIdps,
    fakeVerification: config.fakeVerification,
    ...(config.devMailbox ? { devMailboxDir: layout.mailboxDir } : {}),
  });
  return {
    tierApp,
    cleanup: async () => {
      await wiring.closeUpstreams();
      await discovery.close();
      await reader.close();
    },
  };
}

/** Builds and starts `tier` on its configured address. */
export async function serveTier(
  tier: Tier,
  config: Config,
  logger = createLogger(tier, config.logLevel),
): Promise<ServedTier> {
  const layout = layoutOf(config);
  const dependencies = createDependencyMetrics();
  const { tierApp, cleanup } = await build(tier, config, layout, logger, dependencies);
  dependencies.attach(tierApp.metrics.registry);
  const url = await tierApp.app.listen({ host: config.host, port: PORT_OF[tier](config) });
  logger.info({ event: 'listening', url }, `${tier} listening on ${url}`);
  return {
    tierApp,
    url,
    async close() {
      await tierApp.app.close();
      await cleanup();
    },
  };
}
