import { describe, expect, it } from 'vitest';
import { AbiCoder, getBytes, hexlify, keccak256, toUtf8Bytes } from 'ethers';
import { sha256 } from '@noble/hashes/sha2.js';
import type { CosmosIbcItem, CosmosIbcProof, CosmosPacket } from '../../adapters/cosmos/proof.ts';
import type { LightBlockJson } from '../../proofs/tendermint/types.ts';
import type { ConnectedChain } from '../../relayer/context.ts';
import { CometLightClient } from '../../relayer/light/cometbft-client.ts';
import { checkSourceCommitments } from '../../relayer/source-check.ts';
import { packetAckKey, packetCommitment, packetCommitmentKey, verifyCosmosPackets } from '../../relayer/verify-cosmos.ts';
import { verifySourceProof, type TrustedAnchor } from '../../relayer/verify-source.ts';
import type { ChainAdapter, SourceProof } from '../../src/domain/adapter.ts';
import type { ChainId } from '../../src/domain/caip.ts';
import type { ChainRegistration } from '../../src/domain/chain.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { encodeMessage, messageId } from '../../src/domain/message.ts';
import { NotReadyError } from '../../src/errors.ts';
import { silentLogger } from '../../src/logging.ts';
import { cosmosApp, type Entry } from '../proofs/fixtures/ics23/trees.ts';
import { makeLightBlock, makeValidators } from '../proofs/fixtures/tendermint/chain.ts';
import { fakeComet, forgeSignature, trustRootOf } from './fixtures/comet.ts';

/**
 * The Cosmos verify path, with every input made here: an `ibc` store (IAVL)
 * under a multistore whose root is the app hash of header H+1, CometBFT light
 * blocks signed by test validators, and the Qiao messages the packets carry.
 */
const COMET_CHAIN = 'qiaotest-1';
const CHAIN = `cosmos:${COMET_CHAIN}` as ChainId;
const HUB_CHAIN = 'eip155:7777' as ChainId;
const CONTRACT_PORT = 'wasm.cosmos14hj2tavq8fpesdwxxcu44rty3hh90vhujrvcmstl4zr3txmfvw9s4hmalr';
const CHANNEL = 'channel-0';
const PORT = hexlify(toUtf8Bytes(`${CONTRACT_PORT}/${CHANNEL}`)) as Hex;
const HUB_PORT = hexlify(toUtf8Bytes('qiao/channel-0')) as Hex;
const H = 5n;
const utf8 = (s: string) => new TextEncoder().encode(s);
const b64hex = (s: string) => `0x${Buffer.from(s, 'base64').toString('hex')}` as Hex;
const hex = (b: Uint8Array) => `0x${Buffer.from(b).toString('hex')}` as Hex;

function message(over: Partial<Parameters<typeof encodeMessage>[0]> = {}): Hex {
  return encodeMessage({
    version: 1,
    srcChain: CHAIN,
    srcPort: PORT,
    sender: `0x${'11'.repeat(20)}`,
    dstChain: HUB_CHAIN,
    dstPort: `0x${'22'.repeat(20)}`,
    receiver: `0x${'33'.repeat(20)}`,
    nonce: 1n,
    gasLimit: 200_000n,
    timeoutHeight: 0n,
    timeoutUnixSeconds: 0n,
    payload: '0xc0ffee',
    ...over,
  });
}

function packet(seq: number, data: Hex, over: Partial<CosmosPacket> = {}): CosmosPacket {
  return {
    sequence: String(seq),
    sourcePort: CONTRACT_PORT,
    sourceChannel: CHANNEL,
    destinationPort: 'qiao',
    destinationChannel: 'channel-0',
    data,
    timeoutHeight: { revisionNumber: '0', revisionHeight: '0' },
    timeoutTimestamp: '2015532800000000000',
    ...over,
  };
}

// Cosmos -> hub messages, and the Qiao ack the contract wrote for a hub -> Cosmos message.
const msg1 = message();
const msg2 = message({ nonce: 2n, payload: '0xbeef' });
const msgOther = message({ nonce: 3n, payload: '0x01' });
const p1 = packet(1, msg1);
const p2 = packet(2, msg2);
const pOtherChannel = packet(1, msgOther, { sourceChannel: 'channel-1' });
const hubMessage = message({ srcChain: HUB_CHAIN, srcPort: HUB_PORT, dstChain: CHAIN, dstPort: PORT, receiver: `0x${'44'.repeat(20)}` });
const ackBytes = message({
  sender: PORT,
  dstPort: HUB_PORT,
  receiver: HUB_PORT,
  nonce: 1n,
  payload: AbiCoder.defaultAbiCoder().encode(['uint8', 'bytes32', 'bytes'], [1, messageId(hubMessage), '0x']) as Hex,
});
const ackPacket: CosmosPacket = { ...packet(3, hubMessage), sourcePort: 'qiao', sourceChannel: 'channel-0', destinationPort: CONTRACT_PORT, destinationChannel: CHANNEL };

