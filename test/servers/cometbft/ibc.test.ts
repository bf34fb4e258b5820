import { toBech32 } from '@cosmjs/encoding';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { LegacyAminoPubKey } from 'cosmjs-types/cosmos/crypto/multisig/keys';
import { PubKey } from 'cosmjs-types/cosmos/crypto/secp256k1/keys';
import { SignatureDescriptor_Data } from 'cosmjs-types/cosmos/tx/signing/v1beta1/signing';
import { MsgExecuteContract } from 'cosmjs-types/cosmwasm/wasm/v1/tx';
import { QuerySmartContractStateRequest, QuerySmartContractStateResponse } from 'cosmjs-types/cosmwasm/wasm/v1/query';
import { Any } from 'cosmjs-types/google/protobuf/any';
import { Channel, Order, type Packet, State as ChanState } from 'cosmjs-types/ibc/core/channel/v1/channel';
import { MsgAcknowledgement, MsgChannelOpenAck, MsgChannelOpenInit, MsgRecvPacket, MsgRecvPacketResponse, MsgTimeout, MsgTimeoutResponse } from 'cosmjs-types/ibc/core/channel/v1/tx';
import { QueryPacketCommitmentRequest, QueryPacketCommitmentResponse, QueryPacketReceiptRequest, QueryPacketReceiptResponse } from 'cosmjs-types/ibc/core/channel/v1/query';
import { QueryClientStateRequest, QueryClientStateResponse } from 'cosmjs-types/ibc/core/client/v1/query';
import { MsgCreateClient, MsgSubmitMisbehaviour, MsgUpdateClient } from 'cosmjs-types/ibc/core/client/v1/tx';
import { ConnectionEnd, State as ConnState } from 'cosmjs-types/ibc/core/connection/v1/connection';
import { MsgConnectionOpenAck, MsgConnectionOpenInit } from 'cosmjs-types/ibc/core/connection/v1/tx';
import { MerklePath } from 'cosmjs-types/ibc/core/commitment/v2/commitment';
import { ClientState, ConsensusState as ConsensusStateCodec, Header, HeaderData, Misbehaviour, SignBytes, TimestampedSignatureData } from 'cosmjs-types/ibc/lightclients/solomachine/v3/solomachine';
import { ClientState as TmClientState, ConsensusState as TmConsensusState } from 'cosmjs-types/ibc/lightclients/tendermint/v1/tendermint';
import { AbiCoder, getBytes, hexlify, keccak256, toUtf8Bytes } from 'ethers';
import { describe, expect, it } from 'vitest';
import type { ChainId } from '../../../src/domain/caip.ts';
import type { Hex } from '../../../src/domain/hex.ts';
import { decodeMessage, encodeMessage } from '../../../src/domain/message.ts';
import { commitAcknowledgement, commitPacket } from './ibc/commitment.ts';
import { withContractFaults } from './contract/faults.ts';
import { createIbcModules, type SelfConsensusState } from './ibc/index.ts';
import { moduleAddress } from './node/address.ts';
import { type Bank, type Coin, type KV, type Module, ModuleError, type QueryContext, type TxContext } from './node/module.ts';

// ---- a tiny in-memory chain: per-tx write buffer, bank, events -------------------------------

const hexKey = (k: Uint8Array): string => Buffer.from(k).toString('hex');

class MemKV implements KV {
  constructor(readonly m = new Map<string, Uint8Array>()) {}
  get(k: Uint8Array) {
    return this.m.get(hexKey(k));
  }
  set(k: Uint8Array, v: Uint8Array) {
    this.m.set(hexKey(k), v);
  }
  delete(k: Uint8Array) {
    this.m.delete(hexKey(k));
  }
  prefix(p: Uint8Array): [Uint8Array, Uint8Array][] {
    const ph = hexKey(p);
    return [...this.m.keys()].filter((k) => k.startsWith(ph)).sort().map((k) => [Buffer.from(k, 'hex'), this.m.get(k) as Uint8Array]);
  }
}

class MemBank implements Bank {
  constructor(readonly b = new Map<string, bigint>()) {}
  balance(addr: string, denom: string) {
    return this.b.get(`${addr}/${denom}`) ?? 0n;
  }
  send(from: string, to: string, coins: Coin[]) {
    for (const c of coins) {
      const have = this.balance(from, c.denom);
      if (have < BigInt(c.amount)) throw new ModuleError('sdk', 5, 'insufficient funds');
      this.b.set(`${from}/${c.denom}`, have - BigInt(c.amount));
      this.b.set(`${to}/${c.denom}`, this.balance(to, c.denom) + BigInt(c.amount));
    }
  }
}

interface TxResult {
  code: number;
  codespace: string;
  log: string;
  events: [string, [string, string][]][];
  data?: Uint8Array;
}

