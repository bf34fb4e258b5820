import { readdirSync, readFileSync } from 'node:fs';

/**
 * Every live process's /proc/<pid>/stat fields after the command name (which is in parentheses and may hold
 * spaces): state(0) ppid(1) pgrp(2) ... utime(11) stime(12). Processes that exit while it reads are skipped.
 */
export function* procStats(): Generator<{ pid: number; fields: string[] }> {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    yield { pid: Number(entry), fields: stat.slice(stat.lastIndexOf(')') + 2).split(' ') };
  }
}
