/**
 * The bridged demo of `npm start` (development only, docs/bridge.md): `bridged.localhost` is a "big mail
 * provider" domain whose users sign in at a local development OpenID Connect provider (oidc-provider) on
 * PERSONA_PORT_BASE + 9, through the bridge. `prepareDemoBridge` fills the settings `persona start` hands its
 * processes (unless the operator set PERSONA_BRIDGE_PROVIDERS); `serveDemoProvider` runs the provider in
 * the examples' process.
 */
import { loadConfig } from '../config/load.ts';
import type { Config } from '../config/settings.ts';
import { DEVELOPMENT_OIDC_PORT_OFFSET, exampleOrigin, localOrigin } from '../topology/index.ts';

export const DEMO_DOMAIN = 'bridged.localhost';
export const DEMO_BRIDGE_ISSUER = 'bridge.localhost';
const DEMO_CLIENT = { clientId: 'persona-bridge-demo', clientSecret: 'development-only-secret' };

const providerOrigin = (config: Config): string =>
  localOrigin(config.host, config.portBase + DEVELOPMENT_OIDC_PORT_OFFSET);

/** Sets the demo's settings in `env` when in development with examples and no bridge configured. */
export function prepareDemoBridge(env: NodeJS.ProcessEnv): boolean {
  const config = loadConfig({ env });
  if (config.env !== 'development' || !config.examples || Object.keys(config.bridgeProviders).length > 0)
    return false;
  const bridge = localOrigin(config.host, config.bridgePort);
  env.PERSONA_BRIDGE_PROVIDERS = JSON.stringify({
    [DEMO_DOMAIN]: { issuer: providerOrigin(config), ...DEMO_CLIENT },
  });
  env.PERSONA_BRIDGE_ISSUER = DEMO_BRIDGE_ISSUER;
  env.PERSONA_BRIDGE_PUBLIC_URL = bridge;
  env.PERSONA_PROXY_IDPS ??= JSON.stringify({ ...config.proxyIdps, [DEMO_DOMAIN]: DEMO_BRIDGE_ISSUER });
  // Discovery reaches the bridge (and the example primary) on their local http ports.
  env.PERSONA_SHIMMED_PRIMARIES ??= JSON.stringify({
    [config.examplePrimaryDomain]: exampleOrigin(config, 'example-primary'),
    [DEMO_BRIDGE_ISSUER]: bridge,
  });
  return true;
}

/** The demo's provider, when the configuration names it; undefined otherwise. */
export async function serveDemoProvider(
  config: Config,
): Promise<{ url: string; close(): Promise<void> } | undefined> {
  const demo = config.bridgeProviders[DEMO_DOMAIN];
  if (config.env === 'production' || demo?.issuer !== providerOrigin(config)) return undefined;
  const { startDevelopmentProvider } = await import('./oidc-provider.ts');
  const provider = await startDevelopmentProvider({
    domain: DEMO_DOMAIN,
    clientId: demo.clientId,
    clientSecret: demo.clientSecret,
    redirectUri: `${config.bridgePublicUrl || localOrigin(config.host, config.bridgePort)}/oidc/callback`,
    host: config.host,
    port: config.portBase + DEVELOPMENT_OIDC_PORT_OFFSET,
  });
  return { url: provider.issuer, close: () => provider.close() };
}

/** The start banner's line about the demo. */
export const demoBanner = (config: Config): string =>
  config.bridgeProviders[DEMO_DOMAIN] === undefined
    ? ''
    : `\n  bridged demo:         any name@${DEMO_DOMAIN} signs in at ${providerOrigin(config)} (docs/bridge.md)`;
