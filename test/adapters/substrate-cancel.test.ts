import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Call } from '@polkadot/types/interfaces';
import { hexToU8a, u8aToHex } from '@polkadot/util';
import { blake2AsHex, cryptoWaitReady, decodeAddress, xxhashAsHex } from '@polkadot/util-crypto';
import { TIMESTAMP_NOW_KEY } from '../../src/domain/substrate-storage.ts';
import { AbiCoder, Wallet } from 'ethers';
import { nestedRemarks } from '../../adapters/substrate/calls.ts';
import { substrateChainId } from '../../adapters/substrate/chain-id.ts';
import { createSubstrateDeliverer, type SubstrateDeliverer } from '../../adapters/substrate/deliver.ts';
import { attestorPortAccount, ecdsaAccountOfKey } from '../../adapters/substrate/multisig.ts';
import { connectEndpoint, disconnectEndpoint, type SubstrateEndpoint } from '../../adapters/substrate/rpc.ts';
import type { DeliveryBatch } from '../../src/domain/adapter.ts';
import type { ChainId } from '../../src/domain/caip.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { MessageTree } from '../../src/domain/merkle.ts';
import { decodeMessage, encodeMessage, messageId } from '../../src/domain/message.ts';
import { ContractRevertError, findCause, NotReadyError, UnrecoverableError } from '../../src/errors.ts';
import { PortRecord, substrateRecordFile } from '../../adapters/substrate/record.ts';
import { silentLogger } from '../../src/logging.ts';
import { until } from '../helpers/services.ts';
import { startSubstrateTestServer, type SubstrateTestServer } from '../servers/substrate/index.ts';

/**
 * Cancel markers at a Substrate destination (no hub): the deliverer refuses
 * what QiaoPort.cancel refuses, writes marker + cancel ack in one dispatch,
 * and the port record (a data folder) carries receipts and ack nonces across a
 * restart that is past the lookback window. Everything asserted is read from
 * the test chain.
 */
