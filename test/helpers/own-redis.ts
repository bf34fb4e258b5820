import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { until } from './services.ts';

/** A port nobody listens on right now (the OS picks it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export interface OwnRedis {
  url: string;
  pid(): number;
  output(): string;
  /** SIGKILL, as a power cut: no shutdown save, only what the append-only file holds. */
  kill(): Promise<void>;
  /** Starts again on the same port and folder (replays the append-only file). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A redis-server of the test's own, durable as production runs it
 * (`appendonly yes`, `appendfsync always`), in `dir`, so a test can kill and
 * restart it without touching the shared Redis.
 */
export async function startOwnRedis(dir: string): Promise<OwnRedis> {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  let out = '';
  const launch = async () => {
    const c = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--appendonly', 'yes', '--appendfsync', 'always', '--save', '', '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    c.stdout!.on('data', (b: Buffer) => (out = (out + b.toString()).slice(-20_000)));
    c.stderr!.on('data', (b: Buffer) => (out = (out + b.toString()).slice(-20_000)));
    exited = new Promise((r) => c.once('exit', () => r()));
    child = c;
    const probe = new Redis(url, { maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });
    // Refused connections until the server listens are expected: the loop below retries.
    probe.on('error', () => {});
    try {
      await until(async () => {
        if (c.exitCode !== null) throw new Error(`redis-server exited:\n${out}`);
        try {
          await probe.connect();
        } catch {
          probe.disconnect();
          return false;
        }
        // Loading the append-only file answers LOADING until it is done.
        return (await probe.ping()) === 'PONG';
      }, { timeoutMs: 30_000, intervalMs: 100, what: `redis-server on ${port}` });
    } finally {
      probe.disconnect();
    }
  };
  await launch();
  const kill = async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  return {
    url,
    pid: () => child!.pid!,
    output: () => out,
    kill,
    restart: launch,
    stop: kill,
  };
}
