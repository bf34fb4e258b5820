import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { QiaoError } from '../errors.ts';
import { keepGoodCopy, repairStateFile } from './anvil-state.ts';

/** anvil's well-known first dev account: used only to fund the hub's own keys, never to sign anything that matters. */
export const ANVIL_DEV_KEY = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';

export class AnvilError extends QiaoError {
  constructor(message: string, options: { cause?: unknown; data?: Record<string, unknown> } = {}) {
    super('anvil_failed', message, options);
  }
}

export interface AnvilOptions {
  chainId: bigint | number;
  /** Seconds between blocks; omitted = mine on every transaction. */
  blockTime?: number;
  /** Persist state to this file (loaded at start, written every `stateInterval` s and on exit). */
  stateFile?: string;
  stateInterval?: number;
  host?: string;
  logger?: Logger;
  /** Extra flags, e.g. ['--hardfork', 'prague']. */
  args?: string[];
  startTimeoutMs?: number;
}

export interface AnvilProcess {
  readonly url: string;
  readonly port: number;
  readonly chainId: bigint;
  readonly pid: number;
  /** SIGTERM (anvil writes its state), SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
  /** Resolves when the process exits, with its code or signal. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function anvilBinary(): string {
  const require = createRequire(import.meta.url);
  const platform = process.platform === 'win32' ? 'win32' : process.platform;
  const arch = process.arch === 'x64' ? 'amd64' : process.arch;
  const pkg = `@foundry-rs/anvil-${platform}-${arch}`;
  try {
    return join(dirname(require.resolve(`${pkg}/package.json`)), 'bin', process.platform === 'win32' ? 'anvil.exe' : 'anvil');
  } catch (cause) {
    throw new AnvilError(`the anvil binary package ${pkg} is not installed (run npm ci)`, { cause });
  }
}

/**
 * Starts anvil on a free port (port 0, read back from anvil's "Listening on"
 * line), so parallel tests and hubs never collide.
 */
export async function startAnvil(opts: AnvilOptions): Promise<AnvilProcess> {
  const { chainId, blockTime, stateFile, stateInterval = 1, host = '127.0.0.1', logger, args = [], startTimeoutMs = 20_000 } = opts;
  const argv = ['--host', host, '--port', '0', '--chain-id', String(chainId)];
  if (blockTime !== undefined) argv.push('--block-time', String(blockTime));
  // anvil silently skips writing its state when the folder is missing.
  if (stateFile) mkdirSync(dirname(stateFile), { recursive: true });
  if (stateFile) {
    try {
      await repairStateFile(stateFile, logger);
    } catch (cause) {
      throw new AnvilError(cause instanceof Error ? cause.message : String(cause), { cause });
    }
  }
  if (stateFile) argv.push('--state', stateFile, '--state-interval', String(stateInterval), '--preserve-historical-states');
  argv.push(...args);
  const child: ChildProcess = spawn(anvilBinary(), argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  let out = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new AnvilError(`anvil did not start within ${startTimeoutMs} ms`, { data: { output: out.slice(-2000) } }));
    }, startTimeoutMs);
    const onData = (buf: Buffer) => {
      out += buf.toString();
      const m = /Listening on [^\s:]+:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
      if (out.length > 1_000_000) out = out.slice(-10_000);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (b: Buffer) => {
      out += b.toString();
    });
    child.once('error', (cause) => {
      clearTimeout(timer);
      reject(new AnvilError('could not start anvil', { cause }));
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new AnvilError(`anvil exited during start (code ${code}, signal ${signal})`, { data: { output: out.slice(-2000) } }));
    });
  });
  // Keep draining output so a full pipe never blocks anvil.
  child.stdout!.removeAllListeners('data');
  child.stdout!.resume();
  child.stderr!.resume();
  const url = `http://${host}:${port}`;
  logger?.debug({ url, chainId: String(chainId), pid: child.pid }, 'anvil started');
  const stopCopies = stateFile ? keepGoodCopy(stateFile) : () => undefined;
  void exited.then((r) => {
    stopCopies();
    logger?.debug({ url, ...r }, 'anvil exited');
  });
  return {
    url,
    port,
    chainId: BigInt(chainId),
    pid: child.pid!,
    exited,
    async stop(graceMs = 5000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(t);
    },
  };
}
