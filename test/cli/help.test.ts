import { describe, expect, it } from 'vitest';
import { CommanderError, type Command } from 'commander';
import { buildProgram } from '../../src/cli/main.ts';
import { runCli } from '../helpers/cli.ts';

/** Every command path of the CLI, from the program itself down, e.g. [], ['chains'], ['chains', 'register']. */
function commandPaths(cmd: Command, prefix: string[] = []): string[][] {
  return [prefix, ...cmd.commands.flatMap((c) => commandPaths(c, [...prefix, c.name()]))];
}

const PATHS = commandPaths(buildProgram());

/** Help rendered in-process: Commander prints it and throws (exitOverride) instead of exiting. */
async function helpOf(path: string[]): Promise<{ exitCode: number; code: string; out: string; err: string }> {
  const program = buildProgram();
  let out = '';
  let err = '';
  const capture = (c: Command) => {
    c.configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (err += s) });
    c.exitOverride();
    c.commands.forEach(capture);
  };
  capture(program);
  try {
    await program.parseAsync(['node', 'qiao', ...path, '--help']);
  } catch (e) {
    if (!(e instanceof CommanderError)) throw e;
    return { exitCode: e.exitCode, code: e.code, out, err };
  }
  throw new Error(`--help on "${path.join(' ')}" ran the command instead of printing help`);
}

describe('qiao --help', () => {
  it('the command tree has the documented commands', () => {
    const names = PATHS.map((p) => p.join(' '));
    for (const expected of [
      '',
      'start',
      'messages list',
      'messages show',
      'chains list',
      'chains register',
      'chains approve',
      'chains suspend',
      'chains freeze',
      'chains reanchor',
      'governance proposals',
      'identity create',
      'identity resolve',
      'issuers accredit',
      'credit attest',
      'credit dispute',
      'registry prove',
      'cosmos connect',
      'fabric identity import',
    ]) {
      expect(names).toContain(expected);
    }
  });

  it.each(PATHS.map((p) => [p.join(' ') || '(top level)', p] as const))('in-process: %s', async (_name, path) => {
    const h = await helpOf(path);
    expect(h.code).toBe('commander.helpDisplayed');
    expect(h.exitCode).toBe(0);
    expect(h.err).toBe('');
    expect(h.out).toContain('Usage: qiao');
    if (path.length > 0) expect(h.out).toContain(`Usage: qiao ${path.join(' ')}`);
    // Every subcommand is listed in its parent's help.
    const program = buildProgram();
    const cmd = path.reduce<Command>((c, name) => c.commands.find((x) => x.name() === name)!, program);
    for (const sub of cmd.commands) expect(h.out).toContain(sub.name());
    for (const opt of cmd.options) expect(h.out).toContain(opt.long!);
  });

  // The real binary (tsx loader, entry point, exit code), as after `npm ci`. main.ts imports every
  // command module at start, so any one process loads them all; the in-process test above renders
  // every path's help. So a few processes, side by side: the top level, a top-level command and a
  // nested one (each costs a process start on a loaded machine).
  it.each([[], ['chains'], ['chains', 'register']].map((p) => [p.join(' ') || '(top level)', p] as const))('as a process: qiao %s --help', async (_name, path) => {
    const r = await runCli([...path, '--help'], { timeoutMs: 30_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain(`Usage: qiao${path.length ? ` ${path.join(' ')}` : ''}`);
    // The same text the in-process help gives: the process adds nothing and loses nothing.
    expect(r.stdout).toBe((await helpOf(path)).out);
  });

  // Registering commands must stay cheap: a hub dependency imported at the top of a command module
  // costs every CLI process seconds (ethers, kysely, PGlite...: ~7 s a process under load). Command
  // modules import them inside their actions. A module hook reports each ESM module the process loads.
  it('as a process: --help loads none of the hub\'s heavy dependencies', async () => {
    const hook = `export async function load(url, context, next) { if (url.includes('/node_modules/')) process._rawDebug('loaded ' + url); return next(url, context); }`;
    const reg = `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hook)}`)});`;
    const r = await runCli(['--help'], { timeoutMs: 30_000, nodeArgs: ['--import', `data:text/javascript,${encodeURIComponent(reg)}`] });
    expect(r.code, r.stderr).toBe(0);
    const loaded = new Set([...r.stderr.matchAll(/^loaded .*?\/node_modules\/((?:@[^/]+\/)?[^/]+)\//gm)].map((m) => m[1]));
    expect(loaded, 'the hook sees what loads').toContain('commander');
    const heavy = ['ethers', 'kysely', 'kysely-pglite', '@electric-sql/pglite', 'pg', 'fastify', 'bullmq', 'ioredis', 'solc', 'zod', 'pino', '@polkadot/api'];
    expect([...loaded].filter((p) => heavy.includes(p!))).toEqual([]);
  });

  it('qiao help <command> and --version work as a process', async () => {
    const [help, version] = await Promise.all([runCli(['help', 'chains'], { timeoutMs: 30_000 }), runCli(['--version'], { timeoutMs: 30_000 })]);
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toContain('Usage: qiao chains');
    expect(version.code, version.stderr).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('an unknown command exits non-zero and says so', async () => {
    const r = await runCli(['chainz'], { timeoutMs: 30_000 });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("unknown command 'chainz'");
  });
});
