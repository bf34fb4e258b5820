import { outcomeOfReceipt, checkDeliveryItem } from '../../src/domain/delivery-check.ts';
import { Keyring } from '@polkadot/keyring';
import type { KeyringPair } from '@polkadot/keyring/types';
import type { SubmittableExtrinsic } from '@polkadot/api/types';
import type { Call, DispatchError } from '@polkadot/types/interfaces';
import type { ISubmittableResult } from '@polkadot/types/types';
import { hexToU8a, u8aToHex } from '@polkadot/util';
import { AbiCoder } from 'ethers';
import { blake2AsHex, cryptoWaitReady } from '@polkadot/util-crypto';
import type { Logger } from 'pino';
import type { CancelRequest, DeliveryBatch, DeliveryItem, DeliveryOutcome, MessageDeliverer, PortClock, PortTx, Receipt } from '../../src/domain/adapter.ts';
import type { ChainId } from '../../src/domain/caip.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { decodeMessage, encodeMessage, type QiaoMessage } from '../../src/domain/message.ts';
import { ConfigError, ContractRevertError, NotReadyError, QiaoError, RpcError, UnrecoverableError } from '../../src/errors.ts';
import { SYSTEM_EVENTS_KEY } from '../../src/domain/substrate-storage.ts';
import { nestedRemarks } from './calls.ts';
import { cancelKey, cancelMarker, deliveryKey } from './cancel-marker.ts';
import { clockAt } from './clock.ts';
import { PortRecord, substrateRecordFile, type InflightKind } from './record.ts';
import { attestorPortAccount, ecdsaAccountOfKey, multisigAccount, sortAccounts } from './multisig.ts';
import { blockBytes, hashAt, rpc, type SubstrateEndpoint } from './rpc.ts';

/**
 * Delivery to a Substrate chain (DESIGN.md step 5, issue 8 "Inbound"). There is
 * no port contract: the port is the attestors' account (multisig.ts), and one
 * message is delivered by that account dispatching
 * `utility.batchAll([system.remarkWithEvent(id), contracts.call(receiver, 0, gas, None, payload)])`.
 * The chain checks only that the origin is the multisig, so what a port
 * contract checks is checked HERE before anything is signed: the item's Merkle
 * inclusion in the attested root, id = keccak256(encoding), dstChain = this
 * chain, dstPort = this account. The remark is the on-chain receipt
 * (`System.Remarked{sender: port, hash: blake2_256(id)}`); a reverted batch
 * leaves none, and is recognised by its failed dispatch whose batch remarks
 * the id. A multisig call can run again once executed, so nothing is sent for
 * an id that has a receipt, nor twice by this process.
 *
 * Timeouts (as QiaoPort.cancel): a message past its timeout on the chain's
 * clock (`Timestamp::Now` of the latest finalized block) that has no delivered
 * or cancelled receipt gets the port's cancel marker and its cancel ack in ONE
 * dispatch: `utility.batchAll([system.remarkWithEvent("qiao:cancel:" ++ id),
 * system.remarkWithEvent(ack(3))])` (cancel-marker.ts). Delivery and cancel of
 * one id run under one lock and one in-flight record, and each reads the
 * receipts first, so this process never does both.
 *
 * Embedded hub: the hub holds every attestor key and signs every approval
 * itself. Attestor processes submitting their own approvals are future work.
 */
export interface SubstrateDelivererOptions {
  chainId: ChainId;
  /** the registered port: the attestor set's account (lower-case hex) */
  port: Hex;
  endpoint: SubstrateEndpoint;
  /** secp256k1 private keys of the attestors the hub holds */
  attestorKeys: readonly Hex[] | undefined;
  logger: Logger;
  /** blocks below the head the first receipt scan starts at */
  lookbackBlocks?: number;
  /** where the port's record is kept (record.ts); without it the record lives in memory and is rebuilt from the lookback window */
  dataDir?: string | undefined;
}

