import { outcomeOfReceipt, attestedBy, checkDeliveryItem, type CheckedItem } from '../../src/domain/delivery-check.ts';
import type { CosmosLink } from './link.ts';
import type { EncodeObject } from '@cosmjs/proto-signing';
import type { DeliverTxResponse, SigningStargateClient, StdFee } from '@cosmjs/stargate';
import { sha256 } from '@noble/hashes/sha2.js';
import { LegacyAminoPubKey } from 'cosmjs-types/cosmos/crypto/multisig/keys';
import { Any } from 'cosmjs-types/google/protobuf/any';
import { MsgAcknowledgement, MsgRecvPacket, MsgTimeout } from 'cosmjs-types/ibc/core/channel/v1/tx';
import { ClientState } from 'cosmjs-types/ibc/lightclients/solomachine/v3/solomachine';
import { AbiCoder, computeAddress, getAddress } from 'ethers';
import type { Logger } from 'pino';
import type { AckState, CancelRequest, DeliveryBatch, DeliveryItem, DeliveryOutcome, MessageDeliverer, PortClock, PortTx, Receipt } from '../../src/domain/adapter.ts';
import type { AttestationDomain } from '../../src/domain/attestation.ts';
import type { ChainId } from '../../src/domain/caip.ts';
import type { Hex } from '../../src/domain/hex.ts';
import type { QiaoMessage } from '../../src/domain/message.ts';
import { ConfigError, ContractRevertError, NotReadyError, QiaoError, RpcError, UnrecoverableError } from '../../src/errors.ts';
import { revisionNumberOf, type CosmosPortChannel } from './chain-id.ts';
import { cancelExecute, ContractTxError, cosmosSigner, queryAck, queryConfig, queryReceipt, type AckAnswer } from './contract.ts';
import { packetAckPath, packetCommitmentPath, packetReceiptPath } from './prove.ts';
import { MSG_ACKNOWLEDGEMENT, MSG_RECV_PACKET, MSG_TIMEOUT } from './registry.ts';
import { rpc, storeQuery, toHex, type CometEndpoint } from './rpc.ts';
import { soloPublicKey } from './solo/keys.ts';
import { openSoloSequencer } from './solo/open.ts';
import type { SoloClientView, SoloMachineSequencer, SoloPath } from './solo/sequencer.ts';
import { qiaoItemsOf, type ChannelScope, type FoundItem } from './watch.ts';

export type { CosmosLink } from './link.ts';

export interface CosmosDelivererOptions {
  chainId: ChainId;
  cometChainId: string;
  scope: ChannelScope;
  contract: string;
  endpoint: CometEndpoint;
  link: CosmosLink;
  ibcVersion: 'v8' | 'v9';
  /** secp256k1 keys of the attestors the hub holds: the solo machine's multisig keys, in its key order */
  attestorKeys: readonly Hex[] | undefined;
  /** pays the fees (bech32 prefix `cosmos`) */
  relayerKey: Hex | undefined;
  /** the attestation's EIP-712 domain (governance chain id, MessageLog): signatures are checked before the solo machine signs */
  attestation: AttestationDomain | undefined;
  dataDir: string | undefined;
  logger: Logger;
  /** a fixed fee instead of simulated gas at `gasPrice` */
  fee?: StdFee;
}

const SOLO_CLIENT_STATE_URL = '/ibc.lightclients.solomachine.v3.ClientState';
const MULTISIG_URL = '/cosmos.crypto.multisig.LegacyAminoPubKey';
const U64_MAX = (1n << 64n) - 1n;
/** Simulated gas times this (cosmjs `auto`). */
const AUTO_GAS_MULTIPLIER = 1.5;
const ACK_PAYLOAD = ['uint8', 'bytes32', 'bytes'];
const coder = AbiCoder.defaultAbiCoder();

/** The on-chain solo machine client, read through the `ibc` store (latest state). */
export async function readSoloClient(e: CometEndpoint, clientId: string): Promise<ClientState> {
  const r = await storeQuery(e, 'ibc', new TextEncoder().encode(`clients/${clientId}/clientState`), undefined, false);
  if (r.value.length === 0) throw new RpcError(e.url, `no client ${clientId} on chain`);
  try {
    const any = Any.decode(r.value);
    if (any.typeUrl !== SOLO_CLIENT_STATE_URL) throw new Error(`client ${clientId} is a ${any.typeUrl}`);
    return ClientState.decode(any.value);
  } catch (cause) {
    throw new RpcError(e.url, `client ${clientId}: not a solo machine client state`, { cause });
  }
}

