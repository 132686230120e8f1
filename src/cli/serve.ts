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
import { loadCalleeKey, loadCallerKeys } from '../http/tier-auth.ts';
import type { Upstream } from '../http/upstream.ts';
import {
  deploymentOf,
  EDGE,
  edgeMayCall,
  instancePort,
  instancesOf,
  portSettingOf,
  mayCall,
  TIERS,
  type ExampleName,
  type Tier,
} from '../topology/index.ts';
import { layoutOf, readRequired, type Layout } from './layout.ts';

/** Another process holds the port: the message names it, the tier and the setting that moves it. */
export class PortTakenError extends Error {
  constructor(owner: Tier | ExampleName, host: string, port: number) {
    super(
      `port ${host}:${port} for the ${owner} is taken by another process; stop that process, or move the whole stack with PERSONA_PORT_BASE (this port alone with ${portSettingOf(owner)})`,
    );
  }
}

export interface ServedTier {
  readonly tierApp: TierApp;
  readonly url: string;
  close(): Promise<void>;
}

const issuerOf = (config: Config): string => new URL(config.publicUrl).hostname;

function bridgeIssuerOf(config: Config): string {
  if (config.bridgeIssuer === '') throw new Error('PERSONA_BRIDGE_ISSUER must be set with PERSONA_BRIDGE_PROVIDERS');
  return config.bridgeIssuer;
}

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
  // Only a tier that calls others loads the HTTP client (the keysigner's process stays small).
  const client = TIERS[tier].mayCall.length > 0 ? await import('../http/upstream.ts') : undefined;
  const upstream = (to: Tier): Upstream => {
    if (!client || !mayCall(tier, to)) throw new Error(`the topology does not let ${tier} call ${to}`);
    const made = client.createUpstream({
      tier: to,
      urls: instancesOf(deploymentOf(config), to).map((instance) => instance.url),
      caller: tier,
      callerKey: loadCalleeKey(layout.tierKeysDir, tier, to),
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
        // A bridged domain's certificates come from its bridge (PERSONA_PROXY_IDPS), as the webhead sees it.
        directory: (await import('../tiers/webhead/primaries.ts')).withProxyIdps(discovery, config.proxyIdps),
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
        trustedEdges: (await import('../tiers/router/client-address.ts')).trustedEdges(config.trustedProxies),
      });
      return { tierApp, cleanup: closeUpstreams };
    }
    case 'bridgesigner': {
      // The bridge's own key, apart from its web-facing process (docs/bridge.md); the keysigner's code.
      const { buildKeysigner } = await import('../tiers/keysigner/index.ts');
      const tierApp = buildKeysigner({
        ...common,
        tier: 'bridgesigner',
        issuer: bridgeIssuerOf(config),
        domainKey: parseSecretKey(readRequired(layout.bridgeSecretKey, "the bridge's secret key")),
        certificateValidityMs: config.bridgeCertificateValidityMs,
        ephemeralValidityMs: config.bridgeCertificateValidityMs,
        forcibleIssuers: [],
        callerKeys,
      });
      return { tierApp, cleanup: closeUpstreams };
    }
    case 'bridge': {
      const { buildBridge } = await import('../tiers/bridge/index.ts');
      const { createEgressDispatcher } = await import('../browserid/egress.ts');
      if (config.env === 'production') {
        const plain = Object.entries(config.bridgeProviders).filter(([, p]) => p.issuer.startsWith('http:'));
        if (plain.length > 0)
          throw new Error(`PERSONA_BRIDGE_PROVIDERS: an http issuer (${plain.map(([d]) => d).join(', ')}) is for development only`);
      }
      const egress = createEgressDispatcher({
        ...(config.httpProxy ? { proxyUrl: config.httpProxy } : {}),
        connectTimeoutMs: 5000,
      });
      const issuer = bridgeIssuerOf(config);
      const tierApp = buildBridge({
        ...common,
        issuer,
        publicUrl: config.bridgePublicUrl || `https://${issuer}`,
        personaUrl: config.publicUrl,
        publicKey: parsePublicKey(readRequired(layout.bridgePublicKey, "the bridge's public key")),
        cookieSecret: readRequired(layout.bridgeCookieSecret, "the bridge's cookie secret").trim(),
        providers: config.bridgeProviders,
        killSwitchFile: config.bridgeKillSwitchFile || `${layout.dataDir}/bridge-kill-switch`,
        signer: upstream('bridgesigner'),
        dbwriter: upstream('dbwriter'),
        egress,
      });
      return {
        tierApp,
        cleanup: async () => {
          await closeUpstreams();
          // Not close(): it would wait for a tunnel a silent proxy never answers.
          await egress.destroy();
        },
      };
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
      outbox: {
        retryMs: config.mailRetryMs,
        maxAttempts: config.mailMaxAttempts,
        leaseMs: config.mailLeaseMs,
      },
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
    // Production serves the bundles built at install time and never runs a bundler.
    ...(config.env === 'production' ? { browserBundles: 'prebuilt' as const } : {}),
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

/** With PERSONA_EDGE_LISTENERS, a tier the edge calls also answers it over mutual TLS (docs/edge.md). */
async function edgeListenerFor(tier: Tier, config: Config, layout: Layout, tierApp: TierApp) {
  if (!config.edgeListeners || !edgeMayCall(tier)) return undefined;
  const [{ attachEdgeListener }, { loadEdgeListenerTls, tierTlsDir }, { route }] = await Promise.all([
    import('../http/edge-listener.ts'),
    import('../http/tier-tls.ts'),
    import('../tiers/router/index.ts'),
  ]);
  return attachEdgeListener(tierApp, {
    tier,
    tls: loadEdgeListenerTls(tierTlsDir(layout.tierKeysDir), tier),
    route: (method, url) => route(method, url, config.fakeVerification),
  });
}

/** Builds and starts instance `instance` of `tier` on its configured address. */
export async function serveTier(
  tier: Tier,
  config: Config,
  logger = createLogger(tier, config.logLevel),
  instance = 0,
): Promise<ServedTier> {
  const layout = layoutOf(config);
  const dependencies = createDependencyMetrics();
  const { tierApp, cleanup } = await build(tier, config, layout, logger, dependencies);
  dependencies.attach(tierApp.metrics.registry);
  const edge = await edgeListenerFor(tier, config, layout, tierApp);
  const port = instancePort(deploymentOf(config), tier, instance);
  const listening = async (at: number, open: () => Promise<string>) => {
    try {
      return await open();
    } catch (err) {
      await tierApp.app.close();
      await cleanup();
      throw (err as NodeJS.ErrnoException).code === 'EADDRINUSE'
        ? new PortTakenError(tier, config.host, at)
        : err;
    }
  };
  const url = await listening(port, () => tierApp.app.listen({ host: config.host, port }));
  if (edge) {
    const edgePort = port === 0 ? 0 : port + EDGE.listenerPortOffset;
    const edgeUrl = await listening(edgePort, () => edge.listen(config.host, edgePort));
    logger.info({ event: 'edge listening', url: edgeUrl }, `${tier} listening for the edge on ${edgeUrl}`);
  }
  logger.info({ event: 'listening', url }, `${tier} listening on ${url}`);
  return {
    tierApp,
    url,
    async close() {
      await edge?.close();
      await tierApp.app.close();
      await cleanup();
    },
  };
}
