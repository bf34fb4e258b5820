import { readdirSync, readFileSync } from 'node:fs';

/**
 * Every live process's command name (`comm`, at most 15 characters) and its /proc/<pid>/stat fields after the command name (which is in parentheses and may hold
 * spaces): state(0) ppid(1) pgrp(2) ... utime(11) stime(12). Processes that exit while it reads are skipped.
 */
export function* procStats(): Generator<{ pid: number; comm: string; fields: string[] }> {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    yield { pid: Number(entry), comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), fields: stat.slice(stat.lastIndexOf(')') + 2).split(' ') };
  }
}
