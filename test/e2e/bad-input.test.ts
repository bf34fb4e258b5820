import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonRpcProvider } from 'ethers';
import { loadConfig, parseConfig } from '../../src/config.ts';
import type { ChainRegistration } from '../../src/domain/chain.ts';
import { ConfigError } from '../../src/errors.ts';
import { makeProvider } from '../../src/evm/provider.ts';
import { governanceArtifacts } from '../../src/governance/artifacts.ts';
import { GovernanceClient } from '../../src/governance/client.ts';
import { addressOf, type HubKeys } from '../../src/governance/keys.ts';
import type { HubState } from '../../src/main/state.ts';
import { cleanEnv, runCli, runCliInProcess, type CliResult } from '../helpers/cli.ts';
import { startTestHub, type TestHub } from '../helpers/hub.ts';

/** The thrown error, for assertions on its class and data (fails the test when nothing is thrown). */
async function caught(f: () => unknown): Promise<unknown> {
  try {
    await f();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error, nothing was thrown');
}

/** A clear error: non-zero exit, the field named on stderr, no stack trace, and the hub never got as far as starting. */
function expectCleanFailure(r: CliResult, field: string): void {
  expect(r.signal, `killed: ${r.stdout}${r.stderr}`).toBeNull();
  expect(r.code).not.toBe(0);
  expect(r.stderr).toContain(field);
  expect(r.stderr).not.toMatch(/^\s+at /m);
  expect(r.stdout).not.toContain('Qiao hub ready');
}

describe('malformed config', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'qiao-badcfg-'));
  });

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  describe('parseConfig', () => {
    it.each([
      { name: 'a string port', raw: { api: { port: 'abc' } }, field: 'api.port' },
      { name: 'a port out of range', raw: { api: { port: 70_000 } }, field: 'api.port' },
      { name: 'an unknown top-level key', raw: { bogus: 1 }, field: 'bogus' },
      { name: 'an unknown nested key', raw: { api: { prot: 1 } }, field: 'api.prot' },
      { name: 'a bad enum', raw: { logLevel: 'loud' }, field: 'logLevel' },
      { name: 'a non-URL database', raw: { databaseUrl: 'localhost/db' }, field: 'databaseUrl' },
      { name: 'a fractional relayer setting', raw: { relayer: { batchSize: 1.5 } }, field: 'relayer.batchSize' },
      { name: 'a section of the wrong type', raw: { demo: 'yes' }, field: 'demo' },
    ])('rejects $name, naming $field', ({ raw, field }) => {
      let err: unknown;
      try {
        parseConfig(raw);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).field).toBe(field);
      expect((err as ConfigError).data.field).toBe(field);
      expect((err as ConfigError).message).toContain(field);
    });

    it('fills defaults for an empty config', () => {
      const c = parseConfig({});
      expect(c.api).toEqual({ host: '127.0.0.1', port: 7878, keys: {} });
      expect(c.dataDir).toBe('.qiao');
      expect(c.dev).toBe(false);
    });
  });

  describe('loadConfig', () => {
    it('names (file) for invalid JSON and for a file that is not there', async () => {
      const bad = join(dir, 'broken.json');
      await writeFile(bad, '{ "api": ');
      for (const file of [bad, join(dir, 'missing.json')]) {
        const err = await caught(() => loadConfig({ file, env: {} }));
        expect(err).toBeInstanceOf(ConfigError);
        expect((err as ConfigError).field).toBe('(file)');
        expect((err as Error).cause).toBeDefined();
      }
    });

    it('names (root) for JSON that is not an object', async () => {
      const file = join(dir, 'array.json');
      await writeFile(file, '[1, 2]');
      const err = await caught(() => loadConfig({ file, env: {} }));
      expect((err as ConfigError).field).toBe('(root)');
    });

    it('names the field an environment variable set wrongly', async () => {
      const err = await caught(() => loadConfig({ file: undefined, env: { QIAO_API_PORT: 'abc', QIAO_CONFIG: '' } }));
      expect((err as ConfigError).field).toBe('api.port');
    });
  });

  describe('qiao start', () => {
    // In-process (the command tree `main` runs, its failure report): a process start costs seconds.
    // The two tests below run the real binary for the same code path.
    it.each([
      { name: 'a string port', text: '{"api": {"port": "abc"}}', field: 'api.port' },
      { name: 'an unknown key', text: '{"bogus": true}', field: 'bogus' },
      { name: 'an unknown nested key', text: '{"relayer": {"batchsize": 10}}', field: 'relayer.batchsize' },
      { name: 'invalid JSON', text: '{"api": {"port": 1,}}', field: '(file)' },
      { name: 'a JSON array', text: '[]', field: '(root)' },
    ])('refuses $name, names $field, and creates nothing', async ({ text, field }) => {
      const file = join(dir, `${field.replace(/\W/g, '_')}.json`);
      await writeFile(file, text);
      const dataDir = join(dir, `data-${field.replace(/\W/g, '_')}`);
      // No --api-port here: a flag would (rightly) override the file's value.
      const r = await runCliInProcess(['start', '--config', file, '--data-dir', dataDir, '--log', 'file']);
      expectCleanFailure(r, field);
      expect(existsSync(dataDir)).toBe(false);
    });

    it('refuses a bad --api-port flag and leaves an existing empty data folder empty', async () => {
      const dataDir = await mkdtemp(join(dir, 'empty-'));
      const r = await runCli(['start', '--data-dir', dataDir, '--api-port', 'abc', '--log', 'file'], { timeoutMs: 30_000 });
      expectCleanFailure(r, 'api.port');
      expect(await readdir(dataDir)).toEqual([]);
    });

    it('refuses a config file that is not there', async () => {
      const dataDir = join(dir, 'data-missing');
      const r = await runCli(['start', '--config', join(dir, 'nope.json'), '--data-dir', dataDir], { timeoutMs: 30_000 });
      expectCleanFailure(r, '(file)');
      expect(existsSync(dataDir)).toBe(false);
    });
  });
});