const ibcEntries: Entry[] = [
  [utf8(packetCommitmentKey(CONTRACT_PORT, CHANNEL, 1)), packetCommitment(p1)],
  [utf8(packetCommitmentKey(CONTRACT_PORT, CHANNEL, 2)), packetCommitment(p2)],
  [utf8(packetCommitmentKey(CONTRACT_PORT, 'channel-1', 1)), packetCommitment(pOtherChannel)],
  [utf8(packetAckKey(CONTRACT_PORT, CHANNEL, 3)), sha256(getBytes(ackBytes))],
  [utf8(`receipts/ports/${CONTRACT_PORT}/channels/${CHANNEL}/sequences/3`), Uint8Array.of(1)],
  [utf8(`nextSequenceSend/ports/${CONTRACT_PORT}/channels/${CHANNEL}`), Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 3)],
];
const app = cosmosApp({ ibc: ibcEntries, bank: [[utf8('balances/x'), Uint8Array.of(7)]], wasm: [[utf8('contract'), Uint8Array.of(9)]] });
const APP_HASH = hex(app.appHash);

function opsFor(key: string): CosmosIbcItem['proofOps'] {
  return app.proofOps('ibc', utf8(key)).ops.map((o) => ({ type: o.type, key: b64hex(o.key as string), data: b64hex(o.data as string) }));
}

const item1: CosmosIbcItem = { kind: 'packet', packet: p1, proofOps: opsFor(packetCommitmentKey(CONTRACT_PORT, CHANNEL, 1)) };
const item2: CosmosIbcItem = { kind: 'packet', packet: p2, proofOps: opsFor(packetCommitmentKey(CONTRACT_PORT, CHANNEL, 2)) };
const ackItem: CosmosIbcItem = { kind: 'ack', packet: ackPacket, ack: ackBytes, proofOps: opsFor(packetAckKey(CONTRACT_PORT, CHANNEL, 3)) };
const proof = (items: CosmosIbcItem[], height = H): CosmosIbcProof => ({ kind: 'cosmos-ibc', height: String(height), items });
const ID1 = messageId(msg1);
const ID2 = messageId(msg2);
const ACK_ID = messageId(ackBytes);
const anchor = { height: H + 1n, hash: `0x${'ab'.repeat(32)}` as Hex, appHash: APP_HASH };
const expectFor = (ids: Hex[], over: Partial<Parameters<typeof verifyCosmosPackets>[1]> = {}) => ({ chainId: CHAIN, port: PORT, height: H, ids, anchor, ...over });

const reg: ChainRegistration = {
  chainId: CHAIN,
  family: 'cosmos',
  genesisHash: `0x${'00'.repeat(32)}`,
  port: PORT,
  lightClient: 'tendermint',
  trustRoot: '0x',
  finality: { kind: 'instant' },
  endpoints: ['http://comet-0'],
  status: 'approved',
};

