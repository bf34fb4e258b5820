import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { procStats } from './proc-stat.ts';
import { REPO_ROOT, cleanEnv } from './cli.ts';

export interface HubProcess {
  /** Pid of the hub, also the id of its process group (the governance anvil is in it). */
  readonly pid: number;
  /** Everything the hub printed so far (stdout and stderr interleaved). */
  output(): string;
  /** Resolves once the hub printed `Qiao hub ready`; rejects with its output if it exits or the deadline passes. */
  waitReady(timeoutMs?: number): Promise<void>;
  /** Signals the whole process group and waits until no live process is left in it. */
  killGroup(signal?: NodeJS.Signals, timeoutMs?: number): Promise<void>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const READY = 'Qiao hub ready';

/**
 * Live (non-zombie) members of a process group. A SIGKILLed hub's anvil may
 * linger as a zombie until some init reaps it, and a zombie holds no port or
 * file, so it does not count.
 */
function liveGroupMembers(pgid: number): number[] {
  if (!existsSync('/proc/self/stat')) {
    try {
      process.kill(-pgid, 0);
      return [pgid];
    } catch {
      return [];
    }
  }
  const live: number[] = [];
  for (const { pid, fields } of procStats()) {
    const [state, , pgrp] = fields;
    if (Number(pgrp) === pgid && state !== 'Z' && state !== 'X') live.push(pid);
  }
  return live;
}

/**
 * Starts `qiao start` as a separate process in its own process group (as an
 * operator would run it), so a test can SIGKILL the hub and its embedded
 * governance anvil together, as a power cut would.
 */
export function spawnHub({ dataDir, args = [], env = cleanEnv() }: { dataDir: string; args?: string[]; env?: NodeJS.ProcessEnv }): HubProcess {
  const child = spawn(process.execPath, ['bin/qiao.mjs', 'start', '--dev', '--data-dir', dataDir, '--api-port', '0', '--log', 'file', ...args], {
    cwd: REPO_ROOT,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not spawn the hub');
  let out = '';
  const append = (b: Buffer) => {
    out += b.toString();
    if (out.length > 2_000_000) out = out.slice(-200_000);
  };
  child.stdout.on('data', append);
  child.stderr.on('data', append);
  let done: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      done = { code, signal };
      resolve(done);
    });
  });
  return {
    pid,
    exited,
    output: () => out,
    async waitReady(timeoutMs = 90_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (out.includes(READY)) return;
        if (done) throw new Error(`the hub exited (code ${done.code}, signal ${done.signal}) before it was ready:\n${out.slice(-4000)}`);
        if (Date.now() > deadline) throw new Error(`the hub was not ready within ${timeoutMs} ms:\n${out.slice(-4000)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async killGroup(signal = 'SIGKILL', timeoutMs = 20_000) {
      try {
        process.kill(-pid, signal);
      } catch {
        // the group is gone already
      }
      await Promise.race([exited, new Promise((r) => setTimeout(r, timeoutMs).unref())]);
      const deadline = Date.now() + timeoutMs;
      while (liveGroupMembers(pid).length > 0) {
        if (Date.now() > deadline) throw new Error(`process group ${pid} still has live members ${liveGroupMembers(pid).join(', ')} after ${signal}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
}
