import { Transaction, Wallet, hexlify, parseEther, parseUnits, type JsonRpcProvider } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContractRevertError, QiaoError } from '../../src/errors.ts';
import { makeProvider } from '../../src/evm/provider.ts';
import { bumpFees, TxSender } from '../../src/evm/signer.ts';
import { ANVIL_DEV_KEY, startAnvil, type AnvilProcess } from '../../src/governance/anvil.ts';

// Runtime code that always reverts (PUSH1 0 PUSH1 0 REVERT), behind init code that returns it.
const REVERTER_INIT = '0x6005600c60003960056000f360006000fd';
const OTHER = '0x' + '42'.repeat(20);

/** Counts the JSON-RPC requests of one method that `p` sends from now on. */
function countCalls(p: JsonRpcProvider, method: string): { calls: number } {
  const n = { calls: 0 };
  const send = p.send.bind(p);
  p.send = (m: string, params: unknown[] | Record<string, unknown>) => {
    if (m === method) n.calls++;
    return send(m, params);
  };
  return n;
}

describe('TxSender on anvil', () => {
  let anvil: AnvilProcess;
  let provider: JsonRpcProvider;
  let sender: TxSender;

  beforeAll(async () => {
    anvil = await startAnvil({ chainId: 4242n });
    provider = makeProvider(anvil.url, 4242n, { pollingMs: 50 });
    sender = new TxSender(ANVIL_DEV_KEY, provider);
  });
  afterAll(async () => {
    provider?.destroy();
    await anvil?.stop();
  });

  it('sends large EIP-1559 transactions in parallel, each signed bytes the chain accepts as ours', async () => {
    const data = hexlify(new Uint8Array(58_000).map((_, i) => (i * 7) & 0xff));
    const receipts = await Promise.all([0, 1, 2].map((i) => sender.send({ to: OTHER, data, value: BigInt(i) })));
    const nonces: number[] = [];
    for (const r of receipts) {
      expect(r.status).toBe(1);
      // Read the chain's own copy of the transaction, not our response object.
      const raw = (await provider.send('eth_getRawTransactionByHash', [r.hash])) as string;
      const tx = Transaction.from(raw);
      expect(tx.hash).toBe(r.hash);
      expect(tx.from).toBe(sender.address);
      expect(tx.type).toBe(2);
      expect(tx.data).toBe(data);
      nonces.push(tx.nonce);
    }
    expect(new Set(nonces).size).toBe(3);
  });

  it('sends legacy transactions and contract creations', async () => {
    const legacy = await sender.send({ to: OTHER, type: 0, value: 5n });
    expect(Transaction.from((await provider.send('eth_getRawTransactionByHash', [legacy.hash])) as string).type).toBe(0);
    const created = await sender.send({ data: REVERTER_INIT });
    expect(created.contractAddress).toMatch(/^0x[0-9a-fA-F]{40}$/);
  });

  it('takes a fresh nonce when another process used the cached one', async () => {
    await sender.send({ to: OTHER, value: 1n });
    const other = new Wallet(ANVIL_DEV_KEY, provider);
    await (await other.sendTransaction({ to: OTHER, value: 1n })).wait();
    const r = await sender.send({ to: OTHER, value: 2n });
    expect(r.status).toBe(1);
  });

  it('classifies reverts as before: estimate failures and mined reverts are tx_failed, a decoded error is ContractRevertError', async () => {
    const created = await sender.send({ data: REVERTER_INIT });
    const to = created.contractAddress!;
    const estimate = await sender.send({ to, data: '0x01' }).catch((e: unknown) => e);
    expect(estimate).toBeInstanceOf(QiaoError);
    expect((estimate as QiaoError).code).toBe('tx_failed');
    const mined = await sender.send({ to, data: '0x01', gasLimit: 100_000n }).catch((e: unknown) => e);
    expect(mined).toBeInstanceOf(QiaoError);
    expect((mined as QiaoError).code).toBe('tx_failed');
    // The reverter returns empty data: a decoder is only consulted for data it can read.
    const decoded = await sender.send({ to, data: '0x01' }, () => ({ name: 'Never', args: [] })).catch((e: unknown) => e);
    expect(decoded).not.toBeInstanceOf(ContractRevertError);
    // The sender still works after the failures (nonces re-read).
    expect((await sender.send({ to: OTHER, value: 3n })).status).toBe(1);
  });
  it('heals a nonce hole: a send that is never mined resets the nonce, so the next send fills the hole and the queued one mines', async () => {
    const quick = new TxSender(ANVIL_DEV_KEY, provider, { waitTimeoutMs: 1500 });
    const before = await provider.getTransactionCount(quick.address, 'latest');
    // A hole the node cannot fill by itself: the local counter skips one nonce (as when a sent transaction is dropped).
    await quick.signer.getNonce('pending');
    quick.signer.increment();
    await expect(quick.send({ to: OTHER, value: 1n })).rejects.toBeInstanceOf(QiaoError);
    expect(await provider.getTransactionCount(quick.address, 'latest')).toBe(before);
    // The next send re-reads the nonce, takes the hole, and the queued transaction behind it becomes minable.
    const r = await quick.send({ to: OTHER, value: 2n });
    expect(r.status).toBe(1);
    await expect.poll(() => provider.getTransactionCount(quick.address, 'latest'), { timeout: 20_000 }).toBe(before + 2);
  });
  it('gives an estimated transaction room above the estimate: a call whose gas depends on block.timestamp still fits when mined a second later', async () => {
    // Runtime `TIMESTAMP PUSH1 0 SSTORE STOP`: storing the same timestamp again is a cheap no-op, a new one is not.
    const writer = (await sender.send({ data: '0x6005600c60003960056000f34260005500' })).contractAddress!;
    await sender.send({ to: writer, gasLimit: 100_000n });
    const latest = (await provider.getBlock('latest'))!;
    // Estimated in this second; mined 100 s later (the node moves its clock just before the broadcast).
    const p = makeProvider(anvil.url, 4242n, { pollingMs: 50 });
    const send = p.send.bind(p);
    let estimate = 0n;
    p.send = async (m: string, params: unknown[] | Record<string, unknown>) => {
      if (m === 'eth_sendRawTransaction') await send('evm_setNextBlockTimestamp', [latest.timestamp + 100]);
      const out: unknown = await send(m, params);
      if (m === 'eth_estimateGas') estimate = BigInt(out as string);
      return out;
    };
    try {
      const r = await new TxSender(ANVIL_DEV_KEY, p).send({ to: writer });
      expect(r.status).toBe(1);
      // Read from the chain: the store of the new timestamp cost more than the estimate allowed for.
      expect(BigInt((await provider.getBlock(r.blockNumber))!.timestamp)).toBe(BigInt(latest.timestamp + 100));
      expect(r.gasUsed > estimate).toBe(true);
    } finally {
      p.destroy();
    }
  });
  it('reads the fee data once for the sends within its time to live, and again after it', async () => {
    const key = Wallet.createRandom().privateKey;
    await sender.send({ to: new Wallet(key).address, value: parseEther('1') });
    const p = makeProvider(anvil.url, 4242n, { pollingMs: 50 });
    const n = countCalls(p, 'eth_gasPrice');
    try {
      const s = new TxSender(key, p, { feeDataTtlMs: 600_000 });
      const receipts = await Promise.all([0, 1, 2, 3, 4].map(() => s.send({ to: OTHER, value: 1n })));
      expect(receipts.map((r) => r.status)).toEqual([1, 1, 1, 1, 1]);
      // Each an EIP-1559 transaction with the fees read once.
      const txs = await Promise.all(receipts.map((r) => p.getTransaction(r.hash)));
      expect(new Set(txs.map((t) => `${t!.type}:${t!.maxFeePerGas}:${t!.maxPriorityFeePerGas}`)).size).toBe(1);
      expect(txs[0]!.type).toBe(2);
      expect(n.calls).toBe(1);
      // Expired at once: read for every send.
      const fresh = new TxSender(key, p, { feeDataTtlMs: 0 });
      for (let i = 0; i < 2; i++) expect((await fresh.send({ to: OTHER, value: 1n })).status).toBe(1);
      expect(n.calls).toBe(3);
    } finally {
      p.destroy();
    }
  });
  it('reads the nonce from the chain once, then counts it itself (nonceFromChain: once per send)', async () => {
    const key = Wallet.createRandom().privateKey;
    await sender.send({ to: new Wallet(key).address, value: parseEther('1') });
    const reads = async (nonceFromChain: boolean) => {
      const p = makeProvider(anvil.url, 4242n, { pollingMs: 50 });
      const n = countCalls(p, 'eth_getTransactionCount');
      try {
        const s = new TxSender(key, p, { nonceFromChain });
        for (let i = 0; i < 3; i++) expect((await s.send({ to: OTHER, value: 1n })).status).toBe(1);
        return n.calls;
      } finally {
        p.destroy();
      }
    };
    expect(await reads(false)).toBe(1);
    expect(await reads(true)).toBe(3);
  });
  it('with nonceFromChain, processes taking turns on one key are never refused for the nonce (a local count is, after the other sent)', async () => {
    const key = Wallet.createRandom().privateKey;
    await sender.send({ to: new Wallet(key).address, value: parseEther('1') });
    const turns = async (nonceFromChain: boolean) => {
      // Each "process" with its own provider, so its broadcasts can be counted.
      const ps = [0, 1].map(() => makeProvider(anvil.url, 4242n, { pollingMs: 50 }));
      const counts = ps.map((p) => countCalls(p, 'eth_sendRawTransaction'));
      try {
        const [a, b] = ps.map((p) => new TxSender(key, p, { nonceFromChain })) as [TxSender, TxSender];
        for (let i = 0; i < 3; i++) for (const s of [a, b]) expect((await s.send({ to: OTHER, value: 1n })).status).toBe(1);
        return counts[0]!.calls + counts[1]!.calls;
      } finally {
        for (const p of ps) p.destroy();
      }
    };
    expect(await turns(true)).toBe(6);
    // The control: with local counts, the turns after the first of each process are refused first and sent again.
    expect(await turns(false)).toBeGreaterThan(6);
  });
  it('sends a stuck transaction again with higher fees and the same nonce; the version mined is the one returned, and the call runs once', async () => {
    const key = Wallet.createRandom().privateKey;
    const bumping = new TxSender(key, provider, { bumpAfterMs: 100 });
    await sender.send({ to: bumping.address, value: parseEther('1') });
    const to = Wallet.createRandom().address;
    const pendingOf = async (): Promise<string[]> => {
      const pool = (await provider.send('txpool_content', [])) as { pending: Record<string, Record<string, { hash: string }>> };
      const mine = Object.entries(pool.pending).find(([a]) => a.toLowerCase() === bumping.address.toLowerCase())?.[1] ?? {};
      return Object.values(mine).map((t) => t.hash);
    };
    await provider.send('evm_setAutomine', [false]);
    try {
      const sending = bumping.send({ to, value: 7n });
      await expect.poll(pendingOf, { timeout: 20_000 }).toHaveLength(1);
      const [first] = await pendingOf();
      // Blocks whose base fee the first version's fee cap (about 2x the base fee when it was sent) cannot pay.
      await provider.send('anvil_setNextBlockBaseFeePerGas', [`0x${parseUnits('1000', 'gwei').toString(16)}`]);
      for (let i = 0; i < 3; i++) await provider.send('evm_mine', []);
      expect(await provider.getTransactionCount(bumping.address, 'latest')).toBe(0);
      // The node may drop the version it can no longer include; the bumped one arrives in its place.
      await expect.poll(async () => (await pendingOf()).filter((h) => h !== first), { timeout: 20_000 }).toHaveLength(1);
      await provider.send('evm_mine', []);
      const receipt = await sending;
      expect(receipt.status).toBe(1);
      expect(receipt.hash).not.toBe(first);
      // Read from the chain: one transaction of that nonce, the bumped one, paying above the raised base fee; the first never mined.
      const tx = Transaction.from((await provider.send('eth_getRawTransactionByHash', [receipt.hash])) as string);
      expect(tx.nonce).toBe(0);
      expect(tx.maxFeePerGas! > parseUnits('500', 'gwei')).toBe(true);
      expect(await provider.getTransactionReceipt(first!)).toBeNull();
      expect(await provider.getTransactionCount(bumping.address, 'latest')).toBe(1);
      expect(await provider.getBalance(to)).toBe(7n);
    } finally {
      await provider.send('evm_setAutomine', [true]);
    }
  });
  /** A settled fee market and a sender with fresh fee data: the bump test above left the base fee at 1000 gwei. */
  async function calmFees(): Promise<TxSender> {
    await provider.send('anvil_setNextBlockBaseFeePerGas', [`0x${parseUnits('1', 'gwei').toString(16)}`]);
    await provider.send('evm_mine', []);
    return new TxSender(ANVIL_DEV_KEY, provider);
  }

  it('fails a send whose nonce another transaction of the key took (none of its versions can be mined)', async () => {
    const dev = await calmFees();
    const key = Wallet.createRandom().privateKey;
    const mine = new TxSender(key, provider, { bumpAfterMs: 100 });
    await dev.send({ to: mine.address, value: parseEther('1') });
    await provider.send('evm_setAutomine', [false]);
    try {
      const sending = mine.send({ to: OTHER, value: 5n }).catch((e: unknown) => e);
      await expect.poll(async () => Number(await provider.send('eth_getTransactionCount', [mine.address, 'pending'])), { timeout: 20_000 }).toBe(1);
      // Another process of the same key replaces it: same nonce, another call, higher fees.
      const other = new Wallet(key, provider);
      const replacement = await other.sendTransaction({ to: OTHER, value: 9n, nonce: 0, maxFeePerGas: parseUnits('500', 'gwei'), maxPriorityFeePerGas: parseUnits('100', 'gwei') });
      await provider.send('evm_mine', []);
      expect((await provider.getTransactionReceipt(replacement.hash))?.status).toBe(1);
      const err = await sending;
      expect(err).toBeInstanceOf(QiaoError);
      expect((err as QiaoError).code).toBe('tx_failed');
      expect(((err as QiaoError).cause as QiaoError).code).toBe('tx_replaced');
    } finally {
      await provider.send('evm_setAutomine', [true]);
    }
  });

  it('waits with one receipt read per version per block: no nonce reads per block, no blocks read with their transactions', async () => {
    const dev = await calmFees();
    const calls = { receipts: 0, counts: 0, fullBlocks: 0, txs: 0 };
    const send = provider.send.bind(provider);
    provider.send = (m: string, params: unknown[] | Record<string, unknown>) => {
      if (m === 'eth_getTransactionReceipt') calls.receipts++;
      if (m === 'eth_getTransactionCount') calls.counts++;
      if (m === 'eth_getBlockByNumber' && Array.isArray(params) && params[1] === true) calls.fullBlocks++;
      if (m === 'eth_getTransactionByHash') calls.txs++;
      return send(m, params);
    };
    try {
      await provider.send('evm_setAutomine', [false]);
      const sends = Array.from({ length: 4 }, (_, i) => dev.send({ to: OTHER, value: BigInt(i + 1), gasLimit: 30_000n }));
      const pending = async () => {
        const pool = (await send('txpool_content', [])) as { pending: Record<string, Record<string, unknown>> };
        return Object.entries(pool.pending).find(([a]) => a.toLowerCase() === dev.address.toLowerCase())?.[1] ?? {};
      };
      await expect.poll(async () => Object.keys(await pending()).length, { timeout: 20_000 }).toBe(4);
      for (let i = 0; i < 3; i++) await send('evm_mine', []);
      const receipts = await Promise.all(sends);
      expect(receipts.every((r) => r.status === 1)).toBe(true);
      // Four sends, each read at most once per block seen (here a handful), never with per-block nonce reads or block scans.
      expect(calls.fullBlocks).toBe(0);
      expect(calls.txs).toBe(0);
      expect(calls.counts).toBeLessThanOrEqual(1);
      expect(calls.receipts).toBeGreaterThanOrEqual(4);
    } finally {
      provider.send = send;
      await send('evm_setAutomine', [true]);
    }
  });
});

