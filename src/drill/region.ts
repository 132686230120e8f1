/**
 * The region drill (issue 15, docs/regions.md): two regions with the Galera cluster across them, PowerDNS
 * answering the service's name, and clients (the loadgen's sign-up and sign-in activities) that resolve
 * the name through that PowerDNS and connect to what it answers. Under that load, region a is lost whole
 * (its tiers, HAProxy, checks and both Galera nodes killed); the drill measures the time until DNS
 * answers only b, the requests that failed meanwhile, the sign-ups and sign-ins that kept succeeding,
 * and checks every acknowledged sign-up still signs in (lost writes: must be 0). Then a comes back
 * (IST), DNS answers both, nothing is lost. Last, the link between the regions is cut (nftables drop
 * rules between their addresses): only b, with the arbitrator's vote, takes writes; after the heal, a
 * has b's writes and none of its own refused ones.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from 'undici';
import { generateKeypair } from '../browserid/index.ts';
import { portTaken } from '../cli/ports.ts';
import { ensureLayout, layoutOf } from '../cli/layout.ts';
import { loadConfig } from '../config/load.ts';
import { adminQuery } from '../db/cluster/index.ts';
import { signInDevice, signUp, type ActivityContext, type SimUser } from '../loadgen/activities.ts';
import { Device, type RequestSample } from '../loadgen/client.ts';
import { startMailSink, type MailSink } from '../loadgen/mail.ts';
import { dnsFiles } from '../ops/dns.ts';
import { regionsOf, type Region } from '../topology/regions.ts';
import { startRegionalDatabase, type RegionalDatabase } from '../regions/database.ts';
import { startPdns, type RunningDns } from '../regions/pdns.ts';
import { agentVia } from '../regions/resolve.ts';
import { createRegions, type Regions } from '../regions/start.ts';

export interface RegionDrillOptions {
  /** The short form (npm test): shorter load phases. */
  readonly short?: boolean;
  /** Concurrent simulated users (default 4). */
  readonly workers?: number;
  /** Also cut the link between the regions (default true). */
  readonly partition?: boolean;
  /** How `persona` is run for the tiers. */
  readonly serveCommand: readonly string[];
  readonly log?: (line: string) => void;
  /** Tier and database log lines (default: dropped). */
  readonly processLog?: (line: string) => void;
}

export interface PartitionResult {
  /** A sign-up through region a while cut off: refused (true is right). */
  readonly cutSideRefused: boolean;
  /** A sign-up through region b while a was cut off: acknowledged (true is right). */
  readonly quorumSideWrote: boolean;
  /** Galera's view from a's nodes while cut off. */
  readonly cutSideStatus: string;
  /** After the heal: b's sign-up signs in through a; a's refused one does not exist. */
  readonly healedConsistent: boolean;
  readonly healMs: number;
}

