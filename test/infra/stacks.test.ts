/**
 * The AWS app (infra/, docs/provisioning.md), synthesized offline and read with aws-cdk-lib/assertions:
 * security groups admit exactly the allow matrix, only the keysigner's role reads the domain key, the
 * public ALB routes as the router does, every tier has health-checked load balancing and the regions fail
 * over by DNS; staging differs from production only in size, names and access.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { App, CfnElement, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { AGENT_SERIES, NAMESPACE } from '../../infra/lib/alarms.ts';
import { buildApp } from '../../infra/lib/app.ts';
import type { RegionalStack } from '../../infra/lib/regional-stack.ts';
import { internalOps } from '../../infra/lib/regional-stack.ts';
import { ALERTS } from '../../src/ops/prometheus.ts';
import { callersOf, PUBLIC_ROUTES, publicRouteOf, TIERS, type Tier } from '../../src/topology/index.ts';

type Resource = { Type: string; Properties?: Record<string, unknown>; DependsOn?: unknown };
interface Synthesized {
  readonly stack: RegionalStack;
  readonly template: Template;
  readonly resources: Record<string, Resource>;
}

const CDK_JSON = JSON.parse(
  readFileSync(join(import.meta.dirname, '..', '..', 'infra', 'cdk.json'), 'utf8'),
) as { context: Record<string, unknown> };

let stacks: Synthesized[];

before(() => {
  const app = new App({ context: CDK_JSON.context });
  const built = buildApp(app);
  // One synthesis for the four stacks (Template.fromStack would synthesize the app once per stack).
  const assembly = app.synth();
  stacks = built.map((stack) => {
    const template = Template.fromJSON(
      assembly.getStackByName(stack.stackName).template as Record<string, unknown>,
    );
    return { stack, template, resources: template.toJSON().Resources as Record<string, Resource> };
  });
});

const idOf = (stack: Stack, construct: IConstruct | undefined): string => {
  assert.ok(construct, 'construct not found');
  const element = construct.node.defaultChild ?? construct;
  assert.ok(element instanceof CfnElement);
  return stack.getLogicalId(element);
};
const ofType = (s: Synthesized, type: string) =>
  Object.entries(s.resources).filter(([, r]) => r.Type === type);
const getAtt = (value: unknown): string | undefined =>
  (value as { 'Fn::GetAtt'?: [string, string] } | undefined)?.['Fn::GetAtt']?.[0];

/** Every ingress rule: the group it opens, from which group or CIDR, on which port. */
function ingressRules(s: Synthesized): { group: string; from: string; port: number }[] {
  const rules: { group: string; from: string; port: number }[] = [];
  const describeRule = (group: string, p: Record<string, unknown>) => {
    assert.equal(p.FromPort, p.ToPort, `${group}: a port range`);
    rules.push({
      group,
      from: getAtt(p.SourceSecurityGroupId) ?? String(p.CidrIp ?? p.SourcePrefixListId),
      port: Number(p.FromPort),
    });
  };
  for (const [id, r] of ofType(s, 'AWS::EC2::SecurityGroup'))
    for (const p of (r.Properties?.SecurityGroupIngress ?? []) as Record<string, unknown>[])
      describeRule(id, p);
  for (const [, r] of ofType(s, 'AWS::EC2::SecurityGroupIngress'))
    describeRule(getAtt(r.Properties?.GroupId) ?? '?', r.Properties ?? {});
  return rules;
}

const sorted = (items: unknown[]) => items.map((i) => JSON.stringify(i)).sort();

