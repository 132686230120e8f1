/**
 * One region of a Persona deployment (docs/provisioning.md): a VPC with a subnet group per tier, security
 * groups from the topology's allow matrix, the public ALB (TLS) in front of the routers, an internal load
 * balancer per called tier, an Auto Scaling group per tier whose hosts install the release and run their
 * tier's systemd unit, the squid egress tier, the tiers' secrets, the Aurora MySQL database (the primary
 * region's cluster heads a Global Database, the other region's is its secondary), the alerts as CloudWatch
 * alarms and this region's Route 53 failover record with its health check.
 */
import { CfnOutput, Duration, RemovalPolicy, Stack, Tags, type StackProps } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as route53Targets from 'aws-cdk-lib/aws-route53-targets';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { settings } from '../../src/config/settings.ts';
import type { Endpoint } from '../../src/ops/matrix.ts';
import { systemdUnit } from '../../src/ops/systemd.ts';
import { CALLS, PUBLIC_ROUTES, TIERS, type Tier } from '../../src/topology/index.ts';
import { operations } from '../../src/wsapi/catalogue.ts';
import { alertAlarms, cloudWatchAgentConfig, type TierBalancer } from './alarms.ts';
import { stackName, type Environment } from './environments.ts';
import { DATABASE_PORT, EGRESS_PROXY_PORT, fleetOf, type Fleet } from './fleet.ts';

export interface RegionalStackProps extends StackProps {
  readonly environment: Environment;
  readonly region: string;
}

/** Each region's address range: apart, so the regions can be peered. */
const VPC_CIDRS: Readonly<Record<string, string>> = {
  'us-west-2': '10.16.0.0/16',
  'eu-west-1': '10.32.0.0/16',
};
/** The S3 gateway endpoint's managed prefix list (com.amazonaws.<region>.s3), per region. */
const S3_PREFIX_LISTS: Readonly<Record<string, string>> = {
  'us-west-2': 'pl-68a54001',
  'eu-west-1': 'pl-6da54004',
};
const AURORA_VERSION = rds.AuroraMysqlEngineVersion.VER_3_08_0;

/** A secret a tier holds, named for what it is; the tiers that hold it read it, no other. */
export interface TierSecret {
  readonly slug: string;
  readonly holders: readonly Tier[];
  /** Generated at creation (random keys); the others are put by an operator (docs/runbooks/deploying.md). */
  readonly generate?: { readonly length: number };
}

/** A map's entry that must be there (a tier's security group, role…). */
const need = <K, V>(map: ReadonlyMap<K, V>, key: K): V => {
  const value = map.get(key);
  if (value === undefined) throw new Error(`nothing for ${String(key)}`);
  return value;
};

const slugOf = (held: string) => held.toLowerCase().replace(/[^a-z0-9]+/g, '-');

/** The secrets of a fleet: what each tier holds (topology `holds`) and a pair key per allowed call. */
export function tierSecrets(fleet: Fleet): TierSecret[] {
  const held = new Map<string, Tier[]>();
  for (const tier of fleet.tiers)
    for (const thing of TIERS[tier].holds) held.set(thing, [...(held.get(thing) ?? []), tier]);
  const generated: Readonly<Record<string, number>> = { 'cookie-secret': 128, 'bridge-cookie-secret': 128 };
  return [
    ...[...held].map(([thing, holders]) => {
      const slug = slugOf(thing);
      const length = generated[slug];
      return { slug, holders, ...(length ? { generate: { length } } : {}) };
    }),
    // 43 characters of [A-Za-z0-9]: 32 bytes as base64url, the pair keys' form (src/http/tier-auth.ts).
    ...CALLS.filter(([a, b]) => fleet.tiers.includes(a) && fleet.tiers.includes(b)).map(
      ([caller, callee]) => ({
        slug: `tier-keys/${caller}-to-${callee}`,
        holders: [caller, callee],
        generate: { length: 43 },
      }),
    ),
  ];
}

export const secretName = (environment: Environment, slug: string) => `persona/${environment.name}/${slug}`;

/** The wsapi ops only tiers may call: the edge answers 404 for them, as the router does. */
export const internalOps = (): string[] =>
  Object.entries(operations)
    .filter(([, op]) => op.internal)
    .map(([name]) => name)
    .sort();