class TestChain {
  stores = new Map<string, MemKV>();
  bank = new MemBank();
  height = 10n;
  time = new Date('2026-01-01T00:00:00Z');
  readonly handlers = new Map<string, (ctx: TxContext, v: Uint8Array) => unknown>();
  readonly queries = new Map<string, (ctx: QueryContext, r: Uint8Array) => Uint8Array>();
  constructor(
    readonly chainId: string,
    modules: Module[],
  ) {
    for (const m of modules) {
      for (const [k, h] of Object.entries(m.msgs)) this.handlers.set(k, h);
      for (const [k, q] of Object.entries(m.queries)) this.queries.set(k, q);
    }
  }
  private kv(name: string): MemKV {
    let s = this.stores.get(name);
    if (!s) this.stores.set(name, (s = new MemKV()));
    return s;
  }
  /** One message in one tx; writes are dropped if the handler throws (as the node does). */
  exec(typeUrl: string, value: Uint8Array, signer = RELAYER): TxResult {
    const snapshot = new Map([...this.stores].map(([n, s]) => [n, new Map(s.m)]));
    const bankSnap = new Map(this.bank.b);
    const events: TxResult['events'] = [];
    const ctx: TxContext = {
      height: this.height,
      time: this.time,
      chainId: this.chainId,
      txHash: `0x${'ab'.repeat(32)}`,
      signers: [signer],
      bank: this.bank,
      store: (n) => this.kv(n),
      emit: (t, a) => events.push([t, a]),
    };
    this.height += 1n;
    try {
      const h = this.handlers.get(typeUrl);
      if (!h) throw new ModuleError('sdk', 12, `unknown message ${typeUrl}`);
      const data = h(ctx, value);
      return { code: 0, codespace: '', log: '', events, ...(data instanceof Uint8Array ? { data } : {}) };
    } catch (e) {
      if (!(e instanceof ModuleError)) throw e;
      this.stores = new Map([...snapshot].map(([n, m]) => [n, new MemKV(m)]));
      this.bank = new MemBank(bankSnap);
      return { code: e.code, codespace: e.codespace, log: e.message, events: [] };
    }
  }
  query(path: string, req: Uint8Array): Uint8Array {
    const q = this.queries.get(path);
    if (!q) throw new Error(`no query ${path}`);
    return q({ height: this.height, time: this.time, chainId: this.chainId, bank: this.bank, store: (n) => this.kv(n) }, req);
  }
  smart(contract: string, q: unknown): Record<string, unknown> {
    const res = this.query('/cosmwasm.wasm.v1.Query/SmartContractState', QuerySmartContractStateRequest.encode({ address: contract, queryData: toUtf8Bytes(JSON.stringify(q)) }).finish());
    return JSON.parse(Buffer.from(QuerySmartContractStateResponse.decode(res).data).toString('utf8')) as Record<string, unknown>;
  }
  soloState(clientId = SOLO): ClientState {
    const res = QueryClientStateResponse.decode(this.query('/ibc.core.client.v1.Query/ClientState', QueryClientStateRequest.encode({ clientId }).finish()));
    return ClientState.decode(res.clientState?.value ?? new Uint8Array());
  }
}

// ---- the hub as a solo machine: k-of-n secp256k1 keys made here --------------------------------

const addr = (seed: number): string => toBech32('cosmos', new Uint8Array(20).fill(seed));
const RELAYER = addr(1);
const USER = addr(2);
const CONTRACT = addr(3);
const RECEIVER = addr(4);
const CHAIN_ID = 'qiaotest-1';
const SOLO = '06-solomachine-0';
const HUB_CLIENT = '07-tendermint-0';
const HUB_CONN = 'connection-0';
const HUB_CHANNEL = 'channel-0';
const PORT = `wasm.${CONTRACT}`;
const DIVERSIFIER = 'qiao';
const HUB_CHAIN = 'eip155:777' as ChainId;
const coder = AbiCoder.defaultAbiCoder();
const enc = new TextEncoder();

const pubAny = (priv: Uint8Array): Any => ({ typeUrl: '/cosmos.crypto.secp256k1.PubKey', value: PubKey.encode({ key: secp256k1.getPublicKey(priv, true) }).finish() });

class SoloMachine {
  sequence = 1n;
  time = 1_000_000_000n;
  diversifier = DIVERSIFIER;
  constructor(
    public keys: Uint8Array[],
    public threshold: number,
  ) {}
  static make(n: number, k: number): SoloMachine {
    return new SoloMachine(Array.from({ length: n }, () => secp256k1.utils.randomSecretKey()), k);
  }
  publicKey(keys = this.keys, threshold = this.threshold): Any {
    if (keys.length === 1) return pubAny(keys[0] as Uint8Array);
    return { typeUrl: '/cosmos.crypto.multisig.LegacyAminoPubKey', value: LegacyAminoPubKey.encode({ threshold, publicKeys: keys.map(pubAny) }).finish() };
  }
  /** signs with the keys at `signers` (indexes), as SignatureDescriptor.Data */
  sign(bytes: Uint8Array, signers?: number[], keys = this.keys): Uint8Array {
    const sig = (k: Uint8Array) => secp256k1.sign(sha256(bytes), k, { prehash: false, lowS: true, format: 'compact' });
    if (keys.length === 1) return SignatureDescriptor_Data.encode({ single: { mode: 0, signature: sig(keys[0] as Uint8Array) } }).finish();
    const who = signers ?? keys.map((_, i) => i);
    let bits = 0;
    for (const i of who) bits |= 1 << (7 - i);
    return SignatureDescriptor_Data.encode({
      multi: {
        bitarray: { extraBitsStored: keys.length % 8, elems: Uint8Array.of(bits) },
        signatures: who.map((i) => ({ single: { mode: 0, signature: sig(keys[i] as Uint8Array) } })),
      },
    }).finish();
  }
  signBytes(path: string, data: Uint8Array | undefined, sequence = this.sequence, timestamp = this.time): Uint8Array {
    return SignBytes.encode({ sequence, timestamp, diversifier: this.diversifier, path: enc.encode(path), data: data ?? new Uint8Array() }).finish();
  }
  /** A membership (data) or non-membership (undefined) proof at the current sequence; advances it. */
  proof(path: string, data: Uint8Array | undefined, o: { signers?: number[]; sequence?: bigint; keys?: Uint8Array[] } = {}): Uint8Array {
    const sb = this.signBytes(path, data, o.sequence ?? this.sequence);
    const p = TimestampedSignatureData.encode({ signatureData: this.sign(sb, o.signers, o.keys), timestamp: this.time }).finish();
    this.sequence += 1n;
    return p;
  }
  clientState(): Any {
    return { typeUrl: '/ibc.lightclients.solomachine.v3.ClientState', value: ClientState.encode({ sequence: this.sequence, isFrozen: false, consensusState: this.consensus() }).finish() };
  }
  consensus() {
    return { publicKey: this.publicKey(), diversifier: this.diversifier, timestamp: this.time };
  }
}

const heightZero = { revisionNumber: 0n, revisionHeight: 0n };