/** sha256(timeout_timestamp BE8 || revision_number BE8 || revision_height BE8 || sha256(data)): ibc-go's CommitPacket. */
export function packetCommitment(p: { timeoutTimestamp: bigint; revisionNumber: bigint; revisionHeight: bigint; data: Uint8Array }): Uint8Array {
  const buf = new Uint8Array(24 + 32);
  const dv = new DataView(buf.buffer);
  dv.setBigUint64(0, p.timeoutTimestamp);
  dv.setBigUint64(8, p.revisionNumber);
  dv.setBigUint64(16, p.revisionHeight);
  buf.set(sha256(p.data), 24);
  return sha256(buf);
}

/** (outcome, original id) of an ack message (sender = srcPort, receiver = dstPort, payload (uint8, bytes32, bytes)), as relayer/stages/ack.ts ackTarget. */
export function ackOfMessage(m: QiaoMessage): { outcome: 1 | 2 | 3; original: Hex } | null {
  if (m.sender.toLowerCase() !== m.srcPort.toLowerCase() || m.receiver.toLowerCase() !== m.dstPort.toLowerCase()) return null;
  try {
    const [outcome, original] = coder.decode(ACK_PAYLOAD, m.payload);
    const o = Number(outcome);
    return o === 1 || o === 2 || o === 3 ? { outcome: o, original: (original as string).toLowerCase() as Hex } : null;
  } catch {
    return null;
  }
}

/** The IBC packet the hub "sends" for a message (the solo machine is its source), at a packet sequence. */
export function recvPacketOf(m: QiaoMessage, encoded: Hex, sequence: bigint, link: CosmosLink, channel: CosmosPortChannel, cometChainId: string) {
  const timeoutHeight = m.timeoutHeight === 0n ? { revisionNumber: 0n, revisionHeight: 0n } : { revisionNumber: revisionNumberOf(cometChainId), revisionHeight: m.timeoutHeight };
  // IBC refuses a packet with no timeout at all: a message with none gets the farthest one.
  const timeoutTimestamp = m.timeoutUnixSeconds !== 0n ? m.timeoutUnixSeconds * 1_000_000_000n : m.timeoutHeight !== 0n ? 0n : U64_MAX;
  return {
    sequence,
    sourcePort: link.hubPort,
    sourceChannel: link.hubChannel,
    destinationPort: channel.portId,
    destinationChannel: channel.channelId,
    data: Uint8Array.from(Buffer.from(encoded.slice(2), 'hex')),
    timeoutHeight,
    timeoutTimestamp,
  };
}

/** Checks an attested batch the way a port contract would, before the solo machine (the attestors' word) signs for any of it. */
export function checkAttestation(batch: DeliveryBatch, domain: AttestationDomain, trusted: ReadonlySet<string>, threshold: number): { ok: true } | { ok: false; reason: string } {
  const n = attestedBy(batch, domain, trusted).size;
  return n >= threshold ? { ok: true } : { ok: false, reason: `attested by ${n} of the ${threshold} attestors needed` };
}

export function checkItem(root: Hex, item: DeliveryItem, chainId: ChainId, portBytes: Hex): CheckedItem {
  return checkDeliveryItem(root, item, { chainId, portBytes });
}

interface Live {
  sequencer: SoloMachineSequencer;
  closeSolo(): void;
  client: SigningStargateClient;
  address: string;
  threshold: number;
  trusted: Set<string>;
  domain: AttestationDomain;
}

/**
 * Delivery to a Cosmos chain (hub -> Cosmos). The hub is a solo machine client
 * on the chain, its key the attestors' k-of-n multisig; a message is delivered
 * as an IBC packet the solo machine "sent" (MsgRecvPacket with its signed
 * commitment), an ack message as MsgAcknowledgement (or MsgTimeout for a
 * cancel) of the packet this chain sent. The chain checks only the solo
 * machine's signature, so what a port contract checks is checked HERE before
 * anything is signed: k attestor signatures over the batch root, each item's
 * inclusion, destination chain and port. The contract checks the rest (its own
 * id records) and writes the receipt the outcome is read from. A message past
 * its timeout gets the contract's cancel marker (`cancel`, no solo proof: the
 * contract judges by its own clock and receipts).
 */
