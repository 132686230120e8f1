/** The app: for staging and production, a stack per region; the secondary region's after the primary's. */
import type { App } from 'aws-cdk-lib';
import { ENVIRONMENTS } from './environments.ts';
import { RegionalStack } from './regional-stack.ts';

export function buildApp(app: App): RegionalStack[] {
  return ENVIRONMENTS.flatMap((environment) => {
    const primary = new RegionalStack(app, { environment, region: environment.primaryRegion });
    const secondary = new RegionalStack(app, { environment, region: environment.secondaryRegion });
    // Its database joins the primary's Global Database and its secrets are the primary's replicas.
    secondary.addStackDependency(primary);
    return [primary, secondary];
  });
}