function selfConsensus(h: bigint): SelfConsensusState {
  return { timestamp: { seconds: 1_700_000_000n + h, nanos: 0 }, appHash: sha256(enc.encode(`app${h}`)), nextValidatorsHash: sha256(enc.encode('vals')) };
}

function setup(version: 'v8' | 'v9', sm = SoloMachine.make(3, 2), wrap: (m: Module[]) => Module[] = (m) => m) {
  const chain = new TestChain(CHAIN_ID, wrap(createIbcModules({ ibcVersion: version, chainId: CHAIN_ID, contractAddress: CONTRACT, receiverAddress: RECEIVER, selfConsensusState: selfConsensus })));
  chain.bank.b.set(`${USER}/uatom`, 1000n);
  const ok = (r: TxResult) => {
    expect(r.log).toBe('');
    expect(r.code).toBe(0);
    return r;
  };
  ok(chain.exec('/ibc.core.client.v1.MsgCreateClient', MsgCreateClient.encode({ clientState: sm.clientState(), consensusState: { typeUrl: '/ibc.lightclients.solomachine.v3.ConsensusState', value: consensusBytes(sm) }, signer: RELAYER }).finish()));
  const version1 = { identifier: '1', features: ['ORDER_ORDERED', 'ORDER_UNORDERED'] };
  ok(chain.exec('/ibc.core.connection.v1.MsgConnectionOpenInit', MsgConnectionOpenInit.encode({ clientId: SOLO, counterparty: { clientId: HUB_CLIENT, connectionId: '', prefix: { keyPrefix: enc.encode('ibc') } }, delayPeriod: 0n, signer: RELAYER }).finish()));
  const hubConn = ConnectionEnd.encode({ clientId: HUB_CLIENT, versions: [version1], state: ConnState.STATE_TRYOPEN, counterparty: { clientId: SOLO, connectionId: 'connection-0', prefix: { keyPrefix: enc.encode('ibc') } }, delayPeriod: 0n }).finish();
  const proofTry = sm.proof(`connections/${HUB_CONN}`, hubConn);
  const ack = MsgConnectionOpenAck.fromPartial({ connectionId: 'connection-0', counterpartyConnectionId: HUB_CONN, signer: RELAYER });
  Object.assign(ack, { version: version1, proofTry, proofHeight: { revisionNumber: 0n, revisionHeight: sm.sequence } });
  if (version === 'v8') {
    const consensusHeight = { revisionNumber: 1n, revisionHeight: 5n };
    const tm: Any = {
      typeUrl: '/ibc.lightclients.tendermint.v1.ClientState',
      value: TmClientState.encode(TmClientState.fromPartial({ chainId: CHAIN_ID, trustLevel: { numerator: 1n, denominator: 3n }, trustingPeriod: { seconds: 1_000_000n }, unbondingPeriod: { seconds: 1_814_400n }, maxClockDrift: { seconds: 10n }, frozenHeight: heightZero, latestHeight: consensusHeight, proofSpecs: [{}, {}], upgradePath: ['upgrade', 'upgradedIBCState'] })).finish(),
    };
    const s = selfConsensus(5n);
    const cons = Any.encode({ typeUrl: '/ibc.lightclients.tendermint.v1.ConsensusState', value: TmConsensusState.encode({ timestamp: s.timestamp, root: { hash: s.appHash }, nextValidatorsHash: s.nextValidatorsHash }).finish() }).finish();
    Object.assign(ack, {
      clientState: tm,
      proofClient: sm.proof(`clients/${HUB_CLIENT}/clientState`, Any.encode(tm).finish()),
      proofConsensus: sm.proof(`clients/${HUB_CLIENT}/consensusStates/1-5`, cons),
      consensusHeight,
    });
  }
  ok(chain.exec('/ibc.core.connection.v1.MsgConnectionOpenAck', MsgConnectionOpenAck.encode(ack).finish()));
  ok(chain.exec('/ibc.core.channel.v1.MsgChannelOpenInit', MsgChannelOpenInit.encode({ portId: PORT, channel: { state: ChanState.STATE_INIT, ordering: Order.ORDER_UNORDERED, counterparty: { portId: 'qiao', channelId: '' }, connectionHops: ['connection-0'], version: 'qiao-1' }, signer: RELAYER }).finish()));
  const hubChan = Channel.encode({ state: ChanState.STATE_TRYOPEN, ordering: Order.ORDER_UNORDERED, counterparty: { portId: PORT, channelId: 'channel-0' }, connectionHops: [HUB_CONN], version: 'qiao-1' }).finish();
  ok(chain.exec('/ibc.core.channel.v1.MsgChannelOpenAck', MsgChannelOpenAck.encode({ portId: PORT, channelId: 'channel-0', counterpartyChannelId: HUB_CHANNEL, counterpartyVersion: 'qiao-1', proofTry: sm.proof(`channelEnds/ports/qiao/channels/${HUB_CHANNEL}`, hubChan), proofHeight: heightZero, signer: RELAYER }).finish()));
  return { chain, sm, ok };
}

function consensusBytes(sm: SoloMachine): Uint8Array {
  return ConsensusStateCodec.encode(sm.consensus()).finish();
}

const OWN_PORT_BYTES = hexlify(enc.encode(`${PORT}/channel-0`)) as Hex;
const HUB_PORT_BYTES = hexlify(enc.encode('qiao/channel-0')) as Hex;

function hubMessage(payload: string, nonce: bigint, timeout = 2_000_000_000n): Uint8Array {
  return getBytes(
    encodeMessage({
      version: 1,
      srcChain: HUB_CHAIN,
      srcPort: HUB_PORT_BYTES,
      sender: '0x1111111111111111111111111111111111111111',
      dstChain: `cosmos:${CHAIN_ID}` as ChainId,
      dstPort: OWN_PORT_BYTES,
      receiver: hexlify(new Uint8Array(20).fill(4)) as Hex,
      nonce,
      gasLimit: 100_000n,
      timeoutHeight: 0n,
      timeoutUnixSeconds: timeout,
      payload: hexlify(toUtf8Bytes(payload)) as Hex,
    }),
  );
}

