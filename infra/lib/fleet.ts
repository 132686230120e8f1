/**
 * The fleet's view of the topology: the configuration a region's hosts run with (its public URL, a MySQL
 * database, SMTP, the egress proxy), the tiers it deploys and the allow matrix for it. Everything here is
 * imported from src/: tiers, ports and who may call whom are never restated in the infrastructure.
 */
import { loadConfig } from '../../src/config/load.ts';
import type { Config } from '../../src/config/settings.ts';
import { allowMatrix, type AllowRule, type Endpoint } from '../../src/ops/matrix.ts';
import {
  callersOf,
  deploymentOf,
  instanceCount,
  instancesOf,
  RUNNING_TIERS,
  type Tier,
} from '../../src/topology/index.ts';
import type { Environment } from './environments.ts';

/** Only the ports matter here; the hosts' real endpoints are written into their environment at boot. */
export const EGRESS_PROXY_PORT = 3128;
export const SMTP_PORT = 587;
export const DATABASE_PORT = 3306;

export function fleetConfig(environment: Environment, region: string): Config {
  return loadConfig({
    env: {
      PERSONA_ENV: 'production',
      PERSONA_PUBLIC_URL: `https://${environment.domain}`,
      PERSONA_HOST: '0.0.0.0',
      PERSONA_DATABASE_URL: `mysql://persona@database.persona.internal:${DATABASE_PORT}/persona`,
      PERSONA_SMTP_URL: `smtp://email-smtp.${region}.amazonaws.com:${SMTP_PORT}`,
      PERSONA_HTTP_PROXY: `http://egress.persona.internal:${EGRESS_PROXY_PORT}`,
    },
  });
}

export interface Fleet {
  readonly config: Config;
  /** The tiers this deployment runs (optional tiers only where enabled). */
  readonly tiers: readonly Tier[];
  /** The allow matrix, for the tiers deployed. */
  readonly matrix: readonly AllowRule[];
  /** The port each deployed tier listens on (every instance of a tier the same port). */
  readonly port: (tier: Tier) => number;
  /** The deployed tiers that other tiers call: each gets an internal load balancer. */
  readonly called: readonly Tier[];
}

export function fleetOf(environment: Environment, region: string): Fleet {
  const config = fleetConfig(environment, region);
  const deployment = deploymentOf(config);
  const tiers = RUNNING_TIERS.filter((tier) => instanceCount(deployment, tier) > 0);
  const deployed = (endpoint: Endpoint) =>
    !(RUNNING_TIERS as readonly string[]).includes(endpoint) || tiers.includes(endpoint as Tier);
  const matrix = allowMatrix(config).filter(
    (rule) => rule.ports.length > 0 && deployed(rule.from) && deployed(rule.to),
  );
  const port = (tier: Tier): number => {
    const [first] = instancesOf(deployment, tier);
    if (!first) throw new Error(`${tier} is not deployed`);
    return first.port;
  };
  const called = tiers.filter((tier) => callersOf(tier).some((caller) => tiers.includes(caller)));
  return { config, tiers, matrix, port, called };
}
