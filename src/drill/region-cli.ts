/** `persona drill region [--short] [--no-partition]`: runs src/drill/region.ts and prints its figures. */
import { parseArgs } from 'node:util';
import { runRegionDrill, type RegionDrillResult } from './region.ts';

export const REGION_DRILL_HELP = `Usage: persona drill region [--short] [--no-partition] [--workers N] [--verbose] [--json]

Two regions (tiers, Galera 2+2 nodes and garbd, HAProxy per region) and PowerDNS on this machine, in a
temporary directory; clients resolve the service's name through PowerDNS. Under their load region a is
killed whole; prints the time until DNS answers only b, failed requests, sign-ups and sign-ins that
continued in b, acknowledged sign-ups lost (must be 0); then a rejoins (IST) and DNS answers both; then
the link between the regions is cut (nftables) and only the side with quorum takes writes.
Needs root, pdns_server, mariadbd, garbd, haproxy, nft. Exit 0 when nothing was lost.
`;

export function formatDrill(r: RegionDrillResult): string {
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const lines = [
    `DNS before:                 ${r.dnsBefore.join(', ')}`,
    `DNS during the loss:        ${r.dnsDuringLoss.join(', ')}`,
    `DNS after the rejoin:       ${r.dnsAfterRejoin.join(', ')}`,
    `time to DNS answering b:    ${s(r.dnsMoveMs)} (goal ≤ 60 s)`,
    `requests:                   ${r.requests}; failed before the loss ${r.failedBeforeLoss}, from the kill on ${r.failedDuringMove}`,
    `after the loss, in b:       ${r.signUpsAfterLoss} sign-ups, ${r.signInsAfterLoss} sign-ins`,
    `writer:                     ${r.writerBefore ?? '?'} before, ${r.writerDuringLoss ?? '?'} during the loss, ${r.writerAfterRejoin.a ?? '?'} (a) and ${r.writerAfterRejoin.b ?? '?'} (b) after the rejoin`,
    `acknowledged sign-ups:      ${r.acknowledgedSignUps}; lost after the loss ${r.lostAfterLoss}, after the rejoin ${r.lostAfterRejoin} (must be 0)`,
    `loss detector:              ${r.detectorSeesLoss ? 'an account deleted on purpose counted as lost' : 'FAILED to see a deleted account'}`,
    `region a rejoined (Galera): ${s(r.rejoinMs)}; DNS answered both ${s(r.dnsBackMs)} after its restart began`,
  ];
  if (r.errors.length > 0) lines.push(`first failures:\n${r.errors.map((e) => `  ${e}`).join('\n')}`);
  if (r.partition) {
    const p = r.partition;
    lines.push(
      `partition: a's nodes ${p.cutSideStatus}; writes through a ${p.cutSideRefused ? 'refused' : 'ACCEPTED (split brain!)'}, through b ${p.quorumSideWrote ? 'acknowledged' : 'REFUSED'}; healed in ${s(p.healMs)}, consistent: ${p.healedConsistent ? 'yes' : 'NO'}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

export const drillPassed = (r: RegionDrillResult): boolean =>
  r.lostAfterLoss === 0 &&
  r.lostAfterRejoin === 0 &&
  r.detectorSeesLoss &&
  r.dnsDuringLoss.length === 1 &&
  (r.partition === undefined ||
    (r.partition.cutSideRefused && r.partition.quorumSideWrote && r.partition.healedConsistent));

export async function regionDrillCommand(args: string[], serveCommand: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      short: { type: 'boolean', default: false },
      'no-partition': { type: 'boolean', default: false },
      workers: { type: 'string' },
      verbose: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(REGION_DRILL_HELP);
    return 0;
  }
  const result = await runRegionDrill({
    short: values.short,
    partition: !values['no-partition'],
    ...(values.workers !== undefined ? { workers: Number(values.workers) } : {}),
    serveCommand,
    log: (line) => process.stderr.write(`drill | ${line}\n`),
    ...(values.verbose ? { processLog: (line: string) => process.stderr.write(`${line}\n`) } : {}),
  });
  process.stdout.write(values.json ? `${JSON.stringify(result)}\n` : formatDrill(result));
  return drillPassed(result) ? 0 : 1;
}
