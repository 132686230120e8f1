/**
 * `persona serve example-site` / `persona serve example-primary`: the development examples as their own
 * processes, next to the tiers under `persona start` (docs/examples.md). Refused in production: the example
 * primary signs anyone in as anyone.
 */
import type { Logger } from 'pino';
import type { Config } from '../config/settings.ts';
import { createLogger } from '../http/app.ts';
import { exampleOrigin as originOf, type ExampleName } from '../topology/index.ts';

export type { ExampleName } from '../topology/index.ts';

export const isExample = (name: string | undefined): name is ExampleName =>
  name === 'example-site' || name === 'example-primary';

/** The settings the examples read. */
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
export const exampleOrigin = (config: ExampleConfig, name: ExampleName): string => originOf(config, name);

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