function hubPacket(data: Uint8Array, sequence: bigint): Packet {
  return { sequence, sourcePort: 'qiao', sourceChannel: HUB_CHANNEL, destinationPort: PORT, destinationChannel: 'channel-0', data, timeoutHeight: heightZero, timeoutTimestamp: 2_000_000_000n * 1_000_000_000n };
}

function recv(chain: TestChain, sm: SoloMachine, packet: Packet, o: Parameters<SoloMachine['proof']>[2] = {}): TxResult {
  const proof = sm.proof(`commitments/ports/qiao/channels/${HUB_CHANNEL}/sequences/${packet.sequence}`, commitPacket(packet), o);
  return chain.exec('/ibc.core.channel.v1.MsgRecvPacket', MsgRecvPacket.encode({ packet, proofCommitment: proof, proofHeight: heightZero, signer: RELAYER }).finish());
}

function send(chain: TestChain, payload: string, timeoutUnix = 0n, funds: Coin[] = []): TxResult {
  const msg = { send: { dst_chain: HUB_CHAIN, dst_port: '0x2222', receiver: '0x3333', gas_limit: '100000', timeout_unix_seconds: timeoutUnix.toString(), payload: hexlify(toUtf8Bytes(payload)) } };
  return chain.exec('/cosmwasm.wasm.v1.MsgExecuteContract', MsgExecuteContract.encode({ sender: USER, contract: CONTRACT, msg: toUtf8Bytes(JSON.stringify(msg)), funds }).finish(), USER);
}

function sentPacket(r: TxResult): Packet {
  const ev = r.events.find(([t]) => t === 'send_packet');
  if (!ev) throw new Error('no send_packet');
  const a = Object.fromEntries(ev[1]);
  return {
    sequence: BigInt(a.packet_sequence as string),
    sourcePort: a.packet_src_port as string,
    sourceChannel: a.packet_src_channel as string,
    destinationPort: a.packet_dst_port as string,
    destinationChannel: a.packet_dst_channel as string,
    data: Buffer.from(a.packet_data_hex as string, 'hex'),
    timeoutHeight: heightZero,
    timeoutTimestamp: BigInt(a.packet_timeout_timestamp as string),
  };
}

/** A header that keeps the key and diversifier, only to move the consensus timestamp to sm.time. */
function updateHeader(chain: TestChain, sm: SoloMachine): TxResult {
  const pk = sm.publicKey();
  const data = HeaderData.encode({ newPubKey: pk, newDiversifier: sm.diversifier }).finish();
  const sb = SignBytes.encode({ sequence: sm.sequence, timestamp: sm.time, diversifier: sm.diversifier, path: enc.encode('solomachine:header'), data }).finish();
  const header = Header.encode({ timestamp: sm.time, signature: sm.sign(sb), newPublicKey: pk, newDiversifier: sm.diversifier }).finish();
  sm.sequence += 1n;
  return chain.exec('/ibc.core.client.v1.MsgUpdateClient', MsgUpdateClient.encode({ clientId: SOLO, clientMessage: { typeUrl: '/ibc.lightclients.solomachine.v3.Header', value: header }, signer: RELAYER }).finish());
}

function qiaoAck(original: Uint8Array, outcome: number): Uint8Array {
  const m = decodeMessage(original);
  return getBytes(
    encodeMessage({
      version: 1,
      srcChain: m.dstChain,
      srcPort: m.dstPort,
      sender: m.dstPort,
      dstChain: m.srcChain,
      dstPort: m.srcPort,
      receiver: m.srcPort,
      nonce: 1n,
      gasLimit: 200_000n,
      timeoutHeight: 0n,
      timeoutUnixSeconds: 0n,
      payload: coder.encode(['uint8', 'bytes32', 'bytes'], [outcome, keccak256(original), '0x']) as Hex,
    }),
  );
}

// ---- tests ------------------------------------------------------------------------------------

