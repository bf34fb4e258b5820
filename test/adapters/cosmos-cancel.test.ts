import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { AbiCoder, SigningKey, hexlify } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCosmosAdapter, type CosmosAdapter } from '../../adapters/cosmos/adapter.ts';
import { connectCosmosChain } from '../../adapters/cosmos/connect.ts';
import { connectComet, disconnectComet, type CometEndpoint } from '../../adapters/cosmos/rpc.ts';
import type { CancelRequest, DeliveryBatch } from '../../src/domain/adapter.ts';
import { signAttestation, type AttestationDomain } from '../../src/domain/attestation.ts';
import { chainId as caip, type ChainId } from '../../src/domain/caip.ts';
import type { ChainRegistration } from '../../src/domain/chain.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { MessageTree } from '../../src/domain/merkle.ts';
import { decodeMessage, encodeMessage, messageId, type QiaoMessage } from '../../src/domain/message.ts';
import { ContractRevertError, findCause, NotReadyError, UnrecoverableError } from '../../src/errors.ts';
import { silentLogger } from '../../src/logging.ts';
import { CometLightClient } from '../../relayer/light/cometbft-client.ts';
import { decodeCometTrustRoot } from '../../relayer/light/cometbft-trust.ts';
import { verifyCosmosPackets } from '../../relayer/verify-cosmos.ts';
import { addressBytes, secp256k1Address, startCometTestServer, type CometTestServer } from '../servers/cometbft/index.ts';
import { until } from '../helpers/services.ts';

/**
 * The Cosmos deliverer's `cancel` (the Qiao contract's cancel marker) and its hold-back of a paused contract,
 * against the CometBFT model; what the relayer's timeout stage relies on: the refusals it settles on
 * (ContractRevertError CannotCancel / NotTimedOut), `receiptOf` = cancelled, and the cancel ack coming out of the
 * watcher as an ordinary, provable outbound message.
 */
const coder = AbiCoder.defaultAbiCoder();
const HUB_CHAIN = caip('eip155:31337');
const HUB_PORT = `0x${'aa'.repeat(20)}` as Hex;
const domain: AttestationDomain = { chainId: 4242n, verifyingContract: `0x${'11'.repeat(20)}` };
const newKey = () => hexlify(secp256k1.utils.randomSecretKey()) as Hex;
const addressOf = (key: Hex) => secp256k1Address(secp256k1.getPublicKey(Buffer.from(key.slice(2), 'hex'), true));
const utf8Hex = (s: string) => hexlify(Buffer.from(s, 'utf8')) as Hex;

function attested(encoded: Hex[], keys: Hex[], batchNo: bigint): DeliveryBatch {
  const ids = encoded.map((e) => messageId(e));
  const tree = MessageTree.of(ids);
  const a = { rootType: 1 as const, setId: 1n, batchNo, root: tree.root };
  return { ...a, signatures: keys.map((k) => signAttestation(new SigningKey(k), domain, a)), items: encoded.map((e, i) => ({ id: ids[i]!, encoded: e, proof: tree.proof(ids[i]!) })) };
}

const cancelOf = (b: DeliveryBatch, k = 0): CancelRequest => ({ setId: b.setId, batchNo: b.batchNo, root: b.root, signatures: b.signatures, item: b.items[k]! });

async function refusal(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a refusal');
}

