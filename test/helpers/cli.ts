import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { format } from 'node:util';
import type { Command } from 'commander';

/** The repository root: the CLI resolves `bin/qiao.mjs` and its TypeScript from here. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface CliResult {
  /** Exit code, or null when the process was killed (then `signal` is set). */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The variables `cleanEnv` leaves out: a test gives them explicitly. */
const isRunnerSetting = (k: string) => k.startsWith('QIAO_') || k === 'DATABASE_URL' || k === 'REDIS_URL';

/**
 * The environment of a CLI child without the QIAO_* variables of whoever runs
 * the tests, so each test says exactly which settings it gives.
 */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!isRunnerSetting(k)) env[k] = v;
  return { ...env, ...extra };
}

/**
 * Runs `node bin/qiao.mjs ...args` as a real process, as a user would. The
 * child gets its own process group, so a command that unexpectedly starts a
 * hub (and its anvil) is killed whole when `timeoutMs` passes.
 */
export function runCli(
  args: string[],
  { timeoutMs = 60_000, env = cleanEnv(), cwd = REPO_ROOT, nodeArgs = [] }: { timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string; nodeArgs?: string[] } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeArgs, `${REPO_ROOT}bin/qiao.mjs`, ...args], { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/**
 * Runs `qiao ...args` through the CLI's own command tree (`buildProgram`) in this
 * process: no process start (seconds each on a loaded machine), for checks of
 * argument validation. What the command and Commander print is collected, and a
 * failure is reported as `main` reports it (`failureOf`: the same stderr line and
 * exit code). As with `runCli`, the QIAO_*, DATABASE_URL and REDIS_URL variables of
 * whoever runs the tests are hidden for the call; `env` sets the ones a test gives.
 * What only a real process shows (the tsx loader, the entry point, the exit itself)
 * still needs `runCli`.
 */
export async function runCliInProcess(args: string[], { env = {} }: { env?: Record<string, string> } = {}): Promise<CliResult> {
  const { buildProgram, failureOf } = await import('../../src/cli/main.ts');
  const program = buildProgram();
  let stdout = '';
  let stderr = '';
  const capture = (c: Command) => {
    c.configureOutput({ writeOut: (s) => (stdout += s), writeErr: (s) => (stderr += s) });
    c.exitOverride();
    c.commands.forEach(capture);
  };
  capture(program);
  const saved = Object.entries(process.env).filter(([k]) => isRunnerSetting(k) || k in env);
  for (const [k] of saved) delete process.env[k];
  Object.assign(process.env, env);
  const { log, error } = console;
  const exitCodeBefore = process.exitCode;
  process.exitCode = undefined;
  console.log = (...a: unknown[]) => void (stdout += `${format(...a)}\n`);
  console.error = (...a: unknown[]) => void (stderr += `${format(...a)}\n`);
  let code: number;
  try {
    await program.parseAsync(['node', 'qiao', ...args]);
    code = Number(process.exitCode ?? 0);
  } catch (err) {
    const f = failureOf(err);
    for (const line of f.print) stderr += `${format(line)}\n`;
    code = f.exitCode;
  } finally {
    console.log = log;
    console.error = error;
    process.exitCode = exitCodeBefore;
    for (const k of Object.keys(env)) delete process.env[k];
    for (const [k, v] of saved) process.env[k] = v;
  }
  return { code, signal: null, stdout, stderr };
}