describe.each(['v8', 'v9'] as const)('IBC model %s', (version) => {
  it('opens connection and channel over a 2-of-3 multisig solo machine, consuming sequences as ibc-go', () => {
    const { chain, sm } = setup(version);
    // created at 1; conn ack: 1 proof (v9) or 3 (v8: try, client, consensus); chan ack: 1
    const expected = version === 'v8' ? 5n : 3n;
    expect(chain.soloState().sequence).toBe(expected);
    expect(sm.sequence).toBe(expected);
    expect(chain.smart(CONTRACT, { config: {} })).toEqual({ port_id: PORT, channel_id: 'channel-0', chain_id: CHAIN_ID });
  });

  it('sends, receives (with a Qiao ack), acknowledges and times out', () => {
    const { chain, sm, ok } = setup(version);
    // send with funds: escrowed, committed, send_packet event
    const s1 = ok(send(chain, 'hello hub', 0n, [{ denom: 'uatom', amount: '100' }]));
    const p1 = sentPacket(s1);
    expect(chain.bank.balance(USER, 'uatom')).toBe(900n);
    expect(chain.bank.balance(CONTRACT, 'uatom')).toBe(100n);
    const commit = QueryPacketCommitmentResponse.decode(chain.query('/ibc.core.channel.v1.Query/PacketCommitment', QueryPacketCommitmentRequest.encode({ portId: PORT, channelId: 'channel-0', sequence: 1n }).finish()));
    expect(hexlify(commit.commitment)).toBe(hexlify(commitPacket(p1)));
    const id1 = keccak256(p1.data);
    expect(s1.events.find(([t]) => t === 'wasm')?.[1]).toContainEqual(['qiao_id', id1]);
    const m1 = decodeMessage(p1.data);
    expect(m1.srcPort).toBe(OWN_PORT_BYTES);
    expect(m1.sender).toBe(hexlify(new Uint8Array(20).fill(2)));

    // receive a hub message with a timeout: receipt + Qiao ack
    const data = hubMessage('pay 5', 1n);
    const r = ok(recv(chain, sm, hubPacket(data, 1n)));
    expect(MsgRecvPacketResponse.decode(r.data ?? new Uint8Array()).result).toBe(2);
    const wa = Object.fromEntries(r.events.find(([t]) => t === 'write_acknowledgement')?.[1] ?? []);
    const ackMsg = decodeMessage(Buffer.from(wa.packet_ack_hex as string, 'hex'));
    expect(ackMsg.dstChain).toBe(HUB_CHAIN);
    expect(ackMsg.sender).toBe(OWN_PORT_BYTES);
    const [outcome, original] = coder.decode(['uint8', 'bytes32', 'bytes'], ackMsg.payload);
    expect(Number(outcome)).toBe(1);
    expect(original).toBe(keccak256(data));
    expect(chain.smart(CONTRACT, { receipt: { id: keccak256(data) } })).toMatchObject({ status: 'delivered', tx_hash: `0x${'ab'.repeat(32)}` });
    expect(chain.smart(CONTRACT, { received: { id: keccak256(data) } })).toEqual({ payload: hexlify(toUtf8Bytes('pay 5')) });
    // the ack message took nonce 2 of the lane to the hub (the send took 1)
    expect(ackMsg.nonce).toBe(2n);

    // a failing receiver: delivered as failed, reason recorded, failed ack
    const fdata = hubMessage('fail please', 2n);
    const rf = ok(recv(chain, sm, hubPacket(fdata, 2n)));
    const fack = decodeMessage(Buffer.from(Object.fromEntries(rf.events.find(([t]) => t === 'write_acknowledgement')?.[1] ?? []).packet_ack_hex as string, 'hex'));
    expect(Number(coder.decode(['uint8', 'bytes32', 'bytes'], fack.payload)[0])).toBe(2);
    expect(chain.smart(CONTRACT, { receipt: { id: keccak256(fdata) } })).toMatchObject({ status: 'failed' });

    // redundant relay: NOOP success, the solo machine sequence is not consumed
    const before = chain.soloState().sequence;
    const dup = ok(recv(chain, sm, hubPacket(data, 1n)));
    expect(MsgRecvPacketResponse.decode(dup.data ?? new Uint8Array()).result).toBe(1);
    expect(chain.soloState().sequence).toBe(before);
    sm.sequence = before;

    // acknowledgement of our packet: delivered, escrow paid to the settlement module account
    const ack = qiaoAck(p1.data, 1);
    const proofAcked = sm.proof(`acks/ports/qiao/channels/${HUB_CHANNEL}/sequences/1`, commitAcknowledgement(ack));
    ok(chain.exec('/ibc.core.channel.v1.MsgAcknowledgement', MsgAcknowledgement.encode({ packet: p1, acknowledgement: ack, proofAcked, proofHeight: heightZero, signer: RELAYER }).finish()));
    expect(chain.smart(CONTRACT, { ack: { id: id1 } })).toMatchObject({ outcome: 'delivered' });
    expect(chain.bank.balance(CONTRACT, 'uatom')).toBe(0n);
    expect(chain.bank.balance(moduleAddress('qiao_settlement'), 'uatom')).toBe(100n);
    expect(() => chain.query('/ibc.core.channel.v1.Query/PacketCommitment', QueryPacketCommitmentRequest.encode({ portId: PORT, channelId: 'channel-0', sequence: 1n }).finish())).toThrow(ModuleError);

    // timeout: refused before the timeout, then refunded
    const s2 = ok(send(chain, 'will time out', 1_000n, [{ denom: 'uatom', amount: '50' }]));
    const p2 = sentPacket(s2);
    expect(p2.timeoutTimestamp).toBe(1_000n * 1_000_000_000n);
    const receiptPath = `receipts/ports/qiao/channels/${HUB_CHANNEL}/sequences/${p2.sequence}`;
    const early = chain.exec('/ibc.core.channel.v1.MsgTimeout', MsgTimeout.encode({ packet: p2, proofUnreceived: sm.proof(receiptPath, undefined), proofHeight: heightZero, nextSequenceRecv: 1n, signer: RELAYER }).finish());
    expect([early.codespace, early.code]).toEqual(['channel', 39]);
    sm.sequence -= 1n;
    // ibc-go compares with the consensus timestamp before the proof: move it on with a header first
    sm.time = 1_000n * 1_000_000_000n;
    ok(updateHeader(chain, sm));
    const t = ok(chain.exec('/ibc.core.channel.v1.MsgTimeout', MsgTimeout.encode({ packet: p2, proofUnreceived: sm.proof(receiptPath, undefined), proofHeight: heightZero, nextSequenceRecv: 1n, signer: RELAYER }).finish()));
    expect(MsgTimeoutResponse.decode(t.data ?? new Uint8Array()).result).toBe(2);
    expect(t.events.map(([e]) => e)).toContain('timeout_packet');
    expect(chain.smart(CONTRACT, { ack: { id: keccak256(p2.data) } })).toMatchObject({ outcome: 'cancelled', refund: { sender: USER, amount: [{ denom: 'uatom', amount: '50' }], paid: true } });
    expect(chain.bank.balance(USER, 'uatom')).toBe(900n);
    expect(chain.bank.balance(CONTRACT, 'uatom')).toBe(0n);
    expect(chain.soloState().consensusState?.timestamp).toBe(1_000n * 1_000_000_000n);
    // a second timeout of the same packet is a NOOP
    const again = ok(chain.exec('/ibc.core.channel.v1.MsgTimeout', MsgTimeout.encode({ packet: p2, proofUnreceived: sm.proof(receiptPath, undefined), proofHeight: heightZero, nextSequenceRecv: 1n, signer: RELAYER }).finish()));
    expect(MsgTimeoutResponse.decode(again.data ?? new Uint8Array()).result).toBe(1);
  });
});