describe('Substrate deliverer: clock, cancel markers, durable port record', () => {
  let srv: SubstrateTestServer;
  let ep: SubstrateEndpoint;
  let C: ChainId;
  let dir: string;
  const receiver = `0x${'ab'.repeat(32)}` as Hex;
  const srcChain = 'eip155:31337001' as ChainId;
  const srcPort = `0x${'11'.repeat(20)}` as Hex;
  const key = Wallet.createRandom().privateKey as Hex;
  let port: Hex;
  let d: SubstrateDeliverer;
  let nonce = 0n;
  const coder = AbiCoder.defaultAbiCoder();

  const msg = (payload: string, timeoutUnixSeconds: bigint) => {
    const encoded = encodeMessage({
      version: 1,
      srcChain,
      srcPort,
      sender: `0x${'22'.repeat(20)}` as Hex,
      dstChain: C,
      dstPort: port,
      receiver,
      nonce: ++nonce,
      gasLimit: 200_000n,
      timeoutHeight: 0n,
      timeoutUnixSeconds,
      payload: u8aToHex(new TextEncoder().encode(payload)) as Hex,
    });
    return { id: messageId(encoded), encoded };
  };
  const batchOf = (items: { id: Hex; encoded: Hex }[]): DeliveryBatch => {
    const tree = MessageTree.of(items.map((i) => i.id));
    return { rootType: 1, setId: 1n, batchNo: 1n, root: tree.root, signatures: [], items: items.map((i) => ({ ...i, proof: tree.proof(i.id) })) };
  };
  const cancelOf = (items: { id: Hex; encoded: Hex }[], i: number) => {
    const b = batchOf(items);
    return { setId: b.setId, batchNo: b.batchNo, root: b.root, signatures: [], item: b.items[i]! };
  };
  const open = (o: { dataDir?: string; lookbackBlocks?: number } = {}) =>
    createSubstrateDeliverer({ chainId: C, port, endpoint: ep, attestorKeys: [key], logger: silentLogger(), ...o });
  /** What the port account remarked in block `height` (Remarked hashes), and the Qiao messages among its remarks. */
  const portRemarksAt = async (height: bigint) => {
    const hash = srv.blockHash(Number(height))!;
    const events = (await (await ep.api.at(hash)).query.system!.events!()) as unknown as { event: { section: string; method: string; data: { toHex(): string }[] } }[];
    const hashes = events.filter((r) => r.event.section === 'system' && r.event.method === 'Remarked' && r.event.data[0]!.toHex() === port).map((r) => r.event.data[1]!.toHex());
    const block = await ep.api.rpc.chain.getBlock(hash);
    const messages = block.block.extrinsics.flatMap((x) =>
      x.isSigned ? nestedRemarks(decodeAddress(x.signer.toString()), x.method as unknown as Call).filter((r) => r.origin === port && r.remark.length > 44).map((r) => decodeMessage(u8aToHex(r.remark) as Hex, 'remark')) : [],
    );
    return { hashes, messages };
  };
  const ackOf = (m: { payload: Hex }) => {
    const [outcome, id] = coder.decode(['uint8', 'bytes32', 'bytes'], m.payload);
    return [Number(outcome), (id as string).toLowerCase()];
  };
  const marker = (id: Hex) => blake2AsHex(new Uint8Array([...new TextEncoder().encode('qiao:cancel:'), ...hexToU8a(id)]), 256);
  /** Moves the chain clock past `t` (seconds) and waits until the finalized block says so. */
  const passTime = async (t: bigint) => {
    srv.advanceTime(Math.max(0, Number(t * 1000n - srv.timestamp()) + 1000));
    await until(async () => (await d.clock()).time >= t, { timeoutMs: 30_000, what: 'finalized clock past the timeout' });
  };

  beforeAll(async () => {
    await cryptoWaitReady();
    dir = await mkdtemp(join(tmpdir(), 'qiao-substrate-cancel-'));
    srv = await startSubstrateTestServer({ blockTimeMs: 100, receivers: [receiver] });
    ep = await connectEndpoint(srv.url);
    C = substrateChainId(srv.genesisHash);
    port = u8aToHex(attestorPortAccount([ecdsaAccountOfKey(key)], 1)) as Hex;
    d = await open({ dataDir: dir });
  }, 60_000);

  afterAll(async () => {
    d?.close();
    if (ep) await disconnectEndpoint(ep);
    await srv?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('clock(): the finalized block and its Timestamp::Now, moved by the test chain', async () => {
    expect(TIMESTAMP_NOW_KEY).toBe(`${xxhashAsHex('Timestamp', 128)}${xxhashAsHex('Now', 128).slice(2)}`);
    await until(async () => srv.finalized() >= 2, { timeoutMs: 30_000, what: 'finalized blocks' });
    const c = await d.clock();
    expect(c.height).toBeLessThanOrEqual(BigInt(srv.finalized()));
    expect(c.time).toBe(srv.timestamp(Number(c.height)) / 1000n);
    srv.advanceTime(3_600_000);
    const later = await until(async () => {
      const x = await d.clock();
      return x.time >= c.time + 3600n ? x : null;
    }, { timeoutMs: 30_000, what: 'the clock an hour on' });
    expect(later.height).toBeGreaterThan(c.height);
  }, 60_000);

  it('refuses to cancel before the timeout, with a wrong root, or a delivered message; cancels the rest once', async () => {
    const now = (await d.clock()).time;
    const t = now + 600n;
    const delivered = msg('delivered first', t);
    const pending = msg('never delivered', t);
    const failing = msg('fail: the receiver reverts', t);
    const all = [delivered, pending, failing];

    const first = await d.deliver({ ...batchOf(all), items: batchOf(all).items.filter((i) => i.id !== pending.id) });
    expect(first.map((o) => o.status)).toEqual(['delivered', 'failed']);

    // Not past its timeout on the chain's clock.
    const early = await d.cancel(cancelOf(all, 1)).catch((e: unknown) => e);
    expect(findCause(early, ContractRevertError)?.errorName).toBe('NotTimedOut');
    // An item that is not in the root it names.
    const wrongRoot = { ...cancelOf(all, 1), root: batchOf([msg('another batch', t)]).root };
    const bad = await d.cancel(wrongRoot).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(UnrecoverableError);
    expect((bad as UnrecoverableError).data).toMatchObject({ reason: 'bad_proof' });
    // A message without a timeout is never cancelled.
    const forever = msg('no timeout', 0n);
    const noTimeout = await d.cancel(cancelOf([forever], 0)).catch((e: unknown) => e);
    expect((noTimeout as UnrecoverableError).data).toMatchObject({ reason: 'no_timeout' });

    await passTime(t);
    // Past the timeout, a delivery is refused (as QiaoPort's TimedOut) before anything is signed.
    const late = await d.deliver(batchOf(all));
    expect(late.map((o) => (o.status === 'rejected' ? o.reason : o.status))).toEqual(['delivered', 'timed_out', 'failed']);

    // Delivered: never cancelled.
    const refused = await d.cancel(cancelOf(all, 0)).catch((e: unknown) => e);
    expect(findCause(refused, ContractRevertError)?.errorName).toBe('CannotCancel');

    // Never delivered, and failed (refunded like QiaoPort: a failed receipt may be cancelled).
    for (const [i, m] of [[1, pending], [2, failing]] as const) {
      const tx = await d.cancel(cancelOf(all, i));
      const onChain = await portRemarksAt(tx.height);
      expect(onChain.hashes).toContain(marker(m.id));
      expect(onChain.hashes).not.toContain(blake2AsHex(hexToU8a(m.id), 256));
      const acks = onChain.messages.filter((x) => x.dstChain === srcChain);
      expect(acks.map(ackOf)).toEqual([[3, m.id]]);
      expect(acks[0]).toMatchObject({ srcChain: C, srcPort: port, sender: port, dstPort: srcPort, receiver: srcPort });
      expect(await d.receiptOf(m.id)).toEqual({ id: m.id, status: 'cancelled', txHash: tx.txHash, height: tx.height });
      // Once is all: the marker is the receipt.
      const again = await d.cancel(cancelOf(all, i)).catch((e: unknown) => e);
      expect(findCause(again, ContractRevertError)?.errorName).toBe('CannotCancel');
    }
    // A cancelled id is refused delivery (receipt first), and nothing remarked its id.
    const after = await d.deliver(batchOf(all));
    expect(after.map((o) => (o.status === 'rejected' ? o.reason : o.status))).toEqual(['delivered', 'cancelled', 'cancelled']);
    expect(srv.receiver(receiver)!.ids).not.toContain(pending.id);
  }, 120_000);

  it('2-of-3 attestors: the marker and its ack run as the multisig account (as_multi), once', async () => {
    const keys = [0, 1, 2].map(() => Wallet.createRandom().privateKey as Hex);
    const multi = u8aToHex(attestorPortAccount(keys.map(ecdsaAccountOfKey), 2)) as Hex;
    const dm = await createSubstrateDeliverer({ chainId: C, port: multi, endpoint: ep, attestorKeys: keys, logger: silentLogger() });
    const saved = port;
    port = multi;
    try {
      const m = msg('to the multisig, too late', (await d.clock()).time + 1n);
      await passTime((await d.clock()).time + 2n);
      const tx = await dm.cancel(cancelOf([m], 0));
      const onChain = await portRemarksAt(tx.height);
      expect(onChain.hashes).toContain(marker(m.id));
      expect(await dm.receiptOf(m.id)).toMatchObject({ status: 'cancelled', height: tx.height });
      const again = await dm.cancel(cancelOf([m], 0)).catch((e: unknown) => e);
      expect(findCause(again, ContractRevertError)?.errorName).toBe('CannotCancel');
    } finally {
      port = saved;
      dm.close();
    }
  }, 60_000);

  it('a restart past the lookback window keeps receipts and ack nonces (the data folder), a memory-only one does not', async () => {
    const t = (await d.clock()).time + 600n;
    const m = msg('answered before the restart', t);
    const [out] = await d.deliver(batchOf([m]));
    expect(out!.status).toBe('delivered');
    const before = (await portRemarksAt((out as { height: bigint }).height)).messages.filter((x) => x.dstChain === srcChain);
    expect(before.map(ackOf)).toEqual([[1, m.id]]);
    const lastNonce = before[0]!.nonce;
    d.close();

    // lookbackBlocks 0: the chain window shows nothing of the past; only the record can.
    const amnesiac = await open({ lookbackBlocks: 0 });
    expect(await amnesiac.receiptOf(m.id)).toBeNull();
    amnesiac.close();

    d = await open({ dataDir: dir, lookbackBlocks: 0 });
    expect(await d.receiptOf(m.id)).toMatchObject({ status: 'delivered', height: (out as { height: bigint }).height });
    const next = msg('answered after the restart', (await d.clock()).time + 600n);
    const [o2] = await d.deliver(batchOf([next]));
    expect(o2!.status).toBe('delivered');
    const acks = (await portRemarksAt((o2 as { height: bigint }).height)).messages.filter((x) => x.dstChain === srcChain);
    expect(acks.map(ackOf)).toEqual([[1, next.id]]);
    expect(acks[0]!.nonce).toBe(lastNonce + 1n);
  }, 120_000);

  it('a dispatch in flight at a crash (recorded before it left) holds that id back after the restart, and its ack nonce is not reused', async () => {
    const crashed = await mkdtemp(join(tmpdir(), 'qiao-substrate-crash-'));
    try {
      const m = msg('sent just before a crash', (await d.clock()).time + 600n);
      const r = PortRecord.open(substrateRecordFile(crashed, C, port));
      r.sending(m.id, { kind: 'deliver', head: srv.head(), lane: { dst: srcChain, nonce: 1000n } });
      r.close();
      const restarted = await open({ dataDir: crashed });
      try {
        const held = await restarted.deliver(batchOf([m])).catch((e: unknown) => e);
        expect(held).toBeInstanceOf(NotReadyError);
        expect(srv.receiver(receiver)!.ids).not.toContain(m.id);
        // Another answered message takes the nonce after the one the crashed dispatch holds.
        const other = msg('answered while the other is in flight', (await d.clock()).time + 600n);
        const [o] = await restarted.deliver(batchOf([other]));
        const acks = (await portRemarksAt((o as { height: bigint }).height)).messages.filter((x) => x.dstChain === srcChain);
        expect(acks.map((a) => a.nonce)).toEqual([1001n]);
      } finally {
        restarted.close();
      }
    } finally {
      await rm(crashed, { recursive: true, force: true });
    }
  }, 60_000);
});
