/**
 * The relayer's Fabric verify path against the model network running the real
 * port chaincode: proofs are built here straight from the network (its blocks
 * and every peer's signed qscc answers), so the test does not depend on the
 * adapter. Faults: a peer flipping a validation flag, a forged endorsement, a
 * forged orderer signature.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { peer as pb } from '@hyperledger/fabric-protos';
import { hexlify, toUtf8Bytes } from 'ethers';
import { QiaoPortContract } from '../../adapters/fabric/chaincode/port/contract.ts';
import type { FabricTxProof } from '../../adapters/fabric/proof.ts';
import { FabricLightClient, type FabricBlockSource } from '../../relayer/light/fabric-client.ts';
import { decodeFabricTrustRoot, encodeFabricTrustRoot } from '../../relayer/light/fabric-trust.ts';
import { verifyFabricTxs, type FabricExpectation } from '../../relayer/verify-fabric.ts';
import { verifySourceProof } from '../../relayer/verify-source.ts';
import { checkSourceCommitments } from '../../relayer/source-check.ts';
import type { ConnectedChain } from '../../relayer/context.ts';
import type { ChainAdapter, SourceProof } from '../../src/domain/adapter.ts';
import { NotReadyError } from '../../src/errors.ts';
import type { ChainRegistration } from '../../src/domain/chain.ts';
import type { ChainId } from '../../src/domain/caip.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { messageId } from '../../src/domain/message.ts';
import { silentLogger } from '../../src/logging.ts';
import { until } from '../helpers/services.ts';
import { contractChaincode, startFabricTestNetwork, type FabricIdentity, type FabricTestNetwork } from '../servers/fabric/index.ts';
import { buildProposal, buildTransaction } from '../servers/fabric/client.ts';
import { common } from '@hyperledger/fabric-protos';

const utf8 = (s: string): Hex => hexlify(toUtf8Bytes(s)) as Hex;
const PORT = utf8('payments/qiaoport');
const EVM = 'eip155:7';
const EVM_PORT = `0x${'11'.repeat(20)}`;

/** Reads the model network as the adapter's FabricBlocks would: one endpoint per peer. */
export function networkSource(net: FabricTestNetwork): FabricBlockSource {
  const peer = (ep = 0) => net.orgs[ep]!.peerName;
  return {
    latest: async (ep) => BigInt(net.height(peer(ep)) - 1),
    blocks: async (from, to, ep) => net.blocks(peer(ep)).slice(Number(from), Number(to) + 1),
    validationAnswers: async (txId) => (await net.validationAnswers(txId)).map((a, endpoint) => ({ endpoint, mspId: a.mspId, response: a.proposalResponse })),
    endpointCount: () => net.orgs.length,
  };
}

/** Endorses on every peer and orders the transaction without waiting: what a client does, split so tests can interleave. */
async function endorse(net: FabricTestNetwork, creator: FabricIdentity, fn: string, args: string[]) {
  const p = buildProposal(creator, net.channel, 'qiaoport', [fn, ...args]);
  const responses = await Promise.all(net.peers.map((x) => x.processProposal(p.signed)));
  return { txId: p.txId, responses, order: () => net.ordererNode.admit(buildTransaction(creator, p, responses)) };
}

async function committed(net: FabricTestNetwork, txId: string): Promise<number> {
  await until(async () => net.peers.every((x) => x.txs.has(txId)), { what: `tx ${txId} committed`, timeoutMs: 30_000 });
  return net.peers[0]!.txs.get(txId)!.blockNum;
}

/** The MessageSent event of a send: the encoded message. */
function sentMessage(r: pb.ProposalResponse): Hex {
  const action = pb.ChaincodeAction.deserializeBinary(pb.ProposalResponsePayload.deserializeBinary(r.getPayload_asU8()).getExtension_asU8());
  const ev = pb.ChaincodeEvent.deserializeBinary(action.getEvents_asU8());
  expect(ev.getEventName()).toBe('MessageSent');
  return (JSON.parse(Buffer.from(ev.getPayload_asU8()).toString('utf8')) as { encoded: Hex }).encoded;
}

async function send(net: FabricTestNetwork, payload: string): Promise<{ txId: string; encoded: Hex; id: Hex; height: number }> {
  const e = await endorse(net, net.orgs[0]!.crypto.client, 'send', [EVM, EVM_PORT, EVM_PORT, '50000', '0', '0', utf8(payload)]);
  expect(e.order().status).toBe(common.Status.SUCCESS);
  const encoded = sentMessage(e.responses[0]!);
  return { txId: e.txId, encoded, id: messageId(encoded), height: await committed(net, e.txId) };
}

