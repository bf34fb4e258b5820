import { Transaction, Wallet, hexlify, type JsonRpcProvider } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContractRevertError, QiaoError } from '../../src/errors.ts';
import { makeProvider } from '../../src/evm/provider.ts';
import { TxSender } from '../../src/evm/signer.ts';
import { ANVIL_DEV_KEY, startAnvil, type AnvilProcess } from '../../src/governance/anvil.ts';

// Runtime code that always reverts (PUSH1 0 PUSH1 0 REVERT), behind init code that returns it.
const REVERTER_INIT = '0x6005600c60003960056000f360006000fd';
const OTHER = '0x' + '42'.repeat(20);

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
});