describe('bumpFees', () => {
  const base = { chainId: 1n, nonce: 5, gasLimit: 21_000n, to: OTHER, value: 0n, data: '0x' };
  it('raises fee cap and tip by 12.5% (nodes replace for 10%), and the cap to at least twice the base fee plus the tip', () => {
    expect(bumpFees({ ...base, type: 2, maxFeePerGas: 800n, maxPriorityFeePerGas: 80n }, 0n)).toMatchObject({ maxFeePerGas: 901n, maxPriorityFeePerGas: 91n, nonce: 5 });
    expect(bumpFees({ ...base, type: 2, maxFeePerGas: 800n, maxPriorityFeePerGas: 80n }, 1000n)).toMatchObject({ maxFeePerGas: 2091n, maxPriorityFeePerGas: 91n });
    expect(bumpFees({ ...base, type: 0, gasPrice: 800n }, 0n)).toMatchObject({ gasPrice: 901n });
    expect(bumpFees({ ...base, type: 0, gasPrice: 800n }, 1000n)).toMatchObject({ gasPrice: 2000n });
  });
  it('stops at the ceiling: no version a node would refuse as underpriced', () => {
    expect(bumpFees({ ...base, type: 2, maxFeePerGas: 800n, maxPriorityFeePerGas: 80n }, 0n, 850n)).toBeNull();
    expect(bumpFees({ ...base, type: 2, maxFeePerGas: 800n, maxPriorityFeePerGas: 80n }, 0n, 880n)).toMatchObject({ maxFeePerGas: 880n });
    expect(bumpFees({ ...base, type: 0, gasPrice: 800n }, 0n, 800n)).toBeNull();
  });
});