export function createCosmosDeliverer(o: CosmosDelivererOptions): MessageDeliverer & { close(): Promise<void> } {
  const { chainId, cometChainId, scope, contract, endpoint: e, link, logger } = o;
  const channel = scope.channel;
  let live: Live | null = null;
  let lock: Promise<unknown> = Promise.resolve();
  const locked = <T>(f: () => Promise<T>): Promise<T> => {
    const run = lock.then(f, f);
    lock = run.catch(() => undefined);
    return run;
  };

  async function current(): Promise<SoloClientView> {
    const cs = await readSoloClient(e, link.soloClientId);
    return { sequence: cs.sequence, timestamp: cs.consensusState?.timestamp ?? 0n, frozen: cs.isFrozen };
  }

  async function open(): Promise<Live> {
    if (live) return live;
    const keys = o.attestorKeys ?? [];
    if (keys.length === 0) throw new QiaoError('not_supported', `delivery to ${chainId} needs the attestor keys (the solo machine's; none given to the adapter)`, { data: { chain: chainId } });
    if (!o.relayerKey) throw new QiaoError('not_supported', `delivery to ${chainId} needs a relayer key to pay fees`, { data: { chain: chainId } });
    if (!o.dataDir) throw new QiaoError('not_supported', `delivery to ${chainId} needs a data folder for the solo machine's signature records`, { data: { chain: chainId } });
    if (!o.attestation) throw new QiaoError('not_supported', `delivery to ${chainId} needs the attestation domain to check signatures`, { data: { chain: chainId } });
    // The chain's client names the threshold: its key must be exactly these keys' k-of-n, else these keys cannot speak for it.
    const cs = await readSoloClient(e, link.soloClientId);
    const pk = cs.consensusState?.publicKey;
    if (!pk || pk.typeUrl !== MULTISIG_URL) throw new ConfigError(`chains.${chainId}.trustRoot`, `solo machine ${link.soloClientId} has no multisig public key`);
    const threshold = LegacyAminoPubKey.decode(pk.value).threshold;
    const mine = soloPublicKey([...keys], threshold);
    if (Buffer.compare(Buffer.from(Any.encode(mine).finish()), Buffer.from(Any.encode(pk).finish())) !== 0) {
      throw new ConfigError(`chains.${chainId}.trustRoot`, `solo machine ${link.soloClientId}'s key is not the ${threshold}-of-${keys.length} multisig of the attestor keys this hub holds`);
    }
    // The same journal and signature records as `qiao cosmos connect` (solo/open.ts): one writer history per client.
    const solo = openSoloSequencer({ dataDir: o.dataDir, cometChainId, clientId: link.soloClientId, attestorKeys: keys, threshold, ibcVersion: o.ibcVersion, logger });
    try {
      const { client, address } = await cosmosSigner(e.url, o.relayerKey);
      live = { sequencer: solo.sequencer, closeSolo: solo.close, client, address, threshold, trusted: new Set(keys.map((k) => getAddress(computeAddress(k)))), domain: o.attestation };
    } catch (err) {
      solo.close();
      throw err;
    }
    return live;
  }

  /**
   * Broadcasts signed solo proofs. Gas is simulated first (`auto`): a tx that fails on chain after its proofs are public
   * cannot be replaced by other data at those sequences, so one that would fail (out of gas, a refused msg) is better
   * stopped here, unbroadcast.
   */
  async function submit(l: Live, msgs: EncodeObject[]): Promise<DeliverTxResponse> {
    return rpc(e.url, 'broadcast', () => l.client.signAndBroadcast(l.address, msgs, o.fee ?? AUTO_GAS_MULTIPLIER));
  }

  async function clockOf(): Promise<PortClock> {
    const s = await rpc(e.url, 'status', () => e.client.status());
    return { height: BigInt(s.syncInfo.latestBlockHeight), time: BigInt(Math.floor(s.syncInfo.latestBlockTime.getTime() / 1000)) };
  }

  /** Past its timeout by the chain's latest block (the next block is later still: ibc-go would refuse it). */
  const expired = (m: QiaoMessage, c: PortClock) => (m.timeoutUnixSeconds !== 0n && c.time >= m.timeoutUnixSeconds) || (m.timeoutHeight !== 0n && c.height + 1n >= m.timeoutHeight);

  const txHashOf = (r: DeliverTxResponse) => `0x${r.transactionHash.toLowerCase()}` as Hex;

  function receiptFrom(id: Hex, r: Awaited<ReturnType<typeof queryReceipt>>): Receipt | null {
    if (r.status === 'none') return null;
    if (!r.tx_hash || r.height === undefined || r.height === null) throw new RpcError(e.url, `receipt of ${id} has no tx hash or height`);
    return { id, status: r.status, txHash: r.tx_hash, height: r.height, ...(r.reason ? { reason: r.reason } : {}) };
  }


  /** Ordinary messages: one tx of MsgRecvPacket, the packets at consecutive solo sequences. */
  async function deliverPackets(l: Live, items: { id: Hex; encoded: Hex; message: QiaoMessage }[]): Promise<DeliveryOutcome[]> {
    // The packet sequence is the solo sequence its proof is signed at: unique on the channel, never reused (a journaled
    // tx that could shift the sequence under this read was flushed before the receipts were read: see deliver).
    const base = (await current()).sequence;
    const packets = items.map((it, k) => recvPacketOf(it.message, it.encoded, base + BigInt(k), link, channel, cometChainId));
    const paths: SoloPath[] = packets.map((p) => ({
      path: packetCommitmentPath(link.hubPort, link.hubChannel, p.sequence),
      value: packetCommitment({ timeoutTimestamp: p.timeoutTimestamp, revisionNumber: p.timeoutHeight.revisionNumber, revisionHeight: p.timeoutHeight.revisionHeight, data: p.data }),
    }));
    const r = await l.sequencer.run({
      current,
      paths,
      build: (proofs) =>
        proofs.map((p, k) => ({
          typeUrl: MSG_RECV_PACKET,
          value: MsgRecvPacket.fromPartial({ packet: packets[k]!, proofCommitment: p.proof, proofHeight: p.proofHeight, signer: l.address }),
        })),
      submit: (msgs) => submit(l, msgs),
    });
    const out: DeliveryOutcome[] = [];
    for (const it of items) {
      const rec = receiptFrom(it.id, await queryReceipt(e, contract, it.id));
      if (rec) {
        out.push(outcomeOfReceipt(rec));
        continue;
      }
      if (r.code !== 0) throw new ContractTxError(txHashOf(r), r.code, r.rawLog ?? '');
      // A packet the chain took as already received (a sequence the re-sent journal tx used): not delivered, send again.
      throw new NotReadyError(`${it.id} has no receipt on ${chainId} after tx ${txHashOf(r)}`, 2000);
    }
    return out;
  }

  /** The packet this chain sent for `original` (its send_packet event, found through the contract's wasm.qiao_id). */
  async function originalPacket(original: Hex): Promise<FoundItem | null> {
    const res = await rpc(e.url, 'tx_search', () => e.client.txSearch({ query: `wasm.qiao_id='${original}'`, per_page: 100 }));
    for (const t of res.txs) {
      const items = qiaoItemsOf({ height: BigInt(t.height), index: t.index, hash: toHex(t.hash), code: t.result.code, events: t.result.events }, '0x' as Hex, scope);
      const hit = items.find((i) => i.kind === 'packet' && i.id === original);
      if (hit) return hit;
    }
    return null;
  }

  const ackDelivered = (id: Hex, a: AckAnswer, fallback?: DeliverTxResponse): DeliveryOutcome | null => {
    if (a.outcome === 'none') return null;
    const txHash = a.tx_hash ?? (fallback ? txHashOf(fallback) : null);
    const height = a.height ?? (fallback ? BigInt(fallback.height) : null);
    if (!txHash || height === null) throw new RpcError(e.url, `the ack state of ${id} has no tx hash or height`);
    return { id, status: 'delivered', txHash, height };
  };

  /** An ack message: MsgAcknowledgement of the original packet (outcome 1/2), or MsgTimeout (3: the destination's cancel marker). */
  async function deliverAck(l: Live, id: Hex, encoded: Hex, ack: { outcome: 1 | 2 | 3; original: Hex }): Promise<DeliveryOutcome> {
    const before = ackDelivered(id, await queryAck(e, contract, ack.original));
    if (before) return before;
    const orig = await originalPacket(ack.original);
    if (!orig) return { id, status: 'rejected', reason: 'original_not_found' };
    const p = orig.packet;
    if (p.destinationPort !== link.hubPort || p.destinationChannel !== link.hubChannel) return { id, status: 'rejected', reason: 'original_not_to_hub' };
    const packet = {
      sequence: BigInt(p.sequence),
      sourcePort: p.sourcePort,
      sourceChannel: p.sourceChannel,
      destinationPort: p.destinationPort,
      destinationChannel: p.destinationChannel,
      data: Uint8Array.from(Buffer.from(p.data.slice(2), 'hex')),
      timeoutHeight: { revisionNumber: BigInt(p.timeoutHeight.revisionNumber), revisionHeight: BigInt(p.timeoutHeight.revisionHeight) },
      timeoutTimestamp: BigInt(p.timeoutTimestamp),
    };
    const ackBytes = Uint8Array.from(Buffer.from(encoded.slice(2), 'hex'));
    const r =
      ack.outcome === 3
        ? await l.sequencer.run({
            current,
            header: true,
            // The destination's cancel marker says the timeout has passed on its clock: the header may say so too.
            minTimestamp: packet.timeoutTimestamp,
            paths: [{ path: packetReceiptPath(link.hubPort, link.hubChannel, packet.sequence), value: null }],
            build: (proofs, update) => [
              ...(update ? [{ ...update, value: { ...(update.value as object), signer: l.address } }] : []),
              { typeUrl: MSG_TIMEOUT, value: MsgTimeout.fromPartial({ packet, proofUnreceived: proofs[0]!.proof, proofHeight: proofs[0]!.proofHeight, nextSequenceRecv: packet.sequence, signer: l.address }) },
            ],
            submit: (msgs) => submit(l, msgs),
          })
        : await l.sequencer.run({
            current,
            paths: [{ path: packetAckPath(link.hubPort, link.hubChannel, packet.sequence), value: sha256(ackBytes) }],
            build: (proofs) => [
              { typeUrl: MSG_ACKNOWLEDGEMENT, value: MsgAcknowledgement.fromPartial({ packet, acknowledgement: ackBytes, proofAcked: proofs[0]!.proof, proofHeight: proofs[0]!.proofHeight, signer: l.address }) },
            ],
            submit: (msgs) => submit(l, msgs),
          });
    const after = ackDelivered(id, await queryAck(e, contract, ack.original), r.code === 0 ? r : undefined);
    if (after) return after;
    if (r.code !== 0) throw new ContractTxError(txHashOf(r), r.code, r.rawLog ?? '');
    throw new NotReadyError(`the ack ${id} of ${ack.original} left no ack state on ${chainId} (tx ${txHashOf(r)})`, 2000);
  }

  /**
   * The contract's cancel marker for one attested message past its timeout (QiaoPort.cancel's equivalent): checked as
   * a delivery is (attestation, inclusion, destination) before the relayer key asks for it. The contract's refusals
   * that the relayer settles on come as ContractRevertError with QiaoPort's names, read from the contract's state,
   * never from a log text: `CannotCancel` (received or already cancelled: the receipt says which), `NotTimedOut`.
   */
  async function cancelOne(r: CancelRequest): Promise<PortTx> {
    const l = await open();
    const att = checkAttestation({ rootType: 1, setId: r.setId, batchNo: r.batchNo, root: r.root, signatures: r.signatures, items: [r.item] }, l.domain, l.trusted, l.threshold);
    if (!att.ok) throw new UnrecoverableError(`refusing to cancel ${r.item.id} on ${chainId}: ${att.reason}`, { data: { id: r.item.id, reason: 'bad_attestation' } });
    const c = checkItem(r.root, r.item, chainId, scope.portBytes);
    if (!c.ok) throw new UnrecoverableError(`refusing to cancel ${r.item.id} on ${chainId}: ${c.reason}`, { data: { id: r.item.id, reason: c.reason } });
    if (c.message.timeoutHeight === 0n && c.message.timeoutUnixSeconds === 0n) {
      throw new UnrecoverableError(`refusing to cancel ${c.id} on ${chainId}: it has no timeout`, { data: { id: c.id, reason: 'no_timeout' } });
    }
    const settled = async (cause?: unknown): Promise<ContractRevertError | null> => {
      const rec = receiptFrom(c.id, await queryReceipt(e, contract, c.id));
      // A failed receipt may be cancelled (it was retryable only until its timeout).
      if (!rec || rec.status === 'failed') return null;
      return new ContractRevertError('CannotCancel', `${c.id} is already ${rec.status} on ${chainId}`, { ...(cause ? { cause } : {}), data: { id: c.id, status: rec.status } });
    };
    const before = await settled();
    if (before) throw before;
    // The cancel lands in a later block than the latest, whose clock is further on still.
    if (!expired(c.message, await clockOf())) throw new ContractRevertError('NotTimedOut', `${c.id} is not past its timeout on ${chainId} yet`, { data: { id: c.id } });
    let res: DeliverTxResponse;
    try {
      res = await submit(l, [cancelExecute(l.address, contract, r.item.encoded)]);
    } catch (err) {
      // Refused in simulation: received (or cancelled by someone else) between the read and now?
      throw (await settled(err)) ?? err;
    }
    if (res.code !== 0) throw (await settled()) ?? new ContractTxError(txHashOf(res), res.code, res.rawLog ?? '');
    logger.info({ id: c.id, txHash: txHashOf(res) }, 'cancel marker written');
    return { txHash: txHashOf(res), height: BigInt(res.height) };
  }

  return {
    deliver: (batch: DeliveryBatch) =>
      locked(async () => {
        const l = await open();
        const att = checkAttestation(batch, l.domain, l.trusted, l.threshold);
        if (!att.ok) {
          logger.warn({ batchNo: batch.batchNo.toString(), reason: att.reason }, 'refusing a batch the attestors did not sign');
          return batch.items.map((it) => ({ id: it.id, status: 'rejected' as const, reason: 'bad_attestation' }));
        }
        // A journaled tx that has not landed goes first, alone (an empty run re-sends it and signs nothing): the receipts
        // read below then include what it delivered, and the packet sequences picked later cannot be the ones it used
        // (ibc-go takes a packet at a used sequence as a no-op that does not move the solo sequence: the journal would
        // re-send it for ever).
        await l.sequencer.run({ current, paths: [], build: () => [], submit: async (msgs) => (msgs.length ? submit(l, msgs) : null) });
        const results = new Map<string, DeliveryOutcome>();
        // IBC refuses a packet past its timeout (the whole tx would fail): such an item is the timeout stage's, not ours.
        const now = await clockOf();
        const packets: { id: Hex; encoded: Hex; message: QiaoMessage }[] = [];
        const acks: { id: Hex; encoded: Hex; ack: { outcome: 1 | 2 | 3; original: Hex } }[] = [];
        for (const item of batch.items) {
          const c = checkItem(batch.root, item, chainId, scope.portBytes);
          if (!c.ok) {
            logger.warn({ id: item.id, reason: c.reason }, 'refusing a delivery item');
            results.set(item.id.toLowerCase(), { id: item.id, status: 'rejected', reason: c.reason });
            continue;
          }
          const ack = ackOfMessage(c.message);
          if (ack) {
            acks.push({ id: c.id, encoded: item.encoded, ack });
            continue;
          }
          const seen = receiptFrom(c.id, await queryReceipt(e, contract, c.id));
          if (seen) results.set(c.id, outcomeOfReceipt(seen));
          else if (expired(c.message, now)) results.set(c.id, { id: c.id, status: 'rejected', reason: 'timed_out' });
          else packets.push({ id: c.id, encoded: item.encoded.toLowerCase() as Hex, message: c.message });
        }
        // A paused contract refuses MsgRecvPacket: proofs signed for a tx that fails would sit in the journal, to be sent
        // again (and fail again, past the timeout) before anything else. Hold them back unsigned; acks still go.
        const paused = packets.length > 0 && (await queryConfig(e, contract)).paused === true;
        if (packets.length && !paused) for (const out of await deliverPackets(l, packets)) results.set(out.id, out);
        for (const a of acks) results.set(a.id, await deliverAck(l, a.id, a.encoded, a.ack));
        if (paused) throw new NotReadyError(`the Qiao contract on ${chainId} is paused: ${packets.length} message(s) held back`, 2000);
        return batch.items.map((it) => results.get(it.id.toLowerCase())!);
      }),
    cancel: (r: CancelRequest) => locked(() => cancelOne(r)),
    async receiptOf(id: Hex): Promise<Receipt | null> {
      const lower = id.toLowerCase() as Hex;
      return receiptFrom(lower, await queryReceipt(e, contract, lower));
    },
    async ackOf(id: Hex): Promise<AckState> {
      const a = await queryAck(e, contract, id.toLowerCase() as Hex);
      if (a.outcome === 'none') return { outcome: 'none' };
      return {
        outcome: a.outcome,
        ...(a.tx_hash ? { txHash: a.tx_hash } : {}),
        ...(a.height !== undefined && a.height !== null ? { height: a.height } : {}),
        // AckState counts one value: the escrow's coins summed (the contract escrows one denom per send in practice).
        ...(a.refund ? { refund: { sender: a.refund.sender, value: a.refund.amount.reduce((s, c) => s + BigInt(c.amount), 0n), paid: a.refund.paid } } : {}),
      };
    },
    clock: clockOf,
    async close() {
      if (!live) return;
      live.closeSolo();
      live.client.disconnect();
      live = null;
    },
  };
}