describe('verifyCosmosPackets', () => {
  it('accepts packets and an ack proven in the ibc store against the app hash of header H+1', () => {
    expect(verifyCosmosPackets(proof([item1, item2, ackItem]), expectFor([ID1, ID2, ACK_ID]))).toEqual({ ok: true });
    const v = verifySourceProof(reg, proof([item1, ackItem]), { height: H, ids: [ID1, ACK_ID], anchor: { kind: 'app-hash', ...anchor } }, { allowLocalDev: false });
    expect(v).toEqual({ ok: true, lightClient: 'tendermint' });
  });

  it('accepts an anchor read back from the index (height as a string) and extra fields the relayer stores with the proof', () => {
    const stored = { ...proof([item1]), lightClient: 'tendermint', endpoint: 0, anchor: { kind: 'app-hash', ...anchor, height: String(anchor.height) } };
    const a = { ...anchor, height: String(anchor.height) } as unknown as typeof anchor;
    expect(verifyCosmosPackets(stored, expectFor([ID1], { anchor: a }))).toEqual({ ok: true });
  });

  it('refuses a changed packet data byte', () => {
    // One byte of the payload (the bytes still decode as a message, with another id).
    const data = msg1.replace('c0ffee', 'c0ffef') as Hex;
    expect(data).not.toBe(msg1);
    const forged: CosmosIbcItem = { ...item1, packet: { ...p1, data } };
    // The requested id is not served any more ...
    expect(verifyCosmosPackets(proof([forged]), expectFor([ID1]))).toMatchObject({ ok: false, reason: 'missing_slot' });
    // ... and the forged bytes' own id does not match what the chain committed.
    expect(verifyCosmosPackets(proof([forged]), expectFor([keccak256(data) as Hex]))).toMatchObject({ ok: false, reason: 'commitment_mismatch' });
  });

  it('refuses a changed timeout (the commitment covers it)', () => {
    const forged: CosmosIbcItem = { ...item1, packet: { ...p1, timeoutTimestamp: '1' } };
    expect(verifyCosmosPackets(proof([forged]), expectFor([ID1]))).toMatchObject({ ok: false, reason: 'commitment_mismatch' });
  });

  it('refuses a proof for another key', () => {
    const otherKey: CosmosIbcItem = { ...item1, proofOps: item2.proofOps };
    expect(verifyCosmosPackets(proof([otherKey]), expectFor([ID1]))).toMatchObject({ ok: false, reason: 'storage_proof_invalid' });
    const otherSeq: CosmosIbcItem = { ...item1, packet: { ...p1, sequence: '2' } };
    expect(verifyCosmosPackets(proof([otherSeq]), expectFor([ID1]))).toMatchObject({ ok: false, reason: 'storage_proof_invalid' });
  });

  it('refuses a proof against another app hash', () => {
    const r = verifyCosmosPackets(proof([item1]), expectFor([ID1], { anchor: { ...anchor, appHash: `0x${'cd'.repeat(32)}` } }));
    expect(r).toMatchObject({ ok: false, reason: 'storage_proof_invalid' });
    expect(!r.ok && r.detail).toMatch(/ics23_root_mismatch/);
  });

  it('refuses an ack path served for a packet, and a packet path for an ack', () => {
    const packetWithAckPath: CosmosIbcItem = { ...item1, proofOps: ackItem.proofOps };
    expect(verifyCosmosPackets(proof([packetWithAckPath]), expectFor([ID1]))).toMatchObject({ ok: false, reason: 'storage_proof_invalid' });
    const ackWithPacketPath: CosmosIbcItem = { ...ackItem, proofOps: item1.proofOps };
    expect(verifyCosmosPackets(proof([ackWithPacketPath]), expectFor([ACK_ID]))).toMatchObject({ ok: false, reason: 'storage_proof_invalid' });
  });

  it('refuses a changed ack', () => {
    const forgedAck = message({ sender: PORT, dstPort: HUB_PORT, receiver: HUB_PORT, payload: AbiCoder.defaultAbiCoder().encode(['uint8', 'bytes32', 'bytes'], [2, messageId(hubMessage), '0x']) as Hex });
    const forged: CosmosIbcItem = { ...ackItem, ack: forgedAck };
    expect(verifyCosmosPackets(proof([forged]), expectFor([messageId(forgedAck)]))).toMatchObject({ ok: false, reason: 'commitment_mismatch' });
  });

  it('refuses when a requested id is not served', () => {
    expect(verifyCosmosPackets(proof([item1]), expectFor([ID1, ID2]))).toMatchObject({ ok: false, reason: 'missing_slot' });
  });

  it('refuses a packet sent from another channel than the registered one, even with a valid proof', () => {
    const other: CosmosIbcItem = { kind: 'packet', packet: pOtherChannel, proofOps: opsFor(packetCommitmentKey(CONTRACT_PORT, 'channel-1', 1)) };
    expect(verifyCosmosPackets(proof([other]), expectFor([messageId(msgOther)]))).toMatchObject({ ok: false, reason: 'wrong_address' });
  });

  it('refuses an ack received on another port', () => {
    const other: CosmosIbcItem = { ...ackItem, packet: { ...ackPacket, destinationPort: 'wasm.cosmos1other' } };
    expect(verifyCosmosPackets(proof([other]), expectFor([ACK_ID]))).toMatchObject({ ok: false, reason: 'wrong_address' });
  });

  it('refuses a message naming another source chain', () => {
    expect(verifyCosmosPackets(proof([item1]), expectFor([ID1], { chainId: 'cosmos:other-1' }))).toMatchObject({ ok: false, reason: 'wrong_address' });
  });

  it('refuses an anchor that is not header H+1, a proof for another height, and a malformed proof', () => {
    expect(verifyCosmosPackets(proof([item1]), expectFor([ID1], { anchor: { ...anchor, height: H } }))).toMatchObject({ ok: false, reason: 'untrusted_header' });
    expect(verifyCosmosPackets(proof([item1], H + 1n), expectFor([ID1]))).toMatchObject({ ok: false, reason: 'height_mismatch' });
    expect(verifyCosmosPackets({ kind: 'cosmos-ibc', height: '5', items: [{ ...item1, proofOps: [] }] }, expectFor([ID1]))).toMatchObject({ ok: false, reason: 'proof_malformed' });
    expect(verifyCosmosPackets(null, expectFor([ID1]))).toMatchObject({ ok: false, reason: 'proof_malformed' });
  });

  it('is dispatched only for the tendermint light client and an app-hash anchor', () => {
    const p = proof([item1]);
    expect(verifySourceProof({ ...reg, lightClient: 'local-dev' }, p, { height: H, ids: [ID1], anchor: { kind: 'app-hash', ...anchor } }, { allowLocalDev: true })).toMatchObject({ ok: false, reason: 'unsupported_light_client' });
    const stateRoot: TrustedAnchor = { kind: 'state-root', hash: anchor.hash, stateRoot: APP_HASH };
    expect(verifySourceProof(reg, p, { height: H, ids: [ID1], anchor: stateRoot }, { allowLocalDev: false })).toMatchObject({ ok: false, reason: 'untrusted_header' });
    expect(verifySourceProof(reg, p, { height: H, ids: [ID1], anchor: null }, { allowLocalDev: false })).toMatchObject({ ok: false, reason: 'untrusted_header' });
  });
});