describe('cosmos deliverer: cancel marker and a paused contract (CometBFT model)', () => {
  let srv: CometTestServer;
  let adapter: CosmosAdapter;
  let light: CometLightClient;
  let ep: CometEndpoint;
  let chainId: ChainId;
  let port: Hex;
  let dataDir: string;
  const attestorKeys = [newKey(), newKey(), newKey()];
  let batchNo = 100n;

  const chainNow = async () => BigInt(Math.floor((await ep.client.status()).syncInfo.latestBlockTime.getTime() / 1000));
  const toCosmos = (over: Partial<QiaoMessage>): Hex =>
    encodeMessage({
      version: 1, srcChain: HUB_CHAIN, srcPort: HUB_PORT, sender: HUB_PORT, dstChain: chainId, dstPort: port,
      receiver: hexlify(addressBytes(srv.receiverAddress)) as Hex, nonce: 1n, gasLimit: 100_000n, timeoutHeight: 0n, timeoutUnixSeconds: 0n, payload: '0x01', ...over,
    });
  const batch = (m: Hex, keys = attestorKeys.slice(0, 2)) => attested([m], keys, batchNo++);

  beforeAll(async () => {
    const relayerKey = newKey();
    const coins = [{ denom: 'stake', amount: '100000000000' }];
    srv = await startCometTestServer({ chainId: 'qiaocancel-1', blockTimeMs: 300, accounts: [{ address: addressOf(relayerKey), coins }] });
    dataDir = mkdtempSync(join(tmpdir(), 'qiao-cosmos-cancel-'));
    const c = await connectCosmosChain({ rpcUrl: srv.url, signer: { key: relayerKey }, attestorKeys, threshold: 2, contract: srv.contractAddress, ibcVersion: 'v8', dataDir, logger: silentLogger() });
    chainId = c.chainId as ChainId;
    port = c.port;
    const reg: ChainRegistration = { chainId, family: 'cosmos', genesisHash: c.genesisHash, port, lightClient: 'tendermint', trustRoot: c.trustRoot, finality: { kind: 'instant' }, endpoints: [srv.url], status: 'approved' };
    adapter = await createCosmosAdapter(reg, { logger: silentLogger(), relayerKey, attestorKeys, dataDir, attestation: domain });
    light = new CometLightClient(decodeCometTrustRoot(c.trustRoot, chainId), adapter.comet, { logger: silentLogger() });
    ep = await connectComet(srv.url);
  }, 120_000);

  afterAll(async () => {
    if (ep) disconnectComet(ep);
    await adapter?.close();
    await srv?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('cancels past the timeout only; receiptOf says cancelled; the cancel ack is an outbound packet the relayer can prove', async () => {
    const d = adapter.deliverer;
    const m = toCosmos({ nonce: 1n, payload: utf8Hex('never arrives'), timeoutUnixSeconds: (await chainNow()) + 3n });
    const b = batch(m);
    const id = b.items[0]!.id;
    // Before the timeout: the refusal the timeout stage retries on.
    expect(findCause(await refusal(d.cancel!(cancelOf(b))), ContractRevertError)?.errorName).toBe('NotTimedOut');
    // Under-signed: never sent.
    expect(await refusal(d.cancel!(cancelOf(batch(m, attestorKeys.slice(0, 1)))))).toBeInstanceOf(UnrecoverableError);
    await until(async () => (await d.clock!()).time >= decodeMessage(m).timeoutUnixSeconds, { timeoutMs: 30_000, what: 'chain clock past the timeout' });
    const tx = await d.cancel!(cancelOf(b));
    expect(await d.receiptOf(id)).toEqual({ id, status: 'cancelled', txHash: tx.txHash, height: tx.height });
    // Once only: the refusal the timeout stage settles on (receiptOf is read then).
    expect(findCause(await refusal(d.cancel!(cancelOf(b))), ContractRevertError)?.errorName).toBe('CannotCancel');
    // A delivery of it now is refused by the contract's receipt, nothing sent.
    expect(await d.deliver(batch(m))).toEqual([{ id, status: 'rejected', reason: 'cancelled' }]);

    // The cancel ack: found by the watcher as an ordinary message of this chain (kind packet), proven against the app hash.
    const found = await adapter.watcher.messagesIn(tx.height, tx.height);
    expect(found).toHaveLength(1);
    const ack = found[0]!;
    expect(ack.message).toMatchObject({ srcChain: chainId, srcPort: port, sender: port, dstChain: HUB_CHAIN, dstPort: HUB_PORT, receiver: HUB_PORT, timeoutUnixSeconds: 0n });
    const [outcome, original] = coder.decode(['uint8', 'bytes32', 'bytes'], ack.message.payload);
    expect([Number(outcome), original]).toEqual([3, id]);
    const proof = await adapter.prover.proveCommitments(tx.height, [ack.id]);
    const t = await until(
      async () => {
        const r = await light.trustedAt(tx.height + 1n);
        return r.ok || r.reason !== 'not_final' ? r : null;
      },
      { timeoutMs: 30_000, what: 'header after the cancel' },
    );
    if (!t.ok) throw new Error(`light client: ${t.reason}`);
    expect(verifyCosmosPackets(proof, { chainId, port, height: tx.height, ids: [ack.id], anchor: { height: t.height, hash: t.hash, appHash: t.appHash } })).toMatchObject({ ok: true });
  }, 120_000);

  it('refuses to cancel a delivered message (CannotCancel); holds deliveries to a paused contract back unsigned', async () => {
    const d = adapter.deliverer;
    const delivered = toCosmos({ nonce: 2n, payload: utf8Hex('on time'), timeoutUnixSeconds: (await chainNow()) + 2n });
    const [out] = await d.deliver(batch(delivered));
    expect(out).toMatchObject({ status: 'delivered' });
    await until(async () => (await d.clock!()).time >= decodeMessage(delivered).timeoutUnixSeconds, { timeoutMs: 30_000, what: 'chain clock past the timeout' });
    expect(findCause(await refusal(d.cancel!(cancelOf(batch(delivered)))), ContractRevertError)?.errorName).toBe('CannotCancel');
    expect((await d.receiptOf(messageId(delivered)))?.status).toBe('delivered');

    srv.faults.refuseRecv = true;
    try {
      const held = toCosmos({ nonce: 3n, payload: utf8Hex('held back'), timeoutUnixSeconds: (await chainNow()) + 2n });
      expect(findCause(await refusal(d.deliver(batch(held))), NotReadyError)).toBeDefined();
      // It times out while held. Had proofs been signed for it, their tx would wait in the journal, fail when re-sent
      // past the timeout, and stop every later delivery (SoloSequenceStuckError).
      await until(async () => (await d.clock!()).time >= decodeMessage(held).timeoutUnixSeconds, { timeoutMs: 30_000, what: 'chain clock past the timeout' });
      srv.faults.refuseRecv = false;
      expect(await d.deliver(batch(held))).toEqual([{ id: messageId(held), status: 'rejected', reason: 'timed_out' }]);
      const next = toCosmos({ nonce: 4n, payload: utf8Hex('after the pause') });
      expect(await d.deliver(batch(next))).toMatchObject([{ status: 'delivered' }]);
    } finally {
      srv.faults.refuseRecv = false;
    }
  }, 120_000);
});