describe('Qiao contract settlement', () => {
  it('refunds the escrow on a failed ack and records an incoming ack without answering it', () => {
    const { chain, sm, ok } = setup('v9');
    const p = sentPacket(ok(send(chain, 'to fail', 0n, [{ denom: 'uatom', amount: '70' }])));
    const ack = qiaoAck(p.data, 2);
    const proofAcked = sm.proof(`acks/ports/qiao/channels/${HUB_CHANNEL}/sequences/${p.sequence}`, commitAcknowledgement(ack));
    ok(chain.exec('/ibc.core.channel.v1.MsgAcknowledgement', MsgAcknowledgement.encode({ packet: p, acknowledgement: ack, proofAcked, proofHeight: heightZero, signer: RELAYER }).finish()));
    expect(chain.smart(CONTRACT, { ack: { id: keccak256(p.data) } })).toMatchObject({ outcome: 'failed', refund: { sender: USER, paid: true } });
    expect(chain.bank.balance(USER, 'uatom')).toBe(1000n);

    // the hub delivers an ack message (of some message of ours) as a packet: recorded, ICS-04 result ack
    const incoming = qiaoAck(hubMessage('x', 9n), 1);
    const m = decodeMessage(incoming);
    const addressed = getBytes(encodeMessage({ ...m, srcChain: HUB_CHAIN, srcPort: HUB_PORT_BYTES, sender: HUB_PORT_BYTES, dstChain: `cosmos:${CHAIN_ID}` as ChainId, dstPort: OWN_PORT_BYTES, receiver: OWN_PORT_BYTES }));
    const r = ok(recv(chain, sm, hubPacket(addressed, 1n)));
    const wa = Object.fromEntries(r.events.find(([t]) => t === 'write_acknowledgement')?.[1] ?? []);
    expect(Buffer.from(wa.packet_ack_hex as string, 'hex').toString('utf8')).toBe('{"result":"AQ=="}');
    expect(chain.smart(CONTRACT, { receipt: { id: keccak256(addressed) } })).toMatchObject({ status: 'delivered' });
    // no ack was sent back: the lane nonce to the hub only counts the one send
    expect(chain.smart(CONTRACT, { lane_nonce: { dst_chain: HUB_CHAIN } })).toEqual({ next: '2' });
  });

  it('refuses to send before the channel is open and a send without funds to cover', () => {
    const chain = new TestChain(CHAIN_ID, createIbcModules({ ibcVersion: 'v9', chainId: CHAIN_ID, contractAddress: CONTRACT, receiverAddress: RECEIVER }));
    expect(send(chain, 'early').codespace).toBe('wasm');
    const { chain: open } = setup('v9');
    expect(send(open, 'rich', 0n, [{ denom: 'uatom', amount: '5000' }]).code).not.toBe(0);
    expect(open.bank.balance(USER, 'uatom')).toBe(1000n);
  });
});