export interface RegionDrillResult {
  readonly dnsBefore: string[];
  readonly dnsDuringLoss: string[];
  readonly dnsAfterRejoin: string[];
  /** From the kill of region a until DNS answered only b. */
  readonly dnsMoveMs: number;
  readonly requests: number;
  /** Requests that failed (no answer or 5xx) from the kill until the end of the loss phase. */
  readonly failedDuringMove: number;
  readonly failedBeforeLoss: number;
  readonly signUpsAfterLoss: number;
  readonly signInsAfterLoss: number;
  readonly acknowledgedSignUps: number;
  /** Acknowledged sign-ups that no longer sign in, after the loss and after the rejoin. */
  readonly lostAfterLoss: number;
  readonly lostAfterRejoin: number;
  /** An account deleted in the database on purpose afterwards was counted as lost (the check works). */
  readonly detectorSeesLoss: boolean;
  /** Until a's nodes were synced again, and until DNS answered both regions again. */
  readonly rejoinMs: number;
  readonly dnsBackMs: number;
  readonly writerBefore: string | undefined;
  readonly writerDuringLoss: string | undefined;
  /** Each region's writer once a is back: still the survivor's node (no fail-back). */
  readonly writerAfterRejoin: { readonly a: string | undefined; readonly b: string | undefined };
  /** The first distinct failures of the load's activities. */
  readonly errors: readonly string[];
  readonly partition?: PartitionResult;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A port base whose tier, database and DNS ports are free on the regions' addresses. */
async function freePortBase(regions: readonly Region[]): Promise<number> {
  for (let attempt = 0; attempt < 30; attempt++) {
    const base = 20_000 + 1000 * Math.floor(Math.random() * 40);
    const probes = regions.flatMap((r): [string, number][] => [
      [r.host, base + 2],
      [r.host, base + 910],
      [r.databaseHosts[0] ?? r.host, base + 900],
    ]);
    let taken = false;
    for (const [host, port] of probes) if (await portTaken(host, port)) taken = true;
    if (!taken) return base;
  }
  throw new Error('no free port base for the drill');
}

/** The nftables table that cuts region a off (from b and the arbitrator's place), both ways. */
export const PARTITION_TABLE = 'p15_partition';
export function partitionRules(cut: Region, others: readonly string[]): string {
  const set = `{ ${others.join(', ')} }`;
  return [
    `table ip ${PARTITION_TABLE} {`,
    '  chain input {',
    '    type filter hook input priority -10; policy accept;',
    `    ip saddr ${cut.cidr} ip daddr ${set} drop`,
    `    ip saddr ${set} ip daddr ${cut.cidr} drop`,
    '  }',
    '}',
    '',
  ].join('\n');
}
const nft = (args: string[], input?: string) =>
  spawnSync('nft', args, { encoding: 'utf8', ...(input !== undefined ? { input } : {}) });
export const healPartition = (): void => {
  nft(['delete', 'table', 'ip', PARTITION_TABLE]);
};

export async function runRegionDrill(options: RegionDrillOptions): Promise<RegionDrillResult> {
  const log = options.log ?? (() => undefined);
  const short = options.short ?? false;
  const regions = regionsOf(2);
  const [a, b] = regions as [Region, Region];
  const dir = mkdtempSync(join(tmpdir(), 'p15-drill-'));
  const portBase = await freePortBase(regions);
  const cleanups: (() => Promise<void>)[] = [];
  const agents: Agent[] = [];
  try {
    const mail: MailSink = await startMailSink({ host: '127.0.0.1', port: 0 });
    cleanups.push(() => mail.close());
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PERSONA_ENV: 'test',
      PERSONA_DATA_DIR: join(dir, 'var'),
      PERSONA_PORT_BASE: String(portBase),
      PERSONA_PUBLIC_URL: `http://login.persona.test:${portBase + 2}`,
      PERSONA_BCRYPT_COST: '4',
      PERSONA_LOG_LEVEL: 'warn',
      PERSONA_MAX_EVENT_LOOP_LAG_MS: '0',
      PERSONA_SMTP_URL: mail.url,
      PERSONA_MIN_TIME_BETWEEN_EMAILS_MS: '0',
    };
    for (const name of Object.keys(env))
      if (/^PERSONA_(ROUTER|WEBHEAD|DBWRITER|KEYSIGNER|VERIFIER)_(PORT|URLS)$|^PERSONA_DATABASE/.test(name))
        env[name] = undefined;
    const config = loadConfig({ env });
    ensureLayout(layoutOf(config));

    log(`regions a (${a.cidr}) and b (${b.cidr}), port base ${portBase}; starting the Galera cluster…`);
    let started = Date.now();
    const db: RegionalDatabase = await startRegionalDatabase({
      dir: join(dir, 'galera'),
      regions,
      portBase,
      ...(options.processLog ? { log: options.processLog } : {}),
    });
    cleanups.push(() => db.stop());
    log(
      `Galera: ${db.spec.nodes.map((n) => n.name).join(', ')} + garbd synced in ${Date.now() - started} ms`,
    );
    const [command = process.execPath, ...commandArgs] = options.serveCommand;
    const migrated = spawnSync(command, [...commandArgs, 'migrate'], {
      env: { ...env, PERSONA_DATABASE_URL: db.directUrl },
      encoding: 'utf8',
    });
    if (migrated.status !== 0) throw new Error(`migrate failed: ${migrated.stderr}`);

    const dnsDir = join(dir, 'dns');
    const dns: RunningDns = await startPdns(dnsDir, dnsFiles(config, { dir: dnsDir, regions }));
    cleanups.push(() => dns.stop());
    const stacks: Regions = createRegions({
      config,
      regions,
      env,
      regionEnv: (r) => db.regionEnv(r.name),
      serveCommand: options.serveCommand,
      out: options.processLog ?? (() => undefined),
    });
    cleanups.push(() => stacks.stopAll());
    started = Date.now();
    await Promise.all(regions.map((r) => stacks.start(r.name)));
    log(`tiers of both regions ready in ${Date.now() - started} ms; PowerDNS at ${dns.server}`);
    const waitDns = async (want: string[], timeoutMs: number): Promise<number> => {
      const from = Date.now();
      for (;;) {
        const got = await dns.answers();
        if (JSON.stringify(got) === JSON.stringify(want)) return Date.now() - from;
        if (Date.now() - from > timeoutMs)
          throw new Error(`DNS answers ${got.join(', ') || 'nothing'}, not ${want.join(', ')}`);
        await sleep(200);
      }
    };
    await waitDns([a.host, b.host], 30_000);
    const dnsBefore = await dns.answers();
    const [dnsHost = '', dnsPort = ''] = dns.server.split(':');
    const serviceName = new URL(stacks.publicUrl).hostname;
    // What an operator sees (dnsutils' dig), when it is installed.
    const dig = (when: string) => {
      const out = spawnSync('dig', [`@${dnsHost}`, '-p', dnsPort, serviceName, 'A', '+noall', '+answer'], {
        encoding: 'utf8',
      });
      if (out.status === 0)
        log(`dig @${dnsHost} -p ${dnsPort} ${serviceName} (${when}):\n${out.stdout.trimEnd()}`);
    };
    dig('both regions up');

    // ---- the load: the loadgen's sign-up and sign-in, resolving through PowerDNS ------------------
    const base = stacks.publicUrl;
    const samples: { at: number; failed: boolean }[] = [];
    const observe = (s: RequestSample) => {
      samples.push({ at: Date.now(), failed: s.status === 0 || s.status >= 500 });
    };
    // Client addresses across 127.1.0.0/16 as the loadgen's (per-address limits count per browser).
    const byAddress = new Map<string, Agent>();
    let nextAddress = 0;
    const clientAgent = (): Agent => {
      const n = nextAddress++ % 512;
      const address = `127.1.${Math.floor(n / 250)}.${(n % 250) + 1}`;
      let agent = byAddress.get(address);
      if (!agent) {
        agent = agentVia(dns.server, { connections: 2, localAddress: address });
        byAddress.set(address, agent);
        agents.push(agent);
      }
      return agent;
    };
    const keys = Array.from({ length: 2 }, () => generateKeypair('DS128'));
    const acknowledged: SimUser[] = [];
    const ctx: ActivityContext = {
      base,
      mail,
      mailDomain: 'regions.test',
      keys,
      random: Math.random,
      newDevice: () => new Device({ base, dispatcher: clientAgent(), observe, timeoutMs: 15_000 }),
      bcrypt: () => undefined,
      linkFollowed: () => undefined,
      adopt: () => undefined,
      mailTimeoutMs: 20_000,
    };
    let serial = 0;
    const counts = { signUps: 0, signIns: 0, failedActivities: 0 };
    let lossAt = Infinity;
    /** The first distinct failures, for the report. */
    const errors: string[] = [];
    let running = true;
    const worker = async () => {
      while (running) {
        const signIn = acknowledged.length > 4 && Math.random() < 0.5;
        try {
          if (signIn) {
            const user = acknowledged[Math.floor(Math.random() * acknowledged.length)] as SimUser;
            const device = { device: ctx.newDevice() };
            await signInDevice(ctx, user, device);
            if (Date.now() > lossAt) counts.signIns++;
          } else {
            const email = `r${process.pid}x${serial++}x${Math.random().toString(36).slice(2, 8)}@regions.test`;
            const user = await signUp(ctx, email, `pw-${Math.random().toString(36).slice(2)}`);
            // Acknowledged: complete_user_creation answered success to this client.
            acknowledged.push(user);
            if (Date.now() > lossAt) counts.signUps++;
          }
        } catch (err) {
          counts.failedActivities++;
          const message = (err as Error).message.slice(0, 300);
          if (errors.length < 12 && !errors.includes(message)) errors.push(message);
          await sleep(200);
        }
      }
    };
    const workers = Array.from({ length: options.workers ?? 4 }, () => worker());
    await sleep(short ? 6000 : 30_000);
    const writerBefore = await db.writerOf('b');
    const failedBeforeLoss = samples.filter((s) => s.failed).length;

    // ---- region a lost whole -------------------------------------------------------------------
    log(
      `${acknowledged.length} sign-ups acknowledged so far; killing region a (tiers, HAProxy, checks, a1, a2)…`,
    );
    lossAt = Date.now();
    stacks.stacks.find((s) => s.region.name === 'a')?.supervisor?.kill();
    await db.killRegion('a');
    await stacks.stop('a');
    await waitDns([b.host], 90_000);
    const movedAt = Date.now();
    const dnsMoveMs = movedAt - lossAt;
    const dnsDuringLoss = await dns.answers();
    dig('region a lost');
    log(`DNS answers only b ${movedAt - lossAt} ms after the kill`);
    await sleep(short ? 10_000 : 60_000);
    const failedDuringMove = samples.filter((s) => s.failed && s.at >= lossAt).length;
    const writerDuringLoss = await db.writerOf('b');
    const lossCounts = { ...counts };
    running = false;
    await Promise.all(workers);

    const verify = async (users: readonly SimUser[]): Promise<number> => {
      let lost = 0;
      for (const user of users) {
        try {
          await signInDevice(ctx, user, { device: ctx.newDevice() });
        } catch {
          // Once more: a request can fail without the account being gone.
          try {
            await signInDevice(ctx, user, { device: ctx.newDevice() });
          } catch {
            lost++;
          }
        }
      }
      return lost;
    };
    const snapshot = [...acknowledged];
    const lostAfterLoss = await verify(snapshot);
    log(
      `${snapshot.length} acknowledged sign-ups, ${lostAfterLoss} lost; failed requests during the move: ${failedDuringMove}`,
    );

    // ---- region a comes back ----------------------------------------------------------------------
    started = Date.now();
    // The tiers start while the nodes rejoin: they are ready once their database answers.
    let rejoinMs = 0;
    await Promise.all([
      db.startRegion('a').then(() => {
        rejoinMs = Date.now() - started;
      }),
      stacks.start('a'),
    ]);
    const dnsBackMs = (await waitDns([a.host, b.host], 90_000)) + (Date.now() - started);
    const dnsAfterRejoin = await dns.answers();
    dig('region a back');
    const lostAfterRejoin = await verify(snapshot);
    const writerAfterRejoin = { a: await db.writerOf('a'), b: await db.writerOf('b') };
    // The detector itself: an account removed behind the service's back must count as lost.
    const victim = snapshot[0];
    const firstNode = db.spec.nodes[0];
    let detectorSeesLoss = false;
    if (victim && firstNode) {
      adminQuery(
        firstNode,
        `DELETE FROM ${db.accounts.database}.email WHERE address = '${victim.emails[0] ?? ''}'`,
      );
      detectorSeesLoss = (await verify([victim])) === 1;
    }
    log(
      `region a rejoined in ${rejoinMs} ms (Galera), DNS answers both ${dnsBackMs} ms after its restart; lost: ${lostAfterRejoin}`,
    );

    let partition: PartitionResult | undefined;
    if (options.partition ?? true) partition = await cutTheLink();

    return {
      dnsBefore,
      dnsDuringLoss,
      dnsAfterRejoin,
      dnsMoveMs,
      requests: samples.length,
      failedDuringMove,
      failedBeforeLoss,
      signUpsAfterLoss: lossCounts.signUps,
      signInsAfterLoss: lossCounts.signIns,
      acknowledgedSignUps: snapshot.length,
      lostAfterLoss,
      lostAfterRejoin,
      detectorSeesLoss,
      rejoinMs,
      dnsBackMs,
      writerBefore,
      writerDuringLoss,
      writerAfterRejoin,
      errors,
      ...(partition ? { partition } : {}),
    };

    /** Cuts a off from b and the arbitrator; a sign-up through each side; heals; checks consistency. */
    async function cutTheLink(): Promise<PartitionResult> {
      const pinned = (region: Region): ActivityContext => {
        // Straight to the region's router: its address for the service's name, as a client there sees it.
        const direct = new Agent({
          localAddress: `127.1.3.${region.index + 1}`,
          connect: {
            lookup: (_host, lookupOptions, callback) => {
              if (lookupOptions.all) callback(null, [{ address: region.host, family: 4 }]);
              else callback(null, region.host, 4);
            },
          },
        });
        agents.push(direct);
        return {
          ...ctx,
          newDevice: () => new Device({ base, dispatcher: direct, observe, timeoutMs: 15_000 }),
        };
      };
      const inA = pinned(a);
      const inB = pinned(b);
      const rules = partitionRules(a, [b.cidr, '127.0.9.0/24']);
      const applied = nft(['-f', '-'], rules);
      if (applied.status !== 0) throw new Error(`nft refused the partition: ${applied.stderr}`);
      log(
        'cut the link between region a and the rest (nftables); waiting for a to leave the primary component…',
      );
      let cutSideStatus: string;
      const [aFirst] = db.nodesOf('a');
      if (!aFirst) throw new Error('region a has no database node');
      try {
        const deadline = Date.now() + 60_000;
        for (;;) {
          try {
            cutSideStatus = adminQuery(aFirst, "SHOW STATUS LIKE 'wsrep_cluster_status'")[0]?.[1] ?? '';
          } catch (err) {
            cutSideStatus = (err as Error).message;
          }
          if (cutSideStatus === 'non-Primary' || Date.now() > deadline) break;
          await sleep(500);
        }
        const tryWrite = async (c: ActivityContext, tag: string): Promise<SimUser | undefined> => {
          const email = `cut-${tag}-${Date.now()}@regions.test`;
          try {
            return await signUp(c, email, 'pw-partition-1');
          } catch (err) {
            // The refused sign-up must not exist anywhere later.
            refused.push(email);
            log(`sign-up through ${tag} refused: ${(err as Error).message.slice(0, 200)}`);
            return undefined;
          }
        };
        const refused: string[] = [];
        // The quorum side first: b's HAProxy must have left a's nodes before its writes succeed.
        let viaB: SimUser | undefined;
        const until = Date.now() + 60_000;
        while (!viaB && Date.now() < until) {
          viaB = await tryWrite(inB, 'b');
          if (!viaB) await sleep(1000);
        }
        const viaA = await tryWrite(inA, 'a');
        log(
          `while cut: a's nodes ${cutSideStatus}; a sign-up through a ${viaA ? 'was ACKNOWLEDGED' : 'was refused'}; through b ${viaB ? 'acknowledged' : 'refused'}`,
        );
        healPartition();
        const healStarted = Date.now();
        for (const node of db.nodesOf('a')) {
          const deadline2 = Date.now() + 120_000;
          for (;;) {
            let state = '';
            try {
              state = adminQuery(node, "SHOW STATUS LIKE 'wsrep_local_state_comment'")[0]?.[1] ?? '';
            } catch {
              // not answering yet
            }
            if (state === 'Synced' || Date.now() > deadline2) break;
            await sleep(500);
          }
        }
        const healMs = Date.now() - healStarted;
        await sleep(3000); // HAProxy's checks see a's nodes healthy again (rise 3 at 1 s)
        let healedConsistent = viaB !== undefined;
        if (viaB) {
          try {
            await signInDevice(inA, viaB, { device: inA.newDevice() });
          } catch {
            healedConsistent = false;
          }
        }
        const existing = Number(
          adminQuery(
            aFirst,
            `SELECT COUNT(*) FROM ${db.accounts.database}.email WHERE address LIKE 'cut-a-%'`,
          )[0]?.[0] ?? '-1',
        );
        if (existing !== 0 && viaA === undefined) healedConsistent = false;
        log(
          `healed in ${healMs} ms; b's write signs in through a: ${healedConsistent}; a's refused sign-ups present: ${existing}`,
        );
        return {
          cutSideRefused: viaA === undefined,
          quorumSideWrote: viaB !== undefined,
          cutSideStatus,
          healedConsistent,
          healMs,
        };
      } finally {
        healPartition();
      }
    }
  } finally {
    healPartition();
    await Promise.all(agents.map((agent) => agent.close().catch(() => undefined)));
    for (const step of cleanups.reverse()) await step().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}
