/**
 * `persona serve example-site` / `persona serve example-primary`: the development examples as their own
 * processes, next to the tiers under `persona start` (docs/examples.md). Refused in production: the example
 * primary signs anyone in as anyone.
 */
import type { Logger } from 'pino';
import type { Config } from '../config/settings.ts';
import { createLogger } from '../http/app.ts';

export const EXAMPLES = ['example-site', 'example-primary'] as const;
export type ExampleName = (typeof EXAMPLES)[number];

export const isExample = (name: string | undefined): name is ExampleName => EXAMPLES.some((e) => e === name);

/** The settings the examples read (the last three come from src/config/settings.ts once added there). */
export type ExampleConfig = Pick<Config, 'env' | 'host' | 'publicUrl' | 'logLevel'> & {
  readonly exampleSitePort: number;
  readonly examplePrimaryPort: number;
  readonly examplePrimaryDomain: string;
};

export interface ServedExample {
  readonly name: ExampleName;
  readonly url: string;
  close(): Promise<void>;
}

/** Where an example is reached from a browser: the listen address, with 0.0.0.0 shown as 127.0.0.1. */
export function exampleOrigin(config: ExampleConfig, name: ExampleName): string {
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const port = name === 'example-site' ? config.exampleSitePort : config.examplePrimaryPort;
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

export async function serveExample(
  name: ExampleName,
  config: ExampleConfig,
  logger: Logger = createLogger(name, config.logLevel),
): Promise<ServedExample> {
  if (config.env === 'production') throw new Error(`${name} is for development only; refused in production`);
  const origin = exampleOrigin(config, name);
  let built;
  if (name === 'example-site') {
    const { buildExampleSite } = await import('./site.ts');
    built = buildExampleSite({ personaUrl: config.publicUrl, origin, logger });
  } else {
    const { buildExamplePrimary } = await import('./primary.ts');
    built = buildExamplePrimary({
      domain: config.examplePrimaryDomain,
      origin,
      personaUrl: config.publicUrl,
      logger,
    });
  }
  const port = name === 'example-site' ? config.exampleSitePort : config.examplePrimaryPort;
  const url = await built.app.listen({ host: config.host, port });
  logger.info({ event: 'listening', url, origin }, `${name} listening on ${url}`);
  return {
    name,
    url: origin,
    async close() {
      await built.app.close();
    },
  };
}