describe('checkSourceCommitments on a Cosmos chain', () => {
  const vals = makeValidators(4, { seed: 'cosmos-verify' });
  const START = 1_700_000_000;
  /** Blocks 1..n; the header of H+1 carries the app hash of the store above. */
  function blocks(n: number): LightBlockJson[] {
    const out: LightBlockJson[] = [];
    let last = null;
    for (let h = 1; h <= n; h++) {
      const b = makeLightBlock({ chainId: COMET_CHAIN, height: h, time: START + 10 * h, vals, lastBlockId: last, ...(BigInt(h) === H + 1n ? { appHash: APP_HASH.slice(2).toUpperCase() } : {}) });
      last = b.signed_header.commit.block_id;
      out.push(b);
    }
    return out;
  }

  function connected(chain: LightBlockJson[], served: SourceProof): ConnectedChain {
    const comet = new CometLightClient(trustRootOf(COMET_CHAIN, chain[0]!, vals), fakeComet([chain]), { logger: silentLogger(), now: () => new Date((START + 200) * 1000) });
    const adapter = { prover: { proveCommitments: async () => structuredClone(served), endpointCount: () => 1 } } as unknown as ChainAdapter;
    return { registration: reg, adapter, comet };
  }
  const opts = { allowLocalDev: false, logger: silentLogger() };

  it('verifies against the app hash of the light client\'s header H+1', async () => {
    const chain = blocks(8);
    const r = await checkSourceCommitments(connected(chain, proof([item1, ackItem])), H, [ID1, ACK_ID], opts);
    expect(r).toMatchObject({ ok: true, lightClient: 'tendermint', endpoint: 0, anchor: { kind: 'app-hash', height: H + 1n, appHash: APP_HASH, hash: `0x${chain[Number(H)]!.signed_header.commit.block_id.hash.toLowerCase()}` } });
  });

  it('waits while header H+1 does not exist yet', async () => {
    const r = await checkSourceCommitments(connected(blocks(Number(H)), proof([item1])), H, [ID1], opts);
    expect(r).toMatchObject({ ok: false, kind: 'wait' });
    expect(!r.ok && r.kind === 'wait' && r.error).toBeInstanceOf(NotReadyError);
  });

  it('refuses when header H+1 carries a forged commit signature', async () => {
    const chain = blocks(8).map((b, i) => (i === Number(H) ? forgeSignature(b) : b));
    const r = await checkSourceCommitments(connected(chain, proof([item1])), H, [ID1], opts);
    expect(r).toMatchObject({ ok: false, kind: 'refused', reason: 'header_invalid:signature_invalid' });
  });

  it('refuses a forged ICS-23 proof from every endpoint', async () => {
    const forged: CosmosIbcItem = { ...item1, packet: { ...p1, timeoutTimestamp: '1' } };
    const r = await checkSourceCommitments(connected(blocks(8), proof([forged])), H, [ID1], opts);
    expect(r).toMatchObject({ ok: false, kind: 'refused', reason: 'proof_invalid:commitment_mismatch' });
  });

  it('waits (never refuses) when the chain was connected without its light client', async () => {
    const { comet: _unused, ...bare } = connected(blocks(8), proof([item1]));
    const r = await checkSourceCommitments(bare, H, [ID1], opts);
    expect(r).toMatchObject({ ok: false, kind: 'wait' });
  });

  it('refuses a proof whose app hash is not the one in header H+1', async () => {
    // Header H+1 of this chain carries another app hash than the store's root.
    const chain = blocks(8).map((b, i) => (i === Number(H) ? makeLightBlock({ chainId: COMET_CHAIN, height: i + 1, time: START + 10 * (i + 1), vals }) : b));
    const r = await checkSourceCommitments(connected(chain, proof([item1])), H, [ID1], opts);
    expect(r).toMatchObject({ ok: false, kind: 'refused', reason: 'proof_invalid:storage_proof_invalid' });
  });
});