export async function proofOf(net: FabricTestNetwork, height: number, txs: { txId: string; messages: Hex[] }[], { peer, answers }: { peer?: string; answers?: (a: { mspId: string }) => boolean } = {}): Promise<FabricTxProof> {
  const out = [];
  for (const t of txs) {
    const all = await net.validationAnswers(t.txId);
    out.push({ txId: t.txId, messages: t.messages, validation: all.filter((a) => !answers || answers(a)).map((a) => ({ mspId: a.mspId, response: Buffer.from(a.proposalResponse).toString('base64') })) });
  }
  return { kind: 'fabric-tx', height: String(height), block: Buffer.from(net.blocks(peer)[height]!).toString('base64'), txs: out };
}

describe('Fabric verify path against the model network', () => {
  let net: FabricTestNetwork;
  let light: FabricLightClient;
  let reg: ChainRegistration;

  beforeAll(async () => {
    net = await startFabricTestNetwork({ chaincodes: { qiaoport: contractChaincode(new QiaoPortContract()) } });
    const admin = net.orgs[0]!.crypto.admin;
    const init = await endorse(net, admin, 'init', [
      JSON.stringify({
        chainId: net.chainId,
        port: PORT,
        govChainId: '4242',
        messageLog: `0x${'42'.repeat(20)}`,
        attestorSet: { setId: '1', threshold: 1, members: [`0x${'43'.repeat(20)}`] },
        timeoutAuthority: `0x${'7a'.repeat(20)}`,
      }),
    ]);
    expect(init.order().status).toBe(common.Status.SUCCESS);
    await committed(net, init.txId);
    const trustRoot = encodeFabricTrustRoot({ channel: 'payments', chaincode: 'qiaoport', organisations: 2, configBlock: net.configBlock(), height: 0n });
    light = new FabricLightClient(decodeFabricTrustRoot(trustRoot, net.chainId), networkSource(net), { k: 2, logger: silentLogger() });
    reg = {
      chainId: net.chainId as ChainId,
      family: 'fabric',
      genesisHash: '0x00' as Hex,
      port: PORT,
      lightClient: 'fabric',
      trustRoot,
      finality: { kind: 'fabric-validated', organisations: 2 },
      endpoints: net.orgs.map((o) => `${o.peerUrl}?msp=${o.mspId}`),
      status: 'approved',
    };
  });
  afterAll(async () => {
    await net?.stop();
  });

  async function expectation(height: number, ids: Hex[], over: Partial<FabricExpectation> = {}): Promise<FabricExpectation> {
    const t = await light.trustedAt(BigInt(height));
    if (!t.ok) throw new Error(`light client refused block ${height}: ${t.reason}: ${t.detail}`);
    return { chainId: net.chainId, port: PORT, height: BigInt(height), ids, anchor: { kind: 'fabric-block', height: t.height, hash: t.hash }, context: t.context, k: 2, ...over };
  }

  it('verifies a sent message: block anchored by the light client, endorsed under the port policy, valid per both organisations', async () => {
    const a = await send(net, 'one');
    const b = await send(net, 'two');
    const proof = await proofOf(net, a.height, [{ txId: a.txId, messages: [a.encoded] }]);
    expect(verifyFabricTxs(proof, await expectation(a.height, [a.id]))).toEqual({ ok: true });
    // Through the relayer's dispatch too.
    const t = await light.trustedAt(BigInt(b.height));
    if (!t.ok) throw new Error(t.detail);
    const pb2 = await proofOf(net, b.height, [{ txId: b.txId, messages: [b.encoded] }]);
    const anchor = { kind: 'fabric-block' as const, height: t.height, hash: t.hash };
    expect(verifySourceProof(reg, pb2, { height: BigInt(b.height), ids: [b.id], anchor, fabric: { context: t.context, k: 2 } }, { allowLocalDev: false })).toEqual({ ok: true, lightClient: 'fabric' });
    expect(verifySourceProof(reg, pb2, { height: BigInt(b.height), ids: [b.id], anchor }, { allowLocalDev: false })).toMatchObject({ ok: false, reason: 'untrusted_header' });
  });

  it('source check: anchors on the light client, skips an endpoint serving a bad proof, waits for blocks not committed', async () => {
    const a = await send(net, 'checked');
    const good = await proofOf(net, a.height, [{ txId: a.txId, messages: [a.encoded] }]);
    const bad = { ...good, txs: [{ ...good.txs[0]!, validation: good.txs[0]!.validation.slice(0, 1) }] };
    const served: Record<number, SourceProof> = { 0: bad as SourceProof, 1: good as SourceProof };
    const adapter = { prover: { endpointCount: () => 2, proveCommitments: async (_h: bigint, _ids: readonly Hex[], ep = 0) => served[ep]! } } as unknown as ChainAdapter;
    const chain: ConnectedChain = { registration: reg, adapter, fabric: light };
    const r = await checkSourceCommitments(chain, BigInt(a.height), [a.id], { allowLocalDev: false, logger: silentLogger() });
    expect(r).toMatchObject({ ok: true, endpoint: 1, lightClient: 'fabric', anchor: { kind: 'fabric-block', height: BigInt(a.height) } });
    if (r.ok) expect(r.failures).toMatchObject([{ endpoint: 0, reason: 'validation_not_confirmed' }]);
    served[1] = bad as SourceProof;
    expect(await checkSourceCommitments(chain, BigInt(a.height), [a.id], { allowLocalDev: false, logger: silentLogger() })).toMatchObject({ ok: false, kind: 'refused', reason: 'proof_invalid:validation_not_confirmed' });
    const later = await checkSourceCommitments(chain, BigInt(net.height() + 10), [a.id], { allowLocalDev: false, logger: silentLogger() });
    expect(later).toMatchObject({ ok: false, kind: 'wait' });
    if (!later.ok && later.kind === 'wait') expect(later.error).toBeInstanceOf(NotReadyError);
    // Block 1's chaincode definitions not yet confirmed by peers of k organisations: the lane waits.
    const undecided = new FabricLightClient(decodeFabricTrustRoot(reg.trustRoot, net.chainId), { ...networkSource(net), validationAnswers: async () => [] }, { k: 2 });
    expect(await checkSourceCommitments({ ...chain, fabric: undecided }, BigInt(a.height), [a.id], { allowLocalDev: false, logger: silentLogger() })).toMatchObject({ ok: false, kind: 'wait' });
    // Connected without its light client: a wiring fault, the lane waits.
    expect(await checkSourceCommitments({ registration: reg, adapter }, BigInt(a.height), [a.id], { allowLocalDev: false, logger: silentLogger() })).toMatchObject({ ok: false, kind: 'wait' });
  });

  it('refuses a missing id, another chain, port, channel, height or block', async () => {
    const a = await send(net, 'three');
    const proof = await proofOf(net, a.height, [{ txId: a.txId, messages: [a.encoded] }]);
    const ex = await expectation(a.height, [a.id]);
    const other = messageId(utf8('not sent'));
    expect(verifyFabricTxs(proof, { ...ex, ids: [a.id, other] })).toMatchObject({ ok: false, reason: 'missing_slot' });
    expect(verifyFabricTxs({ ...proof, txs: [{ ...proof.txs[0]!, txId: 'ab'.repeat(32) }] }, ex)).toMatchObject({ ok: false, reason: 'missing_slot' });
    expect(verifyFabricTxs(proof, { ...ex, chainId: 'fabric:qiaonet_other' })).toMatchObject({ ok: false, reason: 'wrong_address' });
    expect(verifyFabricTxs(proof, { ...ex, port: utf8('payments/otherport') })).toMatchObject({ ok: false, reason: 'commitment_absent' });
    expect(verifyFabricTxs(proof, { ...ex, port: utf8('other/qiaoport') })).toMatchObject({ ok: false, reason: 'expectation_invalid' });
    expect(verifyFabricTxs({ ...proof, height: String(a.height - 1) }, ex)).toMatchObject({ ok: false, reason: 'height_mismatch' });
    // Another block served under the trusted height's number: its hash is not the trusted one.
    const earlier = await expectation(a.height - 1, [a.id]);
    expect(verifyFabricTxs({ ...proof, height: String(a.height - 1) }, earlier)).toMatchObject({ ok: false, reason: 'height_mismatch' });
    expect(verifyFabricTxs({ ...proof, block: Buffer.from(net.blocks()[a.height - 1]!).toString('base64') }, ex)).toMatchObject({ ok: false, reason: 'height_mismatch' });
    expect(verifyFabricTxs(proof, { ...ex, anchor: { ...ex.anchor, hash: `0x${'00'.repeat(32)}` } })).toMatchObject({ ok: false, reason: 'untrusted_header' });
    expect(verifyFabricTxs({ ...proof, block: 'AAAA' }, ex)).toMatchObject({ ok: false, reason: 'proof_malformed' });
    expect(verifyFabricTxs({ kind: 'fabric-tx' }, ex)).toMatchObject({ ok: false, reason: 'proof_malformed' });
    expect(verifyFabricTxs({ ...proof, txs: [] }, ex)).toMatchObject({ ok: false, reason: 'missing_slot' });
  });

  it('does not relay a tx one peer says is valid and the other organisation says is not', async () => {
    // Two sends on one lane endorsed against the same state: the second is an MVCC conflict, invalid on every honest peer.
    const client = net.orgs[0]!.crypto.client;
    const args = [EVM, EVM_PORT, EVM_PORT, '50000', '0', '0', utf8('race')];
    const first = await endorse(net, client, 'send', args);
    const second = await endorse(net, client, 'send', [...args.slice(0, 6), utf8('race 2')]);
    expect(first.order().status).toBe(common.Status.SUCCESS);
    expect(second.order().status).toBe(common.Status.SUCCESS);
    const height = await committed(net, second.txId);
    await committed(net, first.txId);
    expect(net.peers[1]!.txs.get(second.txId)!.code).toBe(pb.TxValidationCode.MVCC_READ_CONFLICT);
    const encoded = sentMessage(second.responses[0]!);
    const id = messageId(encoded);
    const ex = await expectation(height, [id]);

    net.faults.flipValidation(net.orgs[0]!.peerName, second.txId);
    const all = await proofOf(net, height, [{ txId: second.txId, messages: [encoded] }], { peer: net.orgs[0]!.peerName });
    expect(verifyFabricTxs(all, ex)).toMatchObject({ ok: false, reason: 'validation_not_confirmed' });
    // A prover that keeps only the lying peer's answer: one organisation is not k = 2.
    const onlyOrg1 = await proofOf(net, height, [{ txId: second.txId, messages: [encoded] }], { peer: net.orgs[0]!.peerName, answers: (a) => a.mspId === 'Org1MSP' });
    expect(onlyOrg1.txs[0]!.validation).toHaveLength(1);
    const r = verifyFabricTxs(onlyOrg1, ex);
    expect(r).toMatchObject({ ok: false, reason: 'validation_not_confirmed' });
    expect(r.ok ? '' : r.detail).toMatch(/1 organisation\(s\).*2 required/);
    // With k = 1 that single answer would pass: k is what stops it.
    expect(verifyFabricTxs(onlyOrg1, { ...ex, k: 1 })).toEqual({ ok: true });
  });

  it('refuses a forged endorsement even when every peer says the tx is valid', async () => {
    const org2 = net.orgs[1]!.peerName;
    net.faults.forgeEndorsement(org2);
    let e;
    try {
      e = await endorse(net, net.orgs[0]!.crypto.client, 'send', [EVM, EVM_PORT, EVM_PORT, '50000', '0', '0', utf8('forged')]);
      expect(e.order().status).toBe(common.Status.SUCCESS);
    } finally {
      net.faults.forgeEndorsement(org2, false);
    }
    const height = await committed(net, e.txId);
    expect(net.peers[0]!.txs.get(e.txId)!.code).toBe(pb.TxValidationCode.ENDORSEMENT_POLICY_FAILURE);
    const encoded = sentMessage(e.responses[0]!);
    const ex = await expectation(height, [messageId(encoded)]);
    for (const o of net.orgs) net.faults.flipValidation(o.peerName, e.txId);
    const proof = await proofOf(net, height, [{ txId: e.txId, messages: [encoded] }]);
    const r = verifyFabricTxs(proof, ex);
    expect(r).toMatchObject({ ok: false, reason: 'signature_invalid' });
    expect(r.ok ? '' : r.detail).toMatch(/Org2MSP/);
    // A light client starting now sees every endpoint flag the tx valid: the block itself is refused.
    const fresh = new FabricLightClient(decodeFabricTrustRoot(reg.trustRoot, net.chainId), networkSource(net), { k: 2 });
    expect(await fresh.trustedAt(BigInt(height))).toMatchObject({ ok: false, reason: 'signature_invalid' });
  });

  it('refuses a block whose orderer signature is forged', async () => {
    const a = await send(net, 'signed by whom');
    const ex = await expectation(a.height, [a.id]);
    net.faults.forgeOrdererSignature(a.height);
    const proof = await proofOf(net, a.height, [{ txId: a.txId, messages: [a.encoded] }]);
    // The signatures are block metadata, outside the header hash: the anchor matches, the signature does not verify.
    expect(verifyFabricTxs(proof, ex)).toMatchObject({ ok: false, reason: 'signature_invalid' });
    const fresh = new FabricLightClient(decodeFabricTrustRoot(reg.trustRoot, net.chainId), networkSource(net), { k: 2 });
    expect(await fresh.trustedAt(BigInt(a.height))).toMatchObject({ ok: false, reason: 'signature_invalid' });
  });
});