export class RegionalStack extends Stack {
  readonly fleet: Fleet;
  readonly primary: boolean;

  constructor(scope: Construct, props: RegionalStackProps) {
    const { environment, region } = props;
    super(scope, stackName(environment, region), { ...props, env: { region } });
    this.primary = region === environment.primaryRegion;
    const fleet = fleetOf(environment, region);
    this.fleet = fleet;
    const size = environment.size;
    const prefix = `persona-${environment.name}`;
    Tags.of(this).add('persona:environment', environment.name);

    // ---- network: a subnet group per tier, no NAT: only the egress proxy reaches the internet -----------
    const vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(VPC_CIDRS[region] ?? '10.64.0.0/16'),
      availabilityZones: Array.from({ length: size.zones }, (_, i) => `${region}${'abcdef'[i] ?? 'a'}`),
      natGateways: 0,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        ...fleet.tiers.map((tier) => ({
          name: tier,
          subnetType: ec2.SubnetType.PRIVATE_ISOLATED,
          cidrMask: 24,
        })),
        { name: 'database', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
        { name: 'endpoints', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 26 },
      ],
    });
    // The hosts fetch the release, their secrets and the agent's metrics through endpoints, not the internet.
    vpc.addGatewayEndpoint('S3', { service: ec2.GatewayVpcEndpointAwsService.S3 });
    const endpointsSg = new ec2.SecurityGroup(this, 'EndpointsSg', {
      vpc,
      description: 'AWS API endpoints: https from the hosts',
      allowAllOutbound: false,
    });
    for (const [name, service] of [
      ['SecretsManager', ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER],
      ['Ssm', ec2.InterfaceVpcEndpointAwsService.SSM],
      ['SsmMessages', ec2.InterfaceVpcEndpointAwsService.SSM_MESSAGES],
      ['Ec2Messages', ec2.InterfaceVpcEndpointAwsService.EC2_MESSAGES],
      ['Logs', ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS],
      ['Monitoring', ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_MONITORING],
    ] as const)
      vpc.addInterfaceEndpoint(name, {
        service,
        subnets: { subnetGroupName: 'endpoints' },
        securityGroups: [endpointsSg],
        open: false,
      });

    // ---- security groups: the allow matrix (src/ops/matrix.ts), nothing else -------------------------
    const sg = (id: string, description: string) =>
      new ec2.SecurityGroup(this, id, { vpc, description, allowAllOutbound: false });
    const tierSg = new Map<Tier, ec2.SecurityGroup>(
      fleet.tiers.map((tier) => [tier, sg(`${tier}Sg`, `${tier} hosts`)]),
    );
    const lbSg = new Map<Tier, ec2.SecurityGroup>(
      fleet.called.map((tier) => [
        tier,
        sg(`${tier}LbSg`, `${tier} internal load balancer: its callers only`),
      ]),
    );
    const albSg = sg('PublicAlbSg', 'the public load balancer (the edge)');
    const databaseSg = sg('DatabaseSg', 'the database: the tiers that reach it');
    const egressLbSg = sg('EgressLbSg', 'the egress proxy load balancer: the tiers that reach it');
    const egressSg = sg('EgressSg', 'the egress proxy hosts (squid)');
    // Mail leaves through SES's SMTP endpoint in the VPC: the tiers' subnets have no route out.
    const smtpSg = sg('SmtpEndpointSg', 'the SES SMTP endpoint: the tiers that send mail');
    vpc.addInterfaceEndpoint('Smtp', {
      service: ec2.InterfaceVpcEndpointAwsService.EMAIL_SMTP,
      subnets: { subnetGroupName: 'endpoints' },
      securityGroups: [smtpSg],
      open: false,
    });
    const hostSgs = [...tierSg.values(), egressSg];

    const tierOf = (endpoint: Endpoint): Tier | undefined => fleet.tiers.find((tier) => tier === endpoint);
    /** Where a rule's traffic comes from. */
    const source = (endpoint: Endpoint): ec2.IPeer[] => {
      const tier = tierOf(endpoint);
      if (tier) return [need(tierSg, tier)];
      if (endpoint === 'edge') return [albSg];
      if (endpoint === 'egress-proxy') return [egressSg];
      if (endpoint === 'internet') return environment.publicAccess.map((cidr) => ec2.Peer.ipv4(cidr));
      throw new Error(`no source for ${endpoint}`);
    };
    /** Where a rule's traffic enters: a called tier's load balancer, the router's hosts, a resource. */
    const entry = (endpoint: Endpoint): ec2.IPeer => {
      const tier = tierOf(endpoint);
      if (tier) return lbSg.get(tier) ?? need(tierSg, tier);
      if (endpoint === 'edge') return albSg;
      if (endpoint === 'database') return databaseSg;
      if (endpoint === 'egress-proxy') return egressLbSg;
      if (endpoint === 'smtp') return smtpSg;
      if (endpoint === 'internet') return ec2.Peer.anyIpv4();
      throw new Error(`no entry for ${endpoint}`);
    };
    for (const rule of fleet.matrix) {
      for (const port of rule.ports) {
        const to = entry(rule.to);
        for (const from of source(rule.from)) {
          if (to instanceof ec2.SecurityGroup) to.addIngressRule(from, ec2.Port.tcp(port), rule.why);
          if (from instanceof ec2.SecurityGroup) from.addEgressRule(to, ec2.Port.tcp(port), rule.why);
        }
      }
    }
    for (const host of hostSgs) {
      endpointsSg.addIngressRule(host, ec2.Port.tcp(443), 'AWS APIs from the hosts');
      host.addEgressRule(endpointsSg, ec2.Port.tcp(443), 'AWS APIs (Secrets Manager, SSM, CloudWatch)');
      // The release and the OS packages come from S3, through the gateway endpoint.
      const s3List = S3_PREFIX_LISTS[region];
      if (s3List === undefined) throw new Error(`no S3 prefix list known for ${region}`);
      host.addEgressRule(ec2.Peer.prefixList(s3List), ec2.Port.tcp(443), 'S3 through the gateway endpoint');
    }
    // The proxy's load balancer hands connections to the squid hosts.
    egressLbSg.addEgressRule(egressSg, ec2.Port.tcp(EGRESS_PROXY_PORT), 'to the squid hosts');
    egressSg.addIngressRule(egressLbSg, ec2.Port.tcp(EGRESS_PROXY_PORT), 'from its load balancer');

    // ---- the release, the hosts' roles and their secrets --------------------------------------------
    const releases = new s3.Bucket(this, 'Releases', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      versioned: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const roleFor = (name: string) => {
      const role = new iam.Role(this, `${name}Role`, {
        assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
        description: `persona ${name} hosts`,
        managedPolicies: [
          iam.ManagedPolicy.fromAwsManagedPolicyName('AmazonSSMManagedInstanceCore'),
          iam.ManagedPolicy.fromAwsManagedPolicyName('CloudWatchAgentServerPolicy'),
        ],
      });
      releases.grantRead(role, 'releases/*');
      releases.grantRead(role, 'config/*');
      return role;
    };
    const roles = new Map<Tier, iam.Role>(fleet.tiers.map((tier) => [tier, roleFor(tier)]));
    const secrets = tierSecrets(fleet);
    for (const secret of secrets) {
      const name = secretName(environment, secret.slug);
      const id = `Secret-${secret.slug.replace(/\//g, '-')}`;
      // Made in the primary region and replicated: both regions sign with one key and share sessions.
      const made: secretsmanager.ISecret = this.primary
        ? new secretsmanager.Secret(this, id, {
            secretName: name,
            description: `persona ${environment.name}: ${secret.slug} (held by ${secret.holders.join(', ')})`,
            replicaRegions: [{ region: environment.secondaryRegion }],
            removalPolicy: RemovalPolicy.RETAIN,
            ...(secret.generate
              ? {
                  generateSecretString: {
                    passwordLength: secret.generate.length,
                    excludePunctuation: true,
                    includeSpace: false,
                  },
                }
              : {}),
          })
        : secretsmanager.Secret.fromSecretNameV2(this, id, name);
      for (const holder of secret.holders) made.grantRead(need(roles, holder));
    }

    // ---- the database: Aurora MySQL, a Global Database across the two regions ------------------------
    const databaseSubnets = vpc.selectSubnets({ subnetGroupName: 'database' });
    const instanceType = new ec2.InstanceType(size.databaseInstanceClass.replace(/^db\./, ''));
    const globalId = `${prefix}-database`;
    let writerHost: string;
    let readerHost: string;
    if (this.primary) {
      const cluster = new rds.DatabaseCluster(this, 'Database', {
        engine: rds.DatabaseClusterEngine.auroraMysql({ version: AURORA_VERSION }),
        credentials: rds.Credentials.fromGeneratedSecret('persona_admin', {
          secretName: secretName(environment, 'database-admin'),
        }),
        defaultDatabaseName: 'persona',
        writer: rds.ClusterInstance.provisioned('writer', { instanceType }),
        readers: Array.from({ length: size.databaseInstances - 1 }, (_, i) =>
          rds.ClusterInstance.provisioned(`reader${i + 1}`, { instanceType, promotionTier: 1 }),
        ),
        vpc,
        vpcSubnets: databaseSubnets,
        securityGroups: [databaseSg],
        port: DATABASE_PORT,
        storageEncrypted: true,
        backup: { retention: Duration.days(environment.name === 'production' ? 35 : 7) },
        deletionProtection: environment.name === 'production',
        removalPolicy: RemovalPolicy.SNAPSHOT,
      });
      new rds.CfnGlobalCluster(this, 'GlobalDatabase', {
        globalClusterIdentifier: globalId,
        sourceDbClusterIdentifier: cluster.clusterIdentifier,
        deletionProtection: environment.name === 'production',
      });
      writerHost = cluster.clusterEndpoint.hostname;
      readerHost = cluster.clusterReadEndpoint.hostname;
    } else {
      const subnetGroup = new rds.CfnDBSubnetGroup(this, 'DatabaseSubnets', {
        dbSubnetGroupDescription: 'persona database',
        subnetIds: databaseSubnets.subnetIds,
      });
      const cluster = new rds.CfnDBCluster(this, 'Database', {
        engine: 'aurora-mysql',
        engineVersion: AURORA_VERSION.auroraMysqlFullVersion,
        globalClusterIdentifier: globalId,
        dbSubnetGroupName: subnetGroup.ref,
        vpcSecurityGroupIds: [databaseSg.securityGroupId],
        port: DATABASE_PORT,
        storageEncrypted: true,
        deletionProtection: environment.name === 'production',
      });
      for (let i = 0; i < size.databaseInstances; i++)
        new rds.CfnDBInstance(this, `DatabaseInstance${i + 1}`, {
          engine: 'aurora-mysql',
          dbClusterIdentifier: cluster.ref,
          dbInstanceClass: size.databaseInstanceClass,
          dbSubnetGroupName: subnetGroup.ref,
        });
      // Read-only until a failover makes this region's cluster the writer (docs/runbooks/deploying.md).
      writerHost = cluster.attrEndpointAddress;
      readerHost = cluster.attrReadEndpointAddress;
    }

    // ---- load balancers ------------------------------------------------------------------------------
    const zone = route53.HostedZone.fromHostedZoneAttributes(this, 'Zone', {
      hostedZoneId: environment.hostedZone.id,
      zoneName: environment.hostedZone.name,
    });
    const regionalName = `${region}.${environment.domain}`;
    const certificate = new acm.Certificate(this, 'Certificate', {
      domainName: environment.domain,
      subjectAlternativeNames: [regionalName],
      validation: acm.CertificateValidation.fromDns(zone),
    });
    const alb = new elbv2.ApplicationLoadBalancer(this, 'PublicAlb', {
      vpc,
      internetFacing: true,
      securityGroup: albSg,
      vpcSubnets: { subnetGroupName: 'public' },
      dropInvalidHeaderFields: true,
    });
    const internal = new Map<Tier, elbv2.ApplicationLoadBalancer>(
      fleet.called.map((tier) => [
        tier,
        new elbv2.ApplicationLoadBalancer(this, `${tier}Lb`, {
          vpc,
          internetFacing: false,
          securityGroup: need(lbSg, tier),
          vpcSubnets: { subnetGroupName: tier },
        }),
      ]),
    );
    const egressLb = new elbv2.NetworkLoadBalancer(this, 'EgressLb', {
      vpc,
      internetFacing: false,
      securityGroups: [egressLbSg],
      vpcSubnets: { subnetGroupName: 'public' },
    });
    const urlOf = (tier: Tier) => `http://${need(internal, tier).loadBalancerDnsName}:${fleet.port(tier)}`;

    // ---- the hosts: an Auto Scaling group per tier, its role given at launch --------------------------
    /** The deployment's shared settings (nothing secret), as every host's /etc/persona/persona.env. */
    const sharedSettings = [
      `PERSONA_PUBLIC_URL=https://${environment.domain}`,
      'PERSONA_HOST=0.0.0.0',
      `PERSONA_HTTP_PROXY=http://${egressLb.loadBalancerDnsName}:${EGRESS_PROXY_PORT}`,
      `PERSONA_TRUSTED_PROXIES=${VPC_CIDRS[region] ?? '10.64.0.0/16'}`,
      ...fleet.called
        .map((tier) => [`PERSONA_${tier.toUpperCase()}_URLS`, urlOf(tier)] as const)
        .filter(([name]) => Object.values(settings).some((s) => s.env === name))
        .map(([name, url]) => `${name}=${url}`),
    ];
    const dbUrl = (host: string) =>
      `jq -r '"mysql://\\(.username|@uri):\\(.password|@uri)@${host}:${DATABASE_PORT}/persona"'`;
    /** How a secret's value becomes what the tier reads: a setting in its env file or a file (src/ops/systemd.ts). */
    const install: Readonly<Record<string, string>> = {
      'database-write-credentials': `echo "PERSONA_DATABASE_URL=$(${dbUrl(writerHost)})" >> /etc/persona/$ROLE.env`,
      'database-read-credentials': `echo "PERSONA_DATABASE_READ_URL=$(${dbUrl(readerHost)})" >> /etc/persona/$ROLE.env`,
      'smtp-credentials': `echo "PERSONA_SMTP_URL=$(jq -r '"smtp://\\(.username|@uri):\\(.password|@uri)@email-smtp.${region}.amazonaws.com:587"')" >> /etc/persona/$ROLE.env`,
      'openid-connect-client-secrets': `echo "PERSONA_BRIDGE_PROVIDERS=$(jq -c .)" >> /etc/persona/$ROLE.env`,
      // A keypair's secret is a JSON object of its files (what \`persona keys generate\` writes).
      'domain-private-key': `jq -r 'to_entries[] | @base64' | while read -r f; do n=$(echo "$f" | base64 -d | jq -r .key); echo "$f" | base64 -d | jq -r .value > "$DATA/keys/$n"; done`,
      'bridge-issuer-key': `jq -r 'to_entries[] | @base64' | while read -r f; do n=$(echo "$f" | base64 -d | jq -r .key); echo "$f" | base64 -d | jq -r .value > "$DATA/keys/bridge/$n"; done`,
      'cookie-secret': 'cat > "$DATA/cookie-secret"',
      'bridge-cookie-secret': 'cat > "$DATA/bridge-cookie-secret"',
    };
    const installCommand = (slug: string) =>
      slug.startsWith('tier-keys/')
        ? `cat > "$DATA/${slug}.key"`
        : (install[slug] ?? `cat > "$DATA/${slug}"`);
    const userDataFor = (role: Tier) => {
      const userData = ec2.UserData.forLinux();
      const held = secrets.filter((s) => s.holders.includes(role)).map((s) => s.slug);
      const agent = cloudWatchAgentConfig(fleet.port(role), `/persona/${environment.name}/metrics`);
      userData.addCommands(
        'set -euo pipefail',
        `ROLE=${role}`,
        `REGION=${region}`,
        'DATA=/var/lib/persona-$ROLE',
        'dnf install -y nodejs20 amazon-cloudwatch-agent jq',
        'NODE=$(command -v node-20 || command -v node)',
        // The release, installed once by the pipeline as test/helpers/release.ts installs it.
        'install -d /opt/persona /etc/persona',
        `aws s3 cp s3://${releases.bucketName}/releases/persona-host.tar.gz - --region "$REGION" | tar -xz -C /opt/persona`,
        `cat > /etc/persona/persona.env <<'EOF'\n${sharedSettings.join('\n')}\nEOF`,
        `cat > /etc/systemd/system/persona-$ROLE.service <<'EOF'\n${systemdUnit(role)}EOF`,
        'sed -i "s#^ExecStart=/usr/bin/node #ExecStart=$NODE #" /etc/systemd/system/persona-$ROLE.service',
        'useradd --system --home-dir "$DATA" --shell /usr/sbin/nologin persona-$ROLE',
        'install -d -m 0700 -o persona-$ROLE -g persona-$ROLE "$DATA" "$DATA/keys" "$DATA/keys/bridge" "$DATA/tier-keys"',
        'install -m 0600 /dev/null /etc/persona/$ROLE.env',
        `aws s3 cp s3://${releases.bucketName}/config/domain-key.public.json "$DATA/keys/" --region "$REGION"`,
        // Its secrets, and only its own: its role may read no other (the Secrets Manager grants below).
        'umask 077',
        ...held.map(
          (slug) =>
            `aws secretsmanager get-secret-value --region "$REGION" --secret-id ${secretName(environment, slug)} --query SecretString --output text | ${installCommand(slug)}`,
        ),
        'chown -R persona-$ROLE:persona-$ROLE "$DATA"',
        'systemctl daemon-reload',
        'systemctl enable --now persona-$ROLE.service',
        // Its /metrics into CloudWatch, for the alarms (infra/lib/alarms.ts).
        `cat > /etc/persona/prometheus.yaml <<'EOF'\n${agent.prometheus}EOF`,
        `cat > /etc/persona/cloudwatch-agent.json <<'EOF'\n${agent.agent}\nEOF`,
        '/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s -c file:/etc/persona/cloudwatch-agent.json',
      );
      return userData;
    };

    const balancers: TierBalancer[] = [];
    for (const tier of fleet.tiers) {
      const asg = new autoscaling.AutoScalingGroup(this, `${tier}Asg`, {
        vpc,
        vpcSubnets: { subnetGroupName: tier },
        instanceType: new ec2.InstanceType(size.instanceType),
        machineImage: ec2.MachineImage.latestAmazonLinux2023(),
        securityGroup: need(tierSg, tier),
        role: need(roles, tier),
        userData: userDataFor(tier),
        requireImdsv2: true,
        minCapacity: size.instances.min,
        maxCapacity: size.instances.max,
        healthChecks: autoscaling.HealthChecks.withAdditionalChecks({
          additionalTypes: [autoscaling.AdditionalHealthCheckType.ELB],
          gracePeriod: Duration.minutes(5),
        }),
      });
      Tags.of(asg).add('persona:role', tier);
      const healthCheck = {
        path: '/__heartbeat__',
        healthyHttpCodes: '200',
        interval: Duration.seconds(10),
        healthyThresholdCount: 2,
        unhealthyThresholdCount: 3,
      };
      const lb = tier === 'router' ? alb : internal.get(tier);
      if (lb === undefined) continue;
      const targetGroup = new elbv2.ApplicationTargetGroup(this, `${tier}Targets`, {
        vpc,
        port: fleet.port(tier),
        protocol: elbv2.ApplicationProtocol.HTTP,
        targets: [asg],
        healthCheck,
        deregistrationDelay: Duration.seconds(30),
      });
      balancers.push({ tier, loadBalancer: lb, targetGroup });
      if (tier !== 'router')
        lb.addListener(`${tier}Listener`, {
          port: fleet.port(tier),
          protocol: elbv2.ApplicationProtocol.HTTP,
          open: false,
          defaultTargetGroups: [targetGroup],
        });
    }

    // ---- the public ALB: TLS, then as the router routes -----------------------------------------------
    const router = balancers.find((b) => b.tier === 'router');
    if (!router) throw new Error('the router is not deployed');
    const https = alb.addListener('Https', {
      port: 443,
      protocol: elbv2.ApplicationProtocol.HTTPS,
      certificates: [certificate],
      sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS,
      open: false,
      defaultTargetGroups: [router.targetGroup],
    });
    alb.addListener('Http', {
      port: 80,
      protocol: elbv2.ApplicationProtocol.HTTP,
      open: false,
      defaultAction: elbv2.ListenerAction.redirect({ protocol: 'HTTPS', port: '443', permanent: true }),
    });
    // The internal wsapi ops: 404 at the edge, as the router answers (src/tiers/router).
    const internalPaths = internalOps().map((op) => `/wsapi/${op}`);
    for (let i = 0; i < internalPaths.length; i += 5)
      https.addAction(`InternalOps${i / 5}`, {
        priority: 1 + i / 5,
        conditions: [elbv2.ListenerCondition.pathPatterns(internalPaths.slice(i, i + 5))],
        action: elbv2.ListenerAction.fixedResponse(404, {
          contentType: 'text/plain',
          messageBody: 'Not Found',
        }),
      });
    // Each public route of the topology, in its order, to the routers (the default: `/`).
    PUBLIC_ROUTES.forEach((route, index) => {
      if (route.path === '/' && route.match === 'prefix') return;
      https.addTargetGroups(`Route${index}`, {
        priority: 100 + index,
        conditions: [
          elbv2.ListenerCondition.pathPatterns([route.match === 'prefix' ? `${route.path}*` : route.path]),
        ],
        targetGroups: [router.targetGroup],
      });
    });

    // ---- the egress tier: squid behind an internal network load balancer -------------------------------
    const egressRole = roleFor('egress');
    const egressAsg = new autoscaling.AutoScalingGroup(this, 'EgressAsg', {
      vpc,
      vpcSubnets: { subnetGroupName: 'public' },
      associatePublicIpAddress: true,
      instanceType: new ec2.InstanceType(size.egressInstanceType),
      machineImage: ec2.MachineImage.latestAmazonLinux2023(),
      securityGroup: egressSg,
      role: egressRole,
      requireImdsv2: true,
      minCapacity: Math.min(2, size.instances.min + 1),
      maxCapacity: 4,
      userData: (() => {
        const userData = ec2.UserData.forLinux();
        userData.addCommands(
          'set -euo pipefail',
          'dnf install -y squid nodejs20',
          'install -d /opt/persona',
          `aws s3 cp s3://${releases.bucketName}/releases/persona-host.tar.gz - --region ${region} | tar -xz -C /opt/persona`,
          // The configuration generated from the topology (src/ops/squid.ts): https out, no private addresses.
          `/opt/persona/node_modules/.bin/persona ops squid --listen 0.0.0.0:${EGRESS_PROXY_PORT} --clients ${VPC_CIDRS[region] ?? '10.64.0.0/16'} --out /etc/squid/squid.conf`,
          'systemctl enable --now squid',
        );
        return userData;
      })(),
    });
    Tags.of(egressAsg).add('persona:role', 'egress');
    egressLb.addListener('Proxy', { port: EGRESS_PROXY_PORT }).addTargets('Squid', {
      port: EGRESS_PROXY_PORT,
      targets: [egressAsg],
      healthCheck: { protocol: elbv2.Protocol.TCP },
    });

    // ---- alarms, DNS failover -----------------------------------------------------------------------
    alertAlarms(this, `${prefix}-${region}`, balancers);
    const health = new route53.HealthCheck(this, 'HealthCheck', {
      type: route53.HealthCheckType.HTTPS_STR_MATCH,
      fqdn: alb.loadBalancerDnsName,
      port: 443,
      resourcePath: '/__heartbeat__',
      searchString: 'ok',
      enableSNI: true,
      requestInterval: Duration.seconds(10),
      failureThreshold: 3,
    });
    new route53.ARecord(this, 'FailoverRecord', {
      zone,
      recordName: environment.domain,
      target: route53.RecordTarget.fromAlias(
        new route53Targets.LoadBalancerTarget(alb, { evaluateTargetHealth: true }),
      ),
      setIdentifier: region,
      failover: this.primary ? route53.Failover.PRIMARY : route53.Failover.SECONDARY,
      healthCheck: health,
    });
    new route53.ARecord(this, 'RegionalRecord', {
      zone,
      recordName: regionalName,
      target: route53.RecordTarget.fromAlias(new route53Targets.LoadBalancerTarget(alb)),
    });
    new CfnOutput(this, 'PublicLoadBalancer', { value: alb.loadBalancerDnsName });
    new CfnOutput(this, 'ReleaseBucket', { value: releases.bucketName });
  }
}