/** The deliverer with the timeout side (clock, cancel markers) and its record to close. */
export interface SubstrateDeliverer extends MessageDeliverer {
  clock(): Promise<PortClock>;
  cancel(r: CancelRequest): Promise<PortTx>;
  close(): void;
}

/** A message's gasLimit, for a Substrate receiver: the ref_time budget in microseconds (10^6 weight units each). */
const REF_TIME_PER_GAS = 1_000_000n;
const PROOF_SIZE = 1_048_576n;
const U64_MAX = (1n << 64n) - 1n;
const INCLUSION_TIMEOUT_MS = 60_000;
/** Blocks after which an extrinsic whose fate is unknown can no longer be included (the api signs with a 64-block mortal era). */
const IN_FLIGHT_BLOCKS = 128;
/** As QiaoPort.sol: receipt codes in ack payloads, and the gas limit of ack messages. */
const RECEIPT_DELIVERED = 1;
const RECEIPT_FAILED = 2;
const RECEIPT_CANCELLED = 3;
const ACK_GAS_LIMIT = 200_000n;
const ACK_PAYLOAD = ['uint8', 'bytes32', 'bytes'];
const coder = AbiCoder.defaultAbiCoder();

type Signer = { pair: KeyringPair; account: Uint8Array };

interface Plan {
  /** the keys held (embedded hub: all members); as many as the threshold approve, the last executes */
  signers: Signer[];
  threshold: number;
  members: Uint8Array[];
}

