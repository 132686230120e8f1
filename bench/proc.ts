/** What the benches read of a process from /proc. */
import { readFileSync } from 'node:fs';

/** User + system CPU time of a process so far, ms (from /proc/<pid>/stat, in clock ticks of 10 ms). */
export function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

export const cpuOf = (pids: readonly number[]): number => pids.reduce((sum, pid) => sum + cpuMs(pid), 0);

/** nginx's master and its workers (the master's children). */
export function nginxPids(master: number): number[] {
  const children = readFileSync(`/proc/${master}/task/${master}/children`, 'utf8').trim();
  return [master, ...children.split(/\s+/).filter(Boolean).map(Number)];
}