describe('the AWS app (infra/)', () => {
  test('four stacks: staging and production, each in both regions', () => {
    assert.deepEqual(stacks.map((s) => s.stack.stackName).sort(), [
      'Persona-production-eu-west-1',
      'Persona-production-us-west-2',
      'Persona-staging-eu-west-1',
      'Persona-staging-us-west-2',
    ]);
  });

  test("each tier's security groups admit only its callers, on its port", () => {
    for (const s of stacks) {
      const { fleet } = s.stack;
      const rules = ingressRules(s);
      const sg = (id: string) => idOf(s.stack, s.stack.node.tryFindChild(id));
      for (const tier of fleet.tiers) {
        const port = fleet.port(tier);
        const callers = callersOf(tier).filter((c) => fleet.tiers.includes(c));
        if (tier === 'router') {
          // The edge (the public ALB) is the router's only caller.
          assert.deepEqual(
            sorted(rules.filter((r) => r.group === sg('routerSg'))),
            sorted([{ group: sg('routerSg'), from: sg('PublicAlbSg'), port }]),
            s.stack.stackName,
          );
          continue;
        }
        assert.ok(callers.length > 0, `${tier} has callers`);
        // Its load balancer: its callers' hosts, on its port, nothing else.
        assert.deepEqual(
          sorted(rules.filter((r) => r.group === sg(`${tier}LbSg`))),
          sorted(callers.map((caller) => ({ group: sg(`${tier}LbSg`), from: sg(`${caller}Sg`), port }))),
          `${s.stack.stackName} ${tier}`,
        );
        // Its hosts: their own load balancer only.
        assert.deepEqual(
          sorted(rules.filter((r) => r.group === sg(`${tier}Sg`))),
          sorted([{ group: sg(`${tier}Sg`), from: sg(`${tier}LbSg`), port }]),
          `${s.stack.stackName} ${tier} hosts`,
        );
      }
      // Addresses are admitted only by the public ALB, on 80 and 443.
      const byAddress = rules.filter((r) => /^[0-9./]+$/.test(r.from));
      for (const rule of byAddress) {
        assert.equal(rule.group, sg('PublicAlbSg'), JSON.stringify(rule));
        assert.ok([80, 443].includes(rule.port), JSON.stringify(rule));
      }
      // What the tiers reach (topology `reaches`): only they are admitted, on its port.
      const reaching = (...resources: string[]) =>
        fleet.tiers
          .filter((tier) => TIERS[tier].reaches.some((r) => resources.includes(r)))
          .map((tier) => sg(`${tier}Sg`))
          .sort();
      const admitted = (group: string) =>
        [...new Set(rules.filter((r) => r.group === sg(group)).map((r) => r.from))].sort();
      assert.deepEqual(admitted('DatabaseSg'), reaching('database-read', 'database-write'));
      assert.deepEqual(admitted('SmtpEndpointSg'), reaching('smtp'));
      assert.deepEqual(admitted('EgressLbSg'), reaching('egress-proxy'));
      assert.deepEqual(admitted('EgressSg'), [sg('EgressLbSg')]);
    }
  });

  test('only the keysigner role may read the domain key', () => {
    for (const s of stacks) {
      const keysignerRole = idOf(s.stack, s.stack.node.tryFindChild('keysignerRole'));
      const domainKey = s.stack.primary
        ? idOf(s.stack, s.stack.node.tryFindChild('Secret-domain-private-key'))
        : 'domain-private-key';
      const readers = ofType(s, 'AWS::IAM::Policy')
        .filter(([, policy]) => {
          const statements = (policy.Properties?.PolicyDocument as { Statement: { Resource: unknown }[] })
            .Statement;
          return statements.some((st) => JSON.stringify(st.Resource).includes(domainKey));
        })
        .flatMap(([, policy]) => (policy.Properties?.Roles as { Ref: string }[]).map((r) => r.Ref));
      assert.deepEqual(readers, [keysignerRole], s.stack.stackName);
    }
  });

  test('the public ALB routes as the router does: TLS, internal ops 404, the rest to the routers', () => {
    for (const s of stacks) {
      const routerTargets = idOf(s.stack, s.stack.node.tryFindChild('routerTargets'));
      const [httpsId, https] =
        ofType(s, 'AWS::ElasticLoadBalancingV2::Listener').find(
          ([, l]) => l.Properties?.Protocol === 'HTTPS',
        ) ?? [];
      assert.ok(https && httpsId);
      assert.ok(https.Properties?.Certificates);
      const rules = ofType(s, 'AWS::ElasticLoadBalancingV2::ListenerRule')
        .map(([, r]) => r.Properties ?? {})
        .filter((p) => (p.ListenerArn as { Ref?: string }).Ref === httpsId)
        .sort((a, b) => Number(a.Priority) - Number(b.Priority));
      /** What the ALB does with a path: the first rule whose pattern matches, else its default action. */
      const albRoute = (path: string): string => {
        for (const rule of rules) {
          const patterns = (rule.Conditions as { Field: string; PathPatternConfig: { Values: string[] } }[])
            .filter((c) => c.Field === 'path-pattern')
            .flatMap((c) => c.PathPatternConfig.Values);
          const matches = patterns.some((p) =>
            p.endsWith('*') ? path.startsWith(p.slice(0, -1)) : path === p,
          );
          if (matches) return actionOf((rule.Actions as Record<string, unknown>[])[0]);
        }
        return actionOf((https.Properties?.DefaultActions as Record<string, unknown>[])[0]);
      };
      const actionOf = (action: Record<string, unknown> | undefined): string => {
        if (action?.Type === 'forward')
          return action.TargetGroupArn && JSON.stringify(action).includes(routerTargets) ? 'router' : '?';
        if (action?.Type === 'fixed-response')
          return (action.FixedResponseConfig as { StatusCode: string }).StatusCode;
        return '?';
      };
      const internal = new Set(internalOps());
      assert.ok(internal.size > 0);
      const paths = [
        ...PUBLIC_ROUTES.map((r) => r.path),
        '/verify',
        '/include.js',
        '/sign_in',
        '/.well-known/browserid',
        '/wsapi/session_context',
        '/wsapi/stage_user',
        '/wsapi/cert_key',
        ...[...internal].map((op) => `/wsapi/${op}`),
      ];
      for (const path of paths) {
        const op = path.startsWith('/wsapi/') ? path.slice('/wsapi/'.length) : undefined;
        const expected =
          publicRouteOf(path) === 'by-op' && op !== undefined && internal.has(op) ? '404' : 'router';
        assert.equal(albRoute(path), expected, `${s.stack.stackName} ${path}`);
      }
      // http only redirects to https.
      s.template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
        Port: 80,
        DefaultActions: [{ Type: 'redirect', RedirectConfig: { Protocol: 'HTTPS', Port: '443' } }],
      });
    }
  });

  test('every tier behind a load balancer checking /__heartbeat__; internal ones for the called tiers', () => {
    for (const s of stacks) {
      const { fleet } = s.stack;
      const groups = ofType(s, 'AWS::ElasticLoadBalancingV2::TargetGroup').filter(
        ([, g]) => g.Properties?.Protocol === 'HTTP',
      );
      assert.equal(groups.length, fleet.tiers.length);
      for (const [, group] of groups) assert.equal(group.Properties?.HealthCheckPath, '/__heartbeat__');
      const internal = ofType(s, 'AWS::ElasticLoadBalancingV2::LoadBalancer').filter(
        ([, lb]) => lb.Properties?.Scheme === 'internal' && lb.Properties.Type !== 'network',
      );
      assert.equal(internal.length, fleet.called.length);
      assert.deepEqual([...fleet.called].sort(), fleet.tiers.filter((t: Tier) => t !== 'router').sort());
    }
  });

  test('each host learns its role at launch: its unit, its secrets, nothing of the others', () => {
    for (const s of stacks) {
      const templates = ofType(s, 'AWS::EC2::LaunchTemplate').map(([, lt]) =>
        JSON.stringify((lt.Properties?.LaunchTemplateData as { UserData: unknown }).UserData),
      );
      for (const tier of s.stack.fleet.tiers) {
        const mine = templates.filter((t) => t.includes(`ROLE=${tier}\\n`));
        assert.equal(mine.length, 1, `${s.stack.stackName} ${tier}`);
        assert.ok(mine[0]?.includes(`serve ${tier}`));
        assert.equal(mine[0]?.includes('domain-private-key'), tier === 'keysigner', tier);
      }
    }
  });

  test('Route 53: a health check on /__heartbeat__ and a failover record per region', () => {
    const byEnvironment = new Map<string, string[]>();
    for (const s of stacks) {
      s.template.hasResourceProperties('AWS::Route53::HealthCheck', {
        HealthCheckConfig: { Type: 'HTTPS_STR_MATCH', ResourcePath: '/__heartbeat__', SearchString: 'ok' },
      });
      const healthCheck = ofType(s, 'AWS::Route53::HealthCheck')[0]?.[0];
      const [record] = ofType(s, 'AWS::Route53::RecordSet').filter(([, r]) => r.Properties?.Failover);
      assert.ok(record);
      assert.deepEqual(record[1].Properties?.HealthCheckId, { Ref: healthCheck });
      assert.equal(
        (record[1].Properties?.AliasTarget as { EvaluateTargetHealth: boolean }).EvaluateTargetHealth,
        true,
      );
      const name = String(record[1].Properties?.Name);
      byEnvironment.set(name, [...(byEnvironment.get(name) ?? []), String(record[1].Properties?.Failover)]);
    }
    for (const [name, failovers] of byEnvironment)
      assert.deepEqual(failovers.sort(), ['PRIMARY', 'SECONDARY'], name);
  });

  test('the database: an Aurora MySQL Global Database, its secondary in the other region', () => {
    for (const s of stacks) {
      if (s.stack.primary) {
        s.template.resourceCountIs('AWS::RDS::GlobalCluster', 1);
        s.template.hasResourceProperties('AWS::RDS::DBCluster', {
          Engine: 'aurora-mysql',
          StorageEncrypted: true,
        });
      } else {
        s.template.hasResourceProperties('AWS::RDS::DBCluster', {
          Engine: 'aurora-mysql',
          GlobalClusterIdentifier: `persona-${s.stack.stackName.split('-')[1]}-database`,
        });
      }
    }
  });

  test('a CloudWatch alarm for every Prometheus alert, on series the hosts publish', () => {
    for (const s of stacks) {
      const alarms = ofType(s, 'AWS::CloudWatch::Alarm').map(([, a]) => a.Properties ?? {});
      const names = alarms.map((a) => String(a.AlarmName));
      for (const alert of ALERTS)
        assert.ok(
          names.some((n) => n.includes(`-${alert.alert}-`)),
          `${s.stack.stackName}: ${alert.alert}`,
        );
      // Every metric of the Persona namespace is one the agent publishes, by dimensions it keeps.
      type Stat = { Namespace?: string; MetricName?: string; Dimensions?: { Name: string }[] };
      const metrics = alarms.flatMap((a): Stat[] => [
        a as Stat,
        ...((a.Metrics ?? []) as { MetricStat?: { Metric: Stat } }[]).flatMap((m) =>
          m.MetricStat ? [m.MetricStat.Metric] : [],
        ),
      ]);
      const published = metrics.filter((m) => m.Namespace === NAMESPACE);
      assert.ok(published.length >= 8);
      for (const m of published) {
        const dimensions = (m.Dimensions ?? []).map((d) => d.Name).sort();
        assert.ok(
          AGENT_SERIES[m.MetricName ?? '']?.some((set) => [...set].sort().join() === dimensions.join()),
          `${m.MetricName} by ${dimensions.join(',')} is not published`,
        );
      }
      // And every tier host runs the agent with that configuration.
      const launch = ofType(s, 'AWS::EC2::LaunchTemplate').map(([, lt]) => JSON.stringify(lt.Properties));
      const tierHosts = launch.filter((d) => d.includes('ROLE='));
      assert.equal(tierHosts.length, s.stack.fleet.tiers.length);
      for (const data of tierHosts)
        assert.ok(
          data.includes('amazon-cloudwatch-agent-ctl') && data.includes('persona_verifications_total'),
        );
    }
  });

  test('staging differs from production only in size, names and access', () => {
    const perZone = new Set([
      'AWS::EC2::Subnet',
      'AWS::EC2::RouteTable',
      'AWS::EC2::SubnetRouteTableAssociation',
      'AWS::EC2::Route',
      'AWS::RDS::DBInstance',
    ]);
    const shape = (s: Synthesized) => {
      const counts: Record<string, number> = {};
      for (const r of Object.values(s.resources))
        if (!perZone.has(r.Type)) counts[r.Type] = (counts[r.Type] ?? 0) + 1;
      return counts;
    };
    for (const region of ['us-west-2', 'eu-west-1']) {
      const production = stacks.find((s) => s.stack.stackName === `Persona-production-${region}`);
      const staging = stacks.find((s) => s.stack.stackName === `Persona-staging-${region}`);
      assert.ok(production && staging);
      assert.deepEqual(shape(staging), shape(production), region);
      const open = (s: Synthesized) =>
        ingressRules(s)
          .filter((r) => /^[0-9./]+$/.test(r.from))
          .map((r) => r.from);
      assert.ok(open(production).includes('0.0.0.0/0'));
      assert.ok(!open(staging).includes('0.0.0.0/0'), 'staging is not open to everyone');
    }
  });
});