describe('bad input against a running hub', () => {
  let t: TestHub;
  let gov: GovernanceClient;
  let govProvider: JsonRpcProvider;
  let governor: string;
  let before: ChainRegistration[];
  let nonceBefore: number;

  beforeAll(async () => {
    t = await startTestHub({ config: {} });
    const state = JSON.parse(await readFile(join(t.dataDir, 'hub.json'), 'utf8')) as HubState;
    const keys = JSON.parse(await readFile(join(t.dataDir, 'keys.json'), 'utf8')) as HubKeys;
    expect(state.governanceUrl).toBe(t.hub.governance.url);
    govProvider = makeProvider(state.governanceUrl!, BigInt(state.governance!.chainId));
    gov = new GovernanceClient(govProvider, BigInt(state.governance!.chainId), state.governance!.contracts, await governanceArtifacts());
    governor = addressOf(keys.governor);
    before = await gov.chains();
    nonceBefore = await govProvider.getTransactionCount(governor, 'latest');
    expect(before.length).toBe(2);
  });

  afterAll(async () => {
    govProvider?.destroy();
    await t?.stop();
  });

  const GENESIS = `0x${'ab'.repeat(32)}`;
  const PORT = `0x${'cd'.repeat(20)}`;
  const register = (over: Record<string, string>) => {
    const o = { 'chain-id': 'eip155:4242', 'genesis-hash': GENESIS, port: PORT, rpc: 'http://127.0.0.1:1', ...over };
    return ['chains', 'register', ...Object.entries(o).flatMap(([k, v]) => [`--${k}`, v]), '--data-dir', t.dataDir];
  };

  describe('chains register', () => {
    // Most cases run in-process (the command tree `main` runs, its failure report): a process start
    // costs seconds. `asProcess` cases run the real binary: a check in the action itself and one
    // behind a lazily loaded module (the BFT trust root decoder).
    it.each<{ name: string; over: Record<string, string>; field: string; asProcess?: true }>([
      { name: 'a bad CAIP-2 id', over: { 'chain-id': 'eth:1!' }, field: 'chain-id', asProcess: true },
      { name: 'a chain id without a namespace', over: { 'chain-id': '4242' }, field: 'chain-id' },
      { name: 'a short genesis hash', over: { 'genesis-hash': '0x1234' }, field: 'genesis-hash' },
      { name: 'a genesis hash that is not hex', over: { 'genesis-hash': `0x${'zz'.repeat(32)}` }, field: 'genesis-hash' },
      { name: 'an RPC that is not a URL', over: { rpc: 'localhost:8545' }, field: 'rpc' },
      { name: 'an empty port', over: { port: '0x' }, field: 'port' },
      { name: 'a QBFT trust root that is not {height, hash, validators}', over: { 'light-client': 'qbft', 'trust-root': '{"height":"0","hash":"0x00"}' }, field: 'trust-root', asProcess: true },
      { name: 'a port of the wrong length', over: { port: '0x1234' }, field: 'port' },
      { name: 'an RPC of another scheme', over: { rpc: 'ftp://127.0.0.1:8545' }, field: 'rpc' },
      { name: 'a port that is not hex', over: { port: 'my-port' }, field: 'port' },
      { name: 'an unknown family', over: { family: 'bitcoin' }, field: 'family' },
      { name: 'a negative finality depth', over: { 'finality-depth': '-1' }, field: 'finality-depth' },
    ])('refuses $name, names $field, and the registry on chain is unchanged', async ({ over, field, asProcess }) => {
      const r = asProcess ? await runCli(register(over), { env: cleanEnv() }) : await runCliInProcess(register(over));
      expectCleanFailure(r, `[${field}]`);
      expect(await gov.chains()).toEqual(before);
      // Nothing was even sent: the operator key's nonce did not move.
      expect(await govProvider.getTransactionCount(governor, 'latest')).toBe(nonceBefore);
    });

    it('refuses to approve a bad chain id', async () => {
      const r = await runCliInProcess(['chains', 'approve', 'eth:1!', '--data-dir', t.dataDir]);
      expectCleanFailure(r, '[chainId]');
      expect(await gov.chains()).toEqual(before);
      expect(await govProvider.getTransactionCount(governor, 'latest')).toBe(nonceBefore);
    });

    it('refuses a chain the registry already holds, naming the contract error, and changes nothing', async () => {
      const existing = before[0]!;
      const r = await runCli(register({ 'chain-id': existing.chainId }));
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/^error.*reverted: AlreadyRegistered/m);
      expect(r.stderr).not.toMatch(/^\s+at /m);
      expect(await gov.chains()).toEqual(before);
      expect(await govProvider.getTransactionCount(governor, 'latest')).toBe(nonceBefore);
    });

    // The control: the same command with good input does change the registry.
    it('registers a well-formed chain as pending', async () => {
      const r = await runCli(register({}));
      expect(r.code, r.stderr).toBe(0);
      const after = await gov.chains();
      expect(after.length).toBe(before.length + 1);
      expect(after.find((c) => c.chainId === 'eip155:4242')).toMatchObject({ status: 'pending', genesisHash: GENESIS, port: PORT, endpoints: ['http://127.0.0.1:1'] });
    });
  });

  describe('message queries', () => {
    it.each(['%%%', 'bad', encodeURIComponent('MTA=junk'), 'MA'])('the API answers 400 naming cursor for cursor=%s', async (cursor) => {
      const res = await fetch(`${t.hub.apiUrl}/messages?cursor=${cursor}`);
      expect(res.status).toBe(400);
      const body = (await res.json()) as { error: { code: string; field?: string; message: string } };
      expect(body.error.field).toBe('cursor');
      expect(body.error.message).toContain('cursor');
    });

    it('the CLI exits non-zero naming cursor', async () => {
      // The control (without the bad cursor the same command works) runs alongside.
      const [r, ok] = await Promise.all([runCli(['messages', 'list', '--cursor', 'bad', '--api', t.hub.apiUrl]), runCli(['messages', 'list', '--api', t.hub.apiUrl, '--json'])]);
      expectCleanFailure(r, 'cursor');
      expect(ok.code, ok.stderr).toBe(0);
      expect(JSON.parse(ok.stdout)).toMatchObject({ items: [], nextCursor: null });
    });
  });
});