export async function createSubstrateDeliverer(o: SubstrateDelivererOptions): Promise<SubstrateDeliverer> {
  const { chainId, port, endpoint: e, logger } = o;
  const api = e.api;
  const lookback = o.lookbackBlocks ?? 2400;
  const multisigPallet = api.registry.metadata.pallets.find((p) => p.name.eq('Multisig'))?.index.toNumber() ?? -1;
  let plan: Plan | ConfigError | null = null;
  if (o.attestorKeys?.length) {
    await cryptoWaitReady();
    const keyring = new Keyring({ type: 'ecdsa' });
    const signers = o.attestorKeys.map((k) => ({ pair: keyring.addFromSeed(hexToU8a(k)), account: ecdsaAccountOfKey(k) }));
    const members = sortAccounts(signers.map((s) => s.account));
    // The port names the set's threshold implicitly: the one whose account it is.
    let threshold = 0;
    for (let t = 1; t <= members.length && !threshold; t++) if (u8aToHex(attestorPortAccount(members, t)) === port) threshold = t;
    plan = threshold
      ? { signers, threshold, members }
      : new ConfigError(`chains.${chainId}.port`, `${port} is not the account of the attestor keys this hub holds (${members.length} keys)`);
  }

  // ---------------------------------------------------------------- receipts
  /** Remarks and failures of the port seen so far, lane nonces, acks sent, dispatches in flight (record.ts). */
  const record = o.dataDir ? PortRecord.open(substrateRecordFile(o.dataDir, chainId, port)) : PortRecord.memory();
  if (!record.durable) logger.warn('no data folder: the port record is rebuilt from the lookback window at each start');
  let started = false;
  let lastHead = 0;
  let lock: Promise<unknown> = Promise.resolve();
  const locked = <T>(f: () => Promise<T>): Promise<T> => {
    const run = lock.then(f, f);
    lock = run.catch(() => undefined);
    return run;
  };

  const errorText = (err: DispatchError): string => {
    if (err.isModule) {
      try {
        const m = api.registry.findMetaError(err.asModule);
        return `${m.section}.${m.name}`;
      } catch {
        // an error index this metadata does not know: the raw form below
      }
    }
    return err.toString();
  };

  /**
   * The message id a failed dispatch carried, if the call that failed ran as
   * this port: the signer itself, or the multisig of the signer and the listed
   * signatories (derived as the pallet does, so nobody else's failing call can
   * claim one of our ids). `asMulti` fails a call only through MultisigExecuted
   * (a failed approval ran nothing); a Multisig pallet error is the wrapper's,
   * not the call's.
   */
  function idOfFailedDelivery(extrinsicHex: Hex, via: 'executed' | 'extrinsic', error: DispatchError): Hex | null {
    let ext;
    try {
      ext = api.registry.createType('Extrinsic', extrinsicHex);
    } catch {
      return null;
    }
    const address = ext.signer.toU8a();
    if (!ext.isSigned || address.length !== 33 || address[0] !== 0) return null;
    const signer = address.slice(1);
    let call = ext.method as unknown as Call;
    let origin: Uint8Array = signer;
    const args = call.args as unknown as { toU8a(): Uint8Array; toNumber(): number }[];
    const othersOf = (a: unknown) => (a as { toU8a(): Uint8Array }[]).map((x) => x.toU8a());
    try {
      if (`${call.section}.${call.method}` === 'multisig.asMulti') {
        if (via !== 'executed') return null;
        origin = multisigAccount([signer, ...othersOf(call.args[1])], args[0]!.toNumber());
        call = call.args[3] as unknown as Call;
      } else if (`${call.section}.${call.method}` === 'multisig.asMultiThreshold1') {
        origin = multisigAccount([signer, ...othersOf(call.args[0])], 1);
        call = call.args[1] as unknown as Call;
      }
    } catch {
      return null;
    }
    if (u8aToHex(origin) !== port) return null;
    if (error.isModule && error.asModule.index.toNumber() === multisigPallet) return null;
    if (`${call.section}.${call.method}` !== 'utility.batchAll') return null;
    const first = (call.args[0] as unknown as Call[])[0];
    if (!first || `${first.section}.${first.method}` !== 'system.remarkWithEvent') return null;
    const remark = (first.args[0] as unknown as { toU8a(bare: boolean): Uint8Array }).toU8a(true);
    return remark.length === 32 ? (u8aToHex(remark) as Hex) : null;
  }

  /** The Qiao message of this port `sender` remarked with hash `remarkHash` in an extrinsic: its lane nonce, and what the port's own acks answer. */
  function notePortMessages(extrinsicHex: Hex, sender: string, remarkHash: string): void {
    let ext;
    try {
      ext = api.registry.createType('Extrinsic', extrinsicHex);
    } catch {
      return;
    }
    const address = ext.signer.toU8a();
    if (!ext.isSigned || address.length !== 33 || address[0] !== 0) return;
    for (const r of nestedRemarks(address.slice(1), ext.method as unknown as Call)) {
      if (r.origin !== sender || blake2AsHex(r.remark, 256) !== remarkHash || r.remark.length === 32) continue;
      try {
        const m = decodeMessage(r.remark, 'remark');
        if (m.srcChain !== chainId || m.srcPort.toLowerCase() !== port) continue;
        record.noteNonce(m.dstChain, m.nonce);
        if (sender !== port) continue;
        const [, original] = coder.decode(ACK_PAYLOAD, m.payload);
        record.noteAcked((original as string).toLowerCase() as Hex);
      } catch {
        // not a Qiao message of this port, or not an ack
      }
    }
  }

  async function scanBlock(n: number): Promise<void> {
    const hash = await hashAt(e, n);
    if (!hash) throw new RpcError(e.url, `block ${n} not found`);
    const raw = await rpc(e.url, 'state_getStorage', () => e.provider.send<string | null>('state_getStorage', [SYSTEM_EVENTS_KEY, hash], false));
    if (!raw) return;
    const records = api.registry.createType('Vec<FrameSystemEventRecord>', raw) as unknown as EventRecord[];
    let extrinsics: Hex[] | null = null;
    const extrinsicHash = async (i: number): Promise<{ hex: Hex; hash: Hex } | null> => {
      extrinsics ??= (await blockBytes(e, hash))?.extrinsics ?? [];
      const hex = extrinsics[i];
      return hex ? { hex, hash: blake2AsHex(hexToU8a(hex), 256) as Hex } : null;
    };
    for (const r of records) {
      if (!r.phase.isApplyExtrinsic) continue;
      const i = r.phase.asApplyExtrinsic.toNumber();
      const ev = r.event;
      const at = `${ev.section}.${ev.method}`;
      if (at === 'system.Remarked') {
        // Any sender's message naming this port counts for the lane nonces (senders pick them: remarks have no on-chain nonce).
        const sender = u8aToHex(ev.data[0]!.toU8a());
        const x = await extrinsicHash(i);
        const key = ev.data[1]!.toHex();
        if (x) notePortMessages(x.hex, sender, key);
        if (sender !== port) continue;
        // A delivery (blake2(id)), a cancel marker or an ack of the port: which one is asked by hash (receiptFor).
        record.noteRemark(key, { txHash: x?.hash ?? hash, height: BigInt(n) });
        continue;
      }
      let error: DispatchError | null = null;
      let via: 'executed' | 'extrinsic' = 'extrinsic';
      if (at === 'system.ExtrinsicFailed') error = ev.data[0] as unknown as DispatchError;
      else if (at === 'multisig.MultisigExecuted' && u8aToHex(ev.data[2]!.toU8a()) === port) {
        const result = ev.data[4] as unknown as { isErr: boolean; asErr: DispatchError };
        if (result.isErr) error = result.asErr;
        via = 'executed';
      }
      if (!error) continue;
      const x = await extrinsicHash(i);
      const id = x ? idOfFailedDelivery(x.hex, via, error) : null;
      if (!id) continue;
      // A delivery that went through later stands: receiptFor asks for the remark first.
      record.noteFailure(deliveryKey(id), { id, txHash: x!.hash, height: BigInt(n), reason: errorText(error) });
    }
  }

  /**
   * Scans the blocks up to the head not scanned yet. The first scan of a
   * process starts at the lookback window or where the record's last scan
   * ended, whichever is lower: the window cross-checks the record, and a
   * downtime longer than the window skips no block.
   */
  async function catchUp(): Promise<void> {
    const head = (await rpc(e.url, 'chain_getHeader', () => api.rpc.chain.getHeader())).number.toNumber();
    lastHead = head;
    if (!started) {
      const window = Math.max(0, head - lookback);
      record.scanned = record.scanned >= 0 ? Math.min(record.scanned, window) : window;
      started = true;
    }
    for (let n = record.scanned + 1; n <= head; n++) {
      await scanBlock(n);
      record.scannedTo(n);
    }
  }

  /** The port's receipt of `id`: its delivery remark, else its cancel marker, else a failed dispatch. */
  function receiptFor(id: Hex): Receipt | null {
    const delivered = record.remarked.get(deliveryKey(id));
    const cancelled = record.remarked.get(cancelKey(id));
    if (delivered) {
      // Never written by one process (one lock, receipts read first); two hubs dispatching at once could.
      if (cancelled) logger.error({ id }, 'the port account both delivered and cancelled a message');
      return { id, status: 'delivered', txHash: delivered.txHash, height: delivered.height };
    }
    if (cancelled) return { id, status: 'cancelled', txHash: cancelled.txHash, height: cancelled.height };
    const failed = record.failed.get(deliveryKey(id));
    return failed ? { id, status: 'failed', txHash: failed.txHash, height: failed.height, reason: failed.reason } : null;
  }

  // ---------------------------------------------------------------- dispatch
  function check(root: Hex, item: DeliveryItem): { ok: true; message: QiaoMessage } | { ok: false; reason: string } {
    // What a port contract would check: the chain checks none of it (the multisig's origin is all it sees).
    const c = checkDeliveryItem(root, item, { chainId, portBytes: port });
    if (!c.ok) return c;
    if (!/^0x[0-9a-fA-F]{64}$/.test(c.message.receiver)) return { ok: false, reason: 'bad_receiver' };
    return c;
  }

  /** As QiaoPort.sol: messages with a timeout are answered, except acks themselves (addressed to the port). */
  const answered = (m: QiaoMessage) => (m.timeoutHeight !== 0n || m.timeoutUnixSeconds !== 0n) && m.receiver.toLowerCase() !== port;

  /** The ack message this port sends for `id` (an ordinary Qiao message back to the source port; see relayer/stages/ack.ts). */
  function ackMessage(m: QiaoMessage, id: Hex, outcome: number, reason: string, nonce: bigint): Hex {
    return encodeMessage({
      version: 1,
      srcChain: chainId,
      srcPort: port,
      sender: port,
      dstChain: m.srcChain,
      dstPort: m.srcPort,
      receiver: m.srcPort,
      nonce,
      gasLimit: ACK_GAS_LIMIT,
      timeoutHeight: 0n,
      timeoutUnixSeconds: 0n,
      payload: coder.encode(ACK_PAYLOAD, [outcome, id, new TextEncoder().encode(reason)]) as Hex,
    });
  }

  /** The next ack nonce on a lane: past what the chain shows and what dispatches still in flight took. */
  function nextNonce(dstChain: string): bigint {
    let n = record.laneNonces.get(dstChain) ?? 0n;
    for (const f of record.inflight.values()) if (f.lane?.dst === dstChain && f.lane.nonce > n && !expired(f.head)) n = f.lane.nonce;
    return n + 1n;
  }

  /** A dispatch sent at `head` whose outcome was not seen can no longer be included. */
  const expired = (head: number) => lastHead > head + IN_FLIGHT_BLOCKS;

  /** Refuses to send anything for `id` while an earlier dispatch for it (delivery, ack, cancel) may still be included. */
  function guardInflight(id: Hex): void {
    const f = record.inflight.get(id);
    if (!f) return;
    if (!expired(f.head)) throw new NotReadyError(`the ${f.kind} of ${id} to ${chainId} is in flight (sent at block ${f.head})`, 5000);
    record.settled(id);
  }

  /** Runs `call` as the port with `id` recorded in flight first (and its ack nonce taken); settled once the outcome is known. */
  async function sendFor(p: Plan, id: Hex, kind: InflightKind, call: SubmittableExtrinsic<'promise'>, lane?: { dst: string; nonce: bigint }) {
    record.sending(id, { kind, head: lastHead, ...(lane ? { lane } : {}) });
    const r = await runAsPort(p, call, id);
    const height = await heightOf(r.blockHash);
    if (lane && !r.error) record.noteNonce(lane.dst, lane.nonce);
    record.settled(id);
    return { ...r, height };
  }

  /** The batch one delivery dispatches; an ack to this port has no receiver contract: its remark is the record. */
  function deliveryCall(id: Hex, m: QiaoMessage, ack: Hex | null): SubmittableExtrinsic<'promise'> {
    const refTime = m.gasLimit * REF_TIME_PER_GAS > U64_MAX ? U64_MAX : m.gasLimit * REF_TIME_PER_GAS;
    const calls = [api.tx.system!.remarkWithEvent!(id)];
    if (m.receiver.toLowerCase() !== port) calls.push(api.tx.contracts!.call!({ Id: m.receiver }, 0, { refTime, proofSize: PROOF_SIZE }, null, m.payload));
    if (ack) calls.push(api.tx.system!.remarkWithEvent!(ack));
    return api.tx.utility!.batchAll!(calls);
  }

  /** Signs, submits and waits for inclusion; the result's events are the block's for this extrinsic. */
  function submit(tx: SubmittableExtrinsic<'promise'>, signer: KeyringPair): Promise<{ result: ISubmittableResult; blockHash: Hex; txHash: Hex }> {
    return new Promise((resolve, reject) => {
      let unsub: (() => void) | undefined;
      let done = false;
      const timer = setTimeout(() => settle(() => reject(new RpcError(e.url, `extrinsic not included within ${INCLUSION_TIMEOUT_MS} ms`))), INCLUSION_TIMEOUT_MS);
      const settle = (f: () => void) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        unsub?.();
        f();
      };
      tx.signAndSend(signer, { nonce: -1 }, (r) => {
        if (r.status.isInBlock || r.status.isFinalized) {
          const blockHash = (r.status.isInBlock ? r.status.asInBlock : r.status.asFinalized).toHex() as Hex;
          settle(() => resolve({ result: r, blockHash, txHash: tx.hash.toHex() as Hex }));
        } else if (r.isError) settle(() => reject(new RpcError(e.url, `extrinsic ${r.status.type}`)));
      })
        .then((u) => {
          if (done) u();
          else unsub = u;
        })
        .catch((cause: unknown) => settle(() => reject(new RpcError(e.url, 'extrinsic was not accepted', { cause }))));
    });
  }

  async function heightOf(blockHash: Hex): Promise<bigint> {
    const h = await rpc(e.url, 'chain_getHeader', () => api.rpc.chain.getHeader(blockHash));
    return BigInt(h.number.toNumber());
  }

  /** Runs a call as the attestors' account: the last extrinsic, and the call's own dispatch error. */
  async function runAsPort(p: Plan, inner: SubmittableExtrinsic<'promise'>, id: Hex): Promise<{ blockHash: Hex; txHash: Hex; error: DispatchError | null }> {
    const others = (s: Signer) => p.members.filter((a) => u8aToHex(a) !== u8aToHex(s.account)).map((a) => u8aToHex(a));
    if (p.members.length === 1) {
      const last = await submit(inner, p.signers[0]!.pair);
      return { blockHash: last.blockHash, txHash: last.txHash, error: last.result.dispatchError ?? null };
    }
    if (p.threshold === 1) {
      const s = p.signers[0]!;
      const last = await submit(api.tx.multisig!.asMultiThreshold1!(others(s), inner), s.pair);
      return { blockHash: last.blockHash, txHash: last.txHash, error: last.result.dispatchError ?? null };
    }
    const maxWeight = { refTime: U64_MAX / 4n, proofSize: PROOF_SIZE * 4n };
    // An operation opened earlier (a crash or timeout between approvals) is resumed at its timepoint, not opened again.
    const callHash = blake2AsHex(inner.method.toU8a(), 256);
    const open = (await rpc(e.url, 'Multisig::Multisigs', () => api.query.multisig!.multisigs!(port, callHash))) as unknown as OpenMultisig;
    let timepoint: { height: number | bigint; index: number };
    let approvers: Signer[];
    let last: Awaited<ReturnType<typeof submit>> | null = null;
    if (open.isSome) {
      const m = open.unwrap();
      timepoint = { height: m.when.height.toNumber(), index: m.when.index.toNumber() };
      const approved = new Set(m.approvals.map((a) => u8aToHex(a.toU8a())));
      approvers = p.signers.filter((s) => !approved.has(u8aToHex(s.account))).slice(0, Math.max(1, p.threshold - approved.size));
    } else {
      const first = p.signers[0]!;
      last = await submit(api.tx.multisig!.asMulti!(p.threshold, others(first), null, inner, maxWeight), first.pair);
      if (last.result.dispatchError) throw new QiaoError('multisig_failed', `opening the multisig call failed: ${errorText(last.result.dispatchError)}`, { data: { chain: chainId, id } });
      timepoint = { height: await heightOf(last.blockHash), index: last.result.txIndex ?? 0 };
      approvers = p.signers.slice(1, p.threshold);
    }
    for (const s of approvers) {
      last = await submit(api.tx.multisig!.asMulti!(p.threshold, others(s), timepoint, inner, maxWeight), s.pair);
      if (last.result.dispatchError) throw new QiaoError('multisig_failed', `approving the multisig call failed: ${errorText(last.result.dispatchError)}`, { data: { chain: chainId, id } });
    }
    if (!last) throw new QiaoError('multisig_failed', 'no approval left to execute the call', { data: { chain: chainId, id } });
    const executed = last.result.events.find((x) => x.event.section === 'multisig' && x.event.method === 'MultisigExecuted');
    if (!executed) throw new QiaoError('multisig_failed', 'the last approval did not execute the call', { data: { chain: chainId, id } });
    const result = executed.event.data[4] as unknown as { isErr: boolean; asErr: DispatchError };
    return { blockHash: last.blockHash, txHash: last.txHash, error: result.isErr ? result.asErr : null };
  }

  /** Sends the ack of a failed delivery (the reverted batch took its ack with it). */
  async function sendFailedAck(p: Plan, id: Hex, m: QiaoMessage, reason: string): Promise<void> {
    guardInflight(id);
    const nonce = nextNonce(m.srcChain);
    const r = await sendFor(p, id, 'ack', api.tx.system!.remarkWithEvent!(ackMessage(m, id, RECEIPT_FAILED, reason, nonce)), { dst: m.srcChain, nonce });
    if (r.error) throw new QiaoError('ack_failed', `the error ack of ${id} failed: ${errorText(r.error)}`, { data: { chain: chainId, id } });
    record.noteAcked(id);
  }

  /** Runs one delivery through the attestors' account; the outcome the chain recorded. */
  async function dispatch(p: Plan, id: Hex, m: QiaoMessage): Promise<DeliveryOutcome> {
    const nonce = answered(m) ? nextNonce(m.srcChain) : null;
    const ack = nonce === null ? null : ackMessage(m, id, RECEIPT_DELIVERED, '', nonce);
    const r = await sendFor(p, id, 'deliver', deliveryCall(id, m, ack), nonce === null ? undefined : { dst: m.srcChain, nonce });
    if (r.error) {
      const reason = errorText(r.error);
      record.noteFailure(deliveryKey(id), { id, txHash: r.txHash, height: r.height, reason });
      if (answered(m)) await sendFailedAck(p, id, m, reason);
      return { id, status: 'failed', txHash: r.txHash, height: r.height, reason };
    }
    if (nonce !== null) record.noteAcked(id);
    record.noteRemark(deliveryKey(id), { txHash: r.txHash, height: r.height });
    return { id, status: 'delivered', txHash: r.txHash, height: r.height };
  }

  const pastTimeout = (m: QiaoMessage, c: PortClock) => (m.timeoutHeight !== 0n && c.height >= m.timeoutHeight) || (m.timeoutUnixSeconds !== 0n && c.time >= m.timeoutUnixSeconds);

  const clock = () => clockAt(e, 'finalized');

  /**
   * QiaoPort.cancel's checks, made here because the chain makes none: the item
   * is in the attested root and addressed to this port, has a timeout that has
   * passed on the chain's finalized clock, and has no delivered or cancelled
   * receipt (a failed one may be cancelled: it is never dispatched again, and
   * its sender is refunded). Refusals the timeout stage settles on come as
   * ContractRevertError with QiaoPort's names: `NotTimedOut`, `CannotCancel`.
   */
  async function cancelOne(p: Plan, r: CancelRequest): Promise<PortTx> {
    const c = check(r.root, r.item);
    if (!c.ok) throw new UnrecoverableError(`refusing to cancel ${r.item.id} on ${chainId}: ${c.reason}`, { data: { id: r.item.id, reason: c.reason } });
    const id = r.item.id.toLowerCase() as Hex;
    const m = c.message;
    if (m.timeoutHeight === 0n && m.timeoutUnixSeconds === 0n) throw new UnrecoverableError(`refusing to cancel ${id} on ${chainId}: it has no timeout`, { data: { id, reason: 'no_timeout' } });
    await catchUp();
    const seen = receiptFor(id);
    if (seen && seen.status !== 'failed') throw new ContractRevertError('CannotCancel', `${id} is already ${seen.status} on ${chainId}`, { data: { id, status: seen.status } });
    guardInflight(id);
    if (!pastTimeout(m, await clock())) throw new ContractRevertError('NotTimedOut', `${id} is not past its timeout on ${chainId} yet`, { data: { id } });
    const nonce = nextNonce(m.srcChain);
    const call = api.tx.utility!.batchAll!([api.tx.system!.remarkWithEvent!(u8aToHex(cancelMarker(id))), api.tx.system!.remarkWithEvent!(ackMessage(m, id, RECEIPT_CANCELLED, '', nonce))]);
    const out = await sendFor(p, id, 'cancel', call, { dst: m.srcChain, nonce });
    if (out.error) throw new QiaoError('cancel_failed', `the cancel marker of ${id} failed: ${errorText(out.error)}`, { data: { chain: chainId, id } });
    record.noteRemark(cancelKey(id), { txHash: out.txHash, height: out.height });
    record.noteAcked(id);
    logger.info({ id, txHash: out.txHash }, 'cancel marker written');
    return { txHash: out.txHash, height: out.height };
  }

  function planOrThrow(): Plan {
    if (!plan) throw new QiaoError('not_supported', `delivery to ${chainId} needs the attestor keys (none given to the adapter)`, { data: { chain: chainId } });
    if (plan instanceof ConfigError) throw plan;
    return plan;
  }


  return {
    deliver: (batch: DeliveryBatch) =>
      locked(async () => {
        const p = planOrThrow();
        await catchUp();
        // QiaoPort refuses a message past its timeout: judged on the latest block, which the dispatch lands after.
        let head: PortClock | null = null;
        const out: DeliveryOutcome[] = [];
        for (const item of batch.items) {
          const c = check(batch.root, item);
          if (!c.ok) {
            logger.warn({ id: item.id, reason: c.reason }, 'refusing a delivery item');
            out.push({ id: item.id, status: 'rejected', reason: c.reason });
            continue;
          }
          const id = item.id.toLowerCase() as Hex;
          const seen = receiptFor(id);
          if (seen) {
            // A crash between a reverted batch and its error ack: the ack goes now (never the delivery again).
            if (seen.status === 'failed' && answered(c.message) && !record.acked.has(id)) await sendFailedAck(p, id, c.message, seen.reason ?? 'failed');
            out.push(outcomeOfReceipt(seen));
            continue;
          }
          // Sent before with no outcome seen (a delivery or a cancel): it may still be included; sending again could run it twice.
          guardInflight(id);
          if (c.message.timeoutHeight !== 0n || c.message.timeoutUnixSeconds !== 0n) {
            head ??= await clockAt(e, 'head');
            if (pastTimeout(c.message, head)) {
              out.push({ id, status: 'rejected', reason: 'timed_out' });
              continue;
            }
          }
          out.push(await dispatch(p, id, c.message));
        }
        return out;
      }),
    receiptOf: (id: Hex) =>
      locked(async () => {
        await catchUp();
        return receiptFor(id.toLowerCase() as Hex);
      }),
    clock,
    cancel: (r: CancelRequest) => locked(() => cancelOne(planOrThrow(), r)),
    close: () => record.close(),
  };
}

interface OpenMultisig {
  isSome: boolean;
  unwrap(): { when: { height: { toNumber(): number }; index: { toNumber(): number } }; approvals: { toU8a(): Uint8Array }[] };
}

interface EventRecord {
  phase: { isApplyExtrinsic: boolean; asApplyExtrinsic: { toNumber(): number } };
  event: { section: string; method: string; data: { toU8a(): Uint8Array; toHex(): string }[] };
}
