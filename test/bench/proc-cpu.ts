import { procStats } from '../helpers/proc-stat.ts';

/** Linux reports utime/stime in clock ticks; USER_HZ is 100 on every architecture Node runs on. */
const TICK_MS = 10;

/**
 * User + system CPU milliseconds of every live process in a process group
 * (a spawned worker and anything it started), from /proc/<pid>/stat.
 * Processes that exited are not counted: call it while the group lives.
 */
export function groupCpuMs(pgid: number): number {
  return cpuMsWhere((p) => Number(p.fields[2]) === pgid);
}

function cpuMsWhere(match: (p: { comm: string; fields: string[] }) => boolean): number {
  let total = 0;
  for (const p of procStats()) if (match(p)) total += (Number(p.fields[11]) + Number(p.fields[12])) * TICK_MS;
  return total;
}

/** This process's user + system CPU milliseconds. */
export function selfCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/**
 * User + system CPU milliseconds of every live process whose command name starts with `name` (`anvil`, `postgres`):
 * the machine's other consumers in a benchmark, measured beside the relayer's own processes.
 */
export function namedCpuMs(name: string): number {
  return cpuMsWhere((p) => p.comm.startsWith(name));
}
