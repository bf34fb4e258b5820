import { JsonRpcProvider, Network, Wallet, type TransactionReceipt } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeProvider } from '../../src/evm/provider.ts';
import { ANVIL_DEV_KEY, startAnvil, type AnvilProcess } from '../../src/governance/anvil.ts';

// Runtime: three times LOG1(memory[0..32], topic = CALLER), then STOP; behind init code that returns it.
const RUNTIME = '3360206000a1'.repeat(3) + '00';
const EMITTER_INIT = `0x60${(RUNTIME.length / 2).toString(16).padStart(2, '0')}80600b6000396000f3${RUNTIME}`;

/*
 * FastJsonRpcProvider formats receipts and logs itself (src/evm/fast-format.ts, addresses checksummed once): every
 * result must equal ethers' own provider's on the same chain data, and bad data must be refused as ethers refuses it.
 */
describe('receipts and logs formatted as ethers does', () => {
  let anvil: AnvilProcess;
  let fast: JsonRpcProvider;
  let stock: JsonRpcProvider;
  let emitter: string;
  const hashes: string[] = [];

  beforeAll(async () => {
    anvil = await startAnvil({ chainId: 4243n });
    fast = makeProvider(anvil.url, 4243n, { pollingMs: 50 });
    stock = new JsonRpcProvider(anvil.url, Network.from(4243n), { staticNetwork: true, batchMaxCount: 1, cacheTimeout: -1 });
    const dev = new Wallet(ANVIL_DEV_KEY, stock);
    const created = await (await dev.sendTransaction({ data: EMITTER_INIT })).wait();
    emitter = created!.contractAddress!;
    hashes.push(created!.hash);
    hashes.push((await (await dev.sendTransaction({ to: emitter, data: '0x' })).wait())!.hash);
    hashes.push((await (await dev.sendTransaction({ to: emitter, type: 0, gasPrice: 3_000_000_000n, data: '0x01' })).wait())!.hash);
    hashes.push((await (await dev.sendTransaction({ to: Wallet.createRandom().address, value: 1n })).wait())!.hash);
  });
  afterAll(async () => {
    fast?.destroy();
    stock?.destroy();
    await anvil?.stop();
  });

  it('gives the same receipts: creation, calls with logs (EIP-1559 and legacy), a plain transfer', async () => {
    const json = (r: TransactionReceipt | null) => JSON.parse(JSON.stringify(r?.toJSON()));
    let logs = 0;
    for (const h of hashes) {
      const [a, b] = await Promise.all([fast.getTransactionReceipt(h), stock.getTransactionReceipt(h)]);
      expect(a).not.toBeNull();
      expect(json(a)).toEqual(json(b));
      expect(a!.logs.map((l) => l.address)).toEqual(b!.logs.map((l) => l.address));
      logs += a!.logs.length;
    }
    expect(logs).toBe(6);
    // Checksummed, as ethers gives them, however often the address repeats.
    const r = await fast.getTransactionReceipt(hashes[1]!);
    expect(r!.logs.every((l) => l.address === emitter && l.address !== emitter.toLowerCase())).toBe(true);
  });

  it('gives the same logs', async () => {
    const filter = { address: emitter, fromBlock: 0, toBlock: 'latest' };
    const [a, b] = await Promise.all([fast.getLogs(filter), stock.getLogs(filter)]);
    expect(a.length).toBe(6);
    expect(a.map((l) => JSON.parse(JSON.stringify(l.toJSON())))).toEqual(b.map((l) => JSON.parse(JSON.stringify(l.toJSON()))));
  });

  it('refuses bad chain data as ethers does (BAD_DATA naming the field)', async () => {
    const raw = (await fast.send('eth_getTransactionReceipt', [hashes[1]])) as Record<string, unknown> & { logs: Record<string, unknown>[] };
    const net = await fast.getNetwork();
    const bad = [
      { ...raw, logs: [{ ...raw.logs[0], address: '0x1234' }] },
      // A mixed-case address whose checksum is wrong: refused, and not taken from the cache of good ones.
      { ...raw, logs: [{ ...raw.logs[0], address: emitter.slice(0, -1) + (emitter.endsWith('a') ? 'A' : emitter.endsWith('A') ? 'a' : emitter.at(-1)!.toUpperCase() === emitter.at(-1) ? 'f' : 'F') }] },
      { ...raw, blockHash: '0x12' },
      { ...raw, gasUsed: 'lots' },
      { ...raw, logs: 'none' },
    ];
    for (const value of bad) {
      let fastErr: unknown = null;
      let stockErr: unknown = null;
      try {
        fast._wrapTransactionReceipt(value as never, net);
      } catch (e) {
        fastErr = e;
      }
      try {
        stock._wrapTransactionReceipt(value as never, net);
      } catch (e) {
        stockErr = e;
      }
      expect(stockErr).toMatchObject({ code: 'BAD_DATA' });
      expect(fastErr).toMatchObject({ code: 'BAD_DATA', shortMessage: (stockErr as { shortMessage: string }).shortMessage });
    }
  });
});