describe('Qiao contract cancel marker', () => {
  const ACK = ['uint8', 'bytes32', 'bytes'];
  const cancel = (chain: TestChain, data: Uint8Array, who = USER): TxResult =>
    chain.exec('/cosmwasm.wasm.v1.MsgExecuteContract', MsgExecuteContract.encode({ sender: who, contract: CONTRACT, msg: toUtf8Bytes(JSON.stringify({ cancel: { message: hexlify(data) } })), funds: [] }).finish(), who);
  const nowOf = (chain: TestChain) => BigInt(Math.floor(chain.time.getTime() / 1000));
  const later = (chain: TestChain, seconds: number) => {
    chain.time = new Date(chain.time.getTime() + seconds * 1000);
  };
  const refused = (r: TxResult) => expect([r.codespace, r.code]).toEqual(['wasm', 5]);

  it('cancels a message past its timeout that was never received: receipt cancelled, the cancel ack sent to the hub, a later MsgRecvPacket refused', () => {
    const { chain, sm, ok } = setup('v9');
    const data = hubMessage('too late', 1n, nowOf(chain) + 60n);
    const id = keccak256(data);
    // not past its timeout yet, by the chain's own clock
    refused(cancel(chain, data));
    expect(chain.smart(CONTRACT, { receipt: { id } })).toEqual({ status: 'none' });
    later(chain, 60);
    // anyone may ask (a stranger, not the relayer): the contract judges by its clock and receipts
    const height = chain.height;
    const r = ok(cancel(chain, data, addr(9)));
    expect(chain.smart(CONTRACT, { receipt: { id } })).toEqual({ status: 'cancelled', height: height.toString(), tx_hash: `0x${'ab'.repeat(32)}` });
    // the cancel ack: an ordinary packet of this port to the hub, its data a Qiao ack message with outcome 3
    const p = sentPacket(r);
    expect([p.sourcePort, p.sourceChannel, p.destinationPort, p.destinationChannel]).toEqual([PORT, 'channel-0', 'qiao', HUB_CHANNEL]);
    const commit = QueryPacketCommitmentResponse.decode(chain.query('/ibc.core.channel.v1.Query/PacketCommitment', QueryPacketCommitmentRequest.encode({ portId: PORT, channelId: 'channel-0', sequence: p.sequence }).finish()));
    expect(hexlify(commit.commitment)).toBe(hexlify(commitPacket(p)));
    const ack = decodeMessage(p.data);
    expect(ack).toMatchObject({ srcChain: `cosmos:${CHAIN_ID}`, srcPort: OWN_PORT_BYTES, sender: OWN_PORT_BYTES, dstChain: HUB_CHAIN, dstPort: HUB_PORT_BYTES, receiver: HUB_PORT_BYTES, nonce: 1n, timeoutHeight: 0n, timeoutUnixSeconds: 0n });
    const [outcome, original, reason] = coder.decode(ACK, ack.payload);
    expect([Number(outcome), original, reason]).toEqual([3, id, '0x']);
    expect(chain.smart(CONTRACT, { lane_nonce: { dst_chain: HUB_CHAIN } })).toEqual({ next: '2' });
    // once is all: a second cancel is refused
    refused(cancel(chain, data));
    // MsgRecvPacket of the id is refused by the contract (its IBC timeout here is far: this is the contract's own check)
    const seq = chain.soloState().sequence;
    refused(recv(chain, sm, hubPacket(data, 1n)));
    sm.sequence = seq;
    expect(chain.soloState().sequence).toBe(seq);
    expect(chain.smart(CONTRACT, { received: { id } })).toEqual({});
    expect(chain.smart(CONTRACT, { receipt: { id } })).toMatchObject({ status: 'cancelled' });
  });

  it('refuses to cancel a delivered message, one for another chain or port, one without a timeout; a failed one may be cancelled', () => {
    const { chain, sm, ok } = setup('v8');
    const t = nowOf(chain) + 30n;
    const delivered = hubMessage('pay', 1n, t);
    const failed = hubMessage('fail: out of stock', 2n, t);
    ok(recv(chain, sm, hubPacket(delivered, 1n)));
    ok(recv(chain, sm, hubPacket(failed, 2n)));
    expect(chain.smart(CONTRACT, { receipt: { id: keccak256(failed) } })).toMatchObject({ status: 'failed' });
    later(chain, 120);
    refused(cancel(chain, delivered));
    expect(chain.smart(CONTRACT, { receipt: { id: keccak256(delivered) } })).toMatchObject({ status: 'delivered' });
    const m = decodeMessage(hubMessage('elsewhere', 3n, t));
    refused(cancel(chain, getBytes(encodeMessage({ ...m, dstChain: 'cosmos:other-1' as ChainId }))));
    refused(cancel(chain, getBytes(encodeMessage({ ...m, dstPort: hexlify(enc.encode(`${PORT}/channel-9`)) as Hex }))));
    refused(cancel(chain, hubMessage('no timeout', 4n, 0n)));
    refused(cancel(chain, toUtf8Bytes('not a message')));
    // a failed receipt was retryable only until the timeout: it may be cancelled (ack outcome 3)
    const r = ok(cancel(chain, failed));
    expect(chain.smart(CONTRACT, { receipt: { id: keccak256(failed) } })).toMatchObject({ status: 'cancelled' });
    expect(Number(coder.decode(ACK, decodeMessage(sentPacket(r).data).payload)[0])).toBe(3);
    // a height timeout counts too: the block height is past it
    const byHeight = getBytes(encodeMessage({ ...m, nonce: 5n, timeoutUnixSeconds: 0n, timeoutHeight: chain.height }));
    ok(cancel(chain, byHeight));
    const notYet = getBytes(encodeMessage({ ...m, nonce: 6n, timeoutUnixSeconds: 0n, timeoutHeight: chain.height + 100n }));
    refused(cancel(chain, notYet));
  });

  it('a paused contract (model fault) refuses MsgRecvPacket and says so in its config; cancel still works', () => {
    const faults = { refuseRecv: true };
    const { chain, sm, ok } = setup('v9', undefined, (m) => withContractFaults(m, CONTRACT, faults));
    expect(chain.smart(CONTRACT, { config: {} })).toMatchObject({ paused: true });
    const data = hubMessage('held back', 1n, nowOf(chain) + 10n);
    const seq = chain.soloState().sequence;
    refused(recv(chain, sm, hubPacket(data, 1n)));
    expect(chain.soloState().sequence).toBe(seq);
    later(chain, 10);
    ok(cancel(chain, data));
    faults.refuseRecv = false;
    expect(chain.smart(CONTRACT, { config: {} })).toEqual({ port_id: PORT, channel_id: 'channel-0', chain_id: CHAIN_ID });
    sm.sequence = seq;
    refused(recv(chain, sm, hubPacket(data, 1n)));
  });
});

