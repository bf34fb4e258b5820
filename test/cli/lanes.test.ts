import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContractFactory, HDNodeWallet, Wallet, ZeroAddress, type JsonRpcProvider } from 'ethers';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { makeProvider } from '../../src/evm/provider.ts';
import { TxSender } from '../../src/evm/signer.ts';
import { ANVIL_DEV_KEY, startAnvil, type AnvilProcess } from '../../src/governance/anvil.ts';
import { governanceArtifacts } from '../../src/governance/artifacts.ts';
import { LaneFeeClient } from '../../src/governance/lane-fees.ts';

const GOV_CHAIN_ID = 7_746n;
const MNEMONIC = 'test test test test test test test test test test test junk';

describe('qiao lanes fee on anvil', () => {
  let anvil: AnvilProcess;
  let provider: JsonRpcProvider;
  let fees: LaneFeeClient;
  let dir: string;

  /** Runs the CLI in-process, capturing what it prints and its exit code. */
  async function qiao(...args: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = '';
    let err = '';
    const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void (out += `${a.join(' ')}\n`));
    const error = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void (err += `${a.join(' ')}\n`));
    process.exitCode = undefined;
    try {
      await main(['node', 'qiao', ...args, '--data-dir', dir]);
    } finally {
      log.mockRestore();
      error.mockRestore();
    }
    const code = Number(process.exitCode ?? 0);
    process.exitCode = undefined;
    return { code, out, err };
  }

  beforeAll(async () => {
    anvil = await startAnvil({ chainId: GOV_CHAIN_ID });
    provider = makeProvider(anvil.url, GOV_CHAIN_ID, { pollingMs: 50 });
    // The governor is a plain key (no council): the CLI sends governance actions directly with it.
    const governor = new TxSender(ANVIL_DEV_KEY, provider);
    const R = (await governanceArtifacts()).LaneFeeRegistry;
    const reg = await new ContractFactory(R.abi as never, R.bytecode, governor.signer).deploy(governor.address);
    await reg.waitForDeployment();
    fees = new LaneFeeClient(provider, await reg.getAddress());
    dir = mkdtempSync(join(tmpdir(), 'qiao-cli-lanes-'));
    const hub = {
      version: 1,
      governance: { chainId: String(GOV_CHAIN_ID), contracts: { chainRegistry: ZeroAddress, attestorSet: ZeroAddress, messageLog: ZeroAddress, laneFeeRegistry: await reg.getAddress() }, external: true },
      governanceUrl: anvil.url,
    };
    writeFileSync(join(dir, 'hub.json'), JSON.stringify(hub));
    const spare = () => Wallet.createRandom().privateKey;
    writeFileSync(join(dir, 'keys.json'), JSON.stringify({ governor: ANVIL_DEV_KEY, relayer: spare(), attestor: spare() }), { mode: 0o600 });
  });

  afterAll(async () => {
    provider?.destroy();
    await anvil?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('sets a fee through governance and lists it (table and JSON)', async () => {
    const set = await qiao('lanes', 'fee', 'set', 'eip155:1', 'eip155:10', '--fee', '0.001 ether', '--max-dst-gas-price', '50 gwei', '--json');
    expect(set.code, set.err).toBe(0);
    expect(JSON.parse(set.out)).toMatchObject({ srcChain: 'eip155:1', dstChain: 'eip155:10', fee: '1000000000000000', maxDstGasPrice: '50000000000', executed: true });
    expect(await fees.get('eip155:1', 'eip155:10')).toMatchObject({ fee: 10n ** 15n, maxDstGasPrice: 50n * 10n ** 9n });
    const human = await qiao('lanes', 'fee', 'set', 'eip155:10', 'eip155:1', '--fee', '0');
    expect(human.code, human.err).toBe(0);
    expect(human.out).toContain('covers up to any gas price');

    const table = await qiao('lanes', 'fee', 'list');
    expect(table.out).toMatch(/eip155:1 > eip155:10\s+1000000000000000 wei\s+50000000000 wei\/gas/);
    expect(table.out).toMatch(/eip155:10 > eip155:1\s+0 wei\s+any/);
    const json = JSON.parse((await qiao('lanes', 'fee', 'list', '--json')).out) as { srcChain: string; fee: string }[];
    expect(json.map((f) => [f.srcChain, f.fee])).toEqual([['eip155:1', '1000000000000000'], ['eip155:10', '0']]);
  });

  it('refuses bad input naming the field, and a key that does not govern', async () => {
    const badChain = await qiao('lanes', 'fee', 'set', 'ethereum', 'eip155:10', '--fee', '1');
    expect(badChain.code).toBe(2);
    expect(badChain.err).toContain('[srcChain]');
    const badFee = await qiao('lanes', 'fee', 'set', 'eip155:1', 'eip155:10', '--fee', '1.5 wei');
    expect(badFee.code).toBe(2);
    expect(badFee.err).toContain('[fee]');
    const badMax = await qiao('lanes', 'fee', 'set', 'eip155:1', 'eip155:10', '--fee', '1', '--max-dst-gas-price', 'lots');
    expect(badMax.err).toContain('[max-dst-gas-price]');
    const keyFile = join(dir, 'outsider.key');
    writeFileSync(keyFile, HDNodeWallet.fromPhrase(MNEMONIC, undefined, "m/44'/60'/0'/0/3").privateKey, { mode: 0o600 });
    const notGov = await qiao('lanes', 'fee', 'set', 'eip155:1', 'eip155:10', '--fee', '1', '--key-file', keyFile);
    expect(notGov.code).toBe(2);
    expect(notGov.err).toContain('[key-file]');
    expect((await fees.get('eip155:1', 'eip155:10'))?.fee).toBe(10n ** 15n);
  });
});
