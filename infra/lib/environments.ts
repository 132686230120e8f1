/**
 * The deployments the app builds: staging and production, each in two regions. Staging differs from
 * production only in size (instances, instance types, database class, zones), names (its domain and
 * stack names) and access (who may reach its public load balancer), as the original's staging did.
 */
export interface Size {
  readonly zones: number;
  /** Instances per tier's Auto Scaling group: minimum, desired, maximum. */
  readonly instances: { readonly min: number; readonly desired: number; readonly max: number };
  readonly instanceType: string;
  readonly egressInstanceType: string;
  readonly databaseInstanceClass: string;
  /** Aurora instances per regional cluster (the writer or the secondary's readers). */
  readonly databaseInstances: number;
}

export interface Environment {
  readonly name: 'staging' | 'production';
  /** The public host name: the issuer of certificates (PERSONA_PUBLIC_URL). */
  readonly domain: string;
  /** The Route 53 hosted zone the failover records go into (made outside this app: the domain's zone). */
  readonly hostedZone: { readonly id: string; readonly name: string };
  /** The region the database writes in and the DNS prefers; the other takes over on failure. */
  readonly primaryRegion: string;
  readonly secondaryRegion: string;
  /** Who may reach the public load balancer (HTTPS and the HTTP redirect). */
  readonly publicAccess: readonly string[];
  readonly size: Size;
}

export const ENVIRONMENTS: readonly Environment[] = [
  {
    name: 'production',
    domain: 'login.persona.org',
    hostedZone: { id: 'Z0PERSONAPRODUCTION', name: 'persona.org' },
    primaryRegion: 'us-west-2',
    secondaryRegion: 'eu-west-1',
    publicAccess: ['0.0.0.0/0'],
    size: {
      zones: 3,
      instances: { min: 3, desired: 3, max: 12 },
      instanceType: 'c7i.large',
      egressInstanceType: 't3.small',
      databaseInstanceClass: 'db.r7g.large',
      databaseInstances: 2,
    },
  },
  {
    name: 'staging',
    domain: 'login.anosrep.org',
    hostedZone: { id: 'Z0PERSONASTAGING', name: 'anosrep.org' },
    primaryRegion: 'us-west-2',
    secondaryRegion: 'eu-west-1',
    // Staging is for the team and its test runs only (the office and VPN ranges, to be filled in).
    publicAccess: ['192.0.2.0/24', '198.51.100.0/24'],
    size: {
      zones: 2,
      instances: { min: 1, desired: 1, max: 2 },
      instanceType: 't3.small',
      egressInstanceType: 't3.micro',
      databaseInstanceClass: 'db.t4g.medium',
      databaseInstances: 1,
    },
  },
];

export const stackName = (environment: Environment, region: string): string =>
  `Persona-${environment.name}-${region}`;