describe('IBC model refusals', () => {
  it('refuses a wrong signature and a below-threshold multisig, leaving the sequence', () => {
    const { chain, sm } = setup('v9');
    const seq = chain.soloState().sequence;
    const stranger = SoloMachine.make(3, 2);
    const bad = recv(chain, sm, hubPacket(hubMessage('x', 1n), 1n), { keys: stranger.keys });
    expect(bad.code).not.toBe(0);
    sm.sequence = seq;
    const few = recv(chain, sm, hubPacket(hubMessage('x', 1n), 1n), { signers: [0] });
    expect(few.code).not.toBe(0);
    expect(few.log).toMatch(/signature size is incorrect|not enough signatures/);
    sm.sequence = seq;
    expect(chain.soloState().sequence).toBe(seq);
    // 2 of 3 (keys 0 and 2) is enough
    expect(recv(chain, sm, hubPacket(hubMessage('x', 1n), 1n), { signers: [0, 2] }).code).toBe(0);
  });

  it('refuses a single-key proof with a wrong signature with 06-solomachine code 5', () => {
    const single = SoloMachine.make(1, 1);
    const { chain, sm } = setup('v9', single);
    const r = recv(chain, sm, hubPacket(hubMessage('x', 1n), 1n), { keys: [secp256k1.utils.randomSecretKey()] });
    expect([r.codespace, r.code]).toEqual(['06-solomachine', 5]);
  });

  it('refuses a replayed sequence', () => {
    const { chain, sm } = setup('v8');
    const used = chain.soloState().sequence - 1n;
    const r = recv(chain, sm, hubPacket(hubMessage('x', 1n), 1n), { sequence: used });
    expect(r.code).not.toBe(0);
  });

  it('freezes the client on two signatures over different data at one sequence; frozen refuses proofs', () => {
    const { chain, sm } = setup('v9');
    const seq = chain.soloState().sequence;
    const path = MerklePath.encode({ keyPath: [enc.encode('ibc'), enc.encode('connections/x')] }).finish();
    const sd = (data: string, ts: bigint) => ({ signature: sm.sign(SignBytes.encode({ sequence: seq, timestamp: ts, diversifier: DIVERSIFIER, path, data: enc.encode(data) }).finish()), path, data: enc.encode(data), timestamp: ts });
    const mb = Misbehaviour.encode({ sequence: seq, signatureOne: sd('one', 5n), signatureTwo: sd('two', 6n) }).finish();
    // the same data twice is no misbehaviour
    const same = Misbehaviour.encode({ sequence: seq, signatureOne: sd('one', 5n), signatureTwo: sd('one', 5n) }).finish();
    const r0 = chain.exec('/ibc.core.client.v1.MsgUpdateClient', MsgUpdateClient.encode({ clientId: SOLO, clientMessage: { typeUrl: '/ibc.lightclients.solomachine.v3.Misbehaviour', value: same }, signer: RELAYER }).finish());
    expect(r0.code).not.toBe(0);
    expect(chain.soloState().isFrozen).toBe(false);
    const r = chain.exec('/ibc.core.client.v1.MsgSubmitMisbehaviour', MsgSubmitMisbehaviour.encode({ clientId: SOLO, misbehaviour: { typeUrl: '/ibc.lightclients.solomachine.v3.Misbehaviour', value: mb }, signer: RELAYER }).finish());
    expect(r.code).toBe(0);
    expect(r.events.map(([t]) => t)).toContain('client_misbehaviour');
    expect(chain.soloState().isFrozen).toBe(true);
    const after = recv(chain, sm, hubPacket(hubMessage('x', 1n), 1n));
    expect([after.codespace, after.code]).toEqual(['client', 29]);
  });

  it('rotates the key with a signed header; the old key no longer proves', () => {
    const { chain, sm } = setup('v9');
    const next = SoloMachine.make(3, 2);
    const newPk = next.publicKey();
    const data = HeaderData.encode({ newPubKey: newPk, newDiversifier: DIVERSIFIER }).finish();
    const sb = SignBytes.encode({ sequence: sm.sequence, timestamp: sm.time, diversifier: DIVERSIFIER, path: enc.encode('solomachine:header'), data }).finish();
    const header = Header.encode({ timestamp: sm.time, signature: sm.sign(sb), newPublicKey: newPk, newDiversifier: DIVERSIFIER }).finish();
    const r = chain.exec('/ibc.core.client.v1.MsgUpdateClient', MsgUpdateClient.encode({ clientId: SOLO, clientMessage: { typeUrl: '/ibc.lightclients.solomachine.v3.Header', value: header }, signer: RELAYER }).finish());
    expect(r.code).toBe(0);
    sm.sequence += 1n;
    const old = recv(chain, sm, hubPacket(hubMessage('x', 1n), 1n));
    expect(old.code).not.toBe(0);
    sm.sequence -= 1n;
    sm.keys = next.keys;
    expect(recv(chain, sm, hubPacket(hubMessage('x', 1n), 1n)).code).toBe(0);
  });

  it('the contract refuses a Qiao id it has seen (tx fails, nothing written)', () => {
    const { chain, sm } = setup('v9');
    const data = hubMessage('once', 1n);
    expect(recv(chain, sm, hubPacket(data, 1n)).code).toBe(0);
    const seq = chain.soloState().sequence;
    // same Qiao message at another IBC sequence
    const r = recv(chain, sm, hubPacket(data, 2n));
    expect([r.codespace, r.code]).toEqual(['wasm', 5]);
    expect(chain.soloState().sequence).toBe(seq);
    const receipt = QueryPacketReceiptResponse.decode(chain.query('/ibc.core.channel.v1.Query/PacketReceipt', QueryPacketReceiptRequest.encode({ portId: PORT, channelId: 'channel-0', sequence: 2n }).finish()));
    expect(receipt.received).toBe(false);
  });

  it('refuses a packet whose Qiao message is for another chain or port', () => {
    const { chain, sm } = setup('v9');
    const m = decodeMessage(hubMessage('x', 1n));
    const other = getBytes(encodeMessage({ ...m, dstChain: 'cosmos:other-1' as ChainId }));
    expect(recv(chain, sm, hubPacket(other, 1n)).codespace).toBe('wasm');
  });

  it('v8 ConnOpenAck refuses a hub client of another chain id', () => {
    const sm = SoloMachine.make(1, 1);
    const chain = new TestChain(CHAIN_ID, createIbcModules({ ibcVersion: 'v8', chainId: CHAIN_ID, contractAddress: CONTRACT, receiverAddress: RECEIVER, selfConsensusState: selfConsensus }));
    expect(chain.exec('/ibc.core.client.v1.MsgCreateClient', MsgCreateClient.encode({ clientState: sm.clientState(), consensusState: { typeUrl: '/ibc.lightclients.solomachine.v3.ConsensusState', value: consensusBytes(sm) }, signer: RELAYER }).finish()).code).toBe(0);
    expect(chain.exec('/ibc.core.connection.v1.MsgConnectionOpenInit', MsgConnectionOpenInit.encode({ clientId: SOLO, counterparty: { clientId: HUB_CLIENT, connectionId: '', prefix: { keyPrefix: enc.encode('ibc') } }, delayPeriod: 0n, signer: RELAYER }).finish()).code).toBe(0);
    const tm: Any = { typeUrl: '/ibc.lightclients.tendermint.v1.ClientState', value: TmClientState.encode(TmClientState.fromPartial({ chainId: 'other-1', trustLevel: { numerator: 1n, denominator: 3n }, unbondingPeriod: { seconds: 1_814_400n }, latestHeight: { revisionNumber: 1n, revisionHeight: 5n }, proofSpecs: [{}, {}] })).finish() };
    const r = chain.exec('/ibc.core.connection.v1.MsgConnectionOpenAck', MsgConnectionOpenAck.encode(MsgConnectionOpenAck.fromPartial({ connectionId: 'connection-0', counterpartyConnectionId: HUB_CONN, version: { identifier: '1', features: ['ORDER_UNORDERED'] }, clientState: tm, proofTry: sm.proof('connections/connection-0', new Uint8Array([1])), proofClient: new Uint8Array([1]), proofConsensus: new Uint8Array([1]), consensusHeight: { revisionNumber: 1n, revisionHeight: 5n }, signer: RELAYER })).finish());
    expect([r.codespace, r.code]).toEqual(['client', 3]);
  });
});
