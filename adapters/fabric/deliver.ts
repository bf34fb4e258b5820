import { outcomeOfReceipt, attestedBy, checkDeliveryItem, type CheckedItem } from '../../src/domain/delivery-check.ts';
import { getAddress } from 'ethers';
import type { Contract } from 'fabric-network';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { AckState, AdapterContext, CancelRequest, DeliveryBatch, DeliveryItem, DeliveryOutcome, MessageDeliverer, PortAttestorState, PortClock, PortTx, Receipt } from '../../src/domain/adapter.ts';
import type { AttestationDomain } from '../../src/domain/attestation.ts';
import type { ChainId } from '../../src/domain/caip.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { QiaoError, RpcError, ValidationError } from '../../src/errors.ts';
import type { PeerClient } from './gateway.ts';
import { decodeBlock, latestBlock, mapRange, rawBlock, txHashOf, TX_VALID, type PortScope } from './watch.ts';

/** The port refused a transaction (endorsement or commit) and no item of it has a receipt since: nothing was delivered. */
export class FabricTxError extends QiaoError {
  constructor(message: string, options: { cause?: unknown; data?: Record<string, unknown> } = {}) {
    super('fabric_tx_refused', message, options);
  }
}

export interface FabricDelivererOptions {
  chainId: ChainId;
  scope: PortScope;
  /** the port chaincode through the hub's Gateway */
  contract: Contract;
  /** the primary peer: where the deliverer finds the block of a transaction */
  peer: PeerClient;
  /** the attestation's EIP-712 domain: signatures are checked before a transaction is endorsed (absent: the port alone checks) */
  attestation: AttestationDomain | undefined;
  logger: Logger;
  /** deliver transactions per call at most (deferred items need one each) */
  maxRounds?: number;
  /** tries (growing pauses, ~20 s in all) for the primary peer to hold a transaction the Gateway saw committed */
  commitWaitAttempts?: number;
  /** the hub's cancel orders (absent: nothing to Fabric is ever cancelled, and late messages are still delivered) */
  cancelOrders?: AdapterContext['cancelOrders'];
}

/** Blocks looked at, newest first, for a transaction time when the latest blocks carry none. */
const CLOCK_LOOKBACK = 16n;

const ReceiptJson = z.object({ status: z.enum(['delivered', 'failed', 'cancelled']), reason: z.string().default('') });
const AckJson = z.object({ outcome: z.enum(['delivered', 'failed', 'cancelled']), reason: z.string().default(''), refunded: z.boolean().optional() });
const AttestorSetJson = z.object({ setId: z.union([z.string(), z.number()]).transform((v) => BigInt(v)), threshold: z.number().int().positive(), members: z.array(z.string()) });
const DeliverAnswer = z.array(z.object({ id: z.string(), status: z.enum(['delivered', 'failed', 'deferred', 'cancelled']) }));

/** What the port would refuse the whole transaction for, checked per item first: one bad item must not sink the batch. */
export function checkItem(root: Hex, item: DeliveryItem, scope: PortScope): CheckedItem | { ok: false; reason: 'bad_message' } {
  const c = checkDeliveryItem(root, item, scope);
  if (c.ok && c.message.version !== 1) return { ok: false, reason: 'bad_message' };
  return c;
}

export function countAttestors(batch: DeliveryBatch, domain: AttestationDomain, members: readonly string[]): number {
  return attestedBy(batch, domain, members).size;
}

interface TxAt {
  txHash: Hex;
  height: bigint;
}

/**
 * Where the port's receipts and acks were written. The port's world state keeps only {status, reason}; the
 * transaction is found from the port's events (MessageDelivered / MessageCancelled / Acknowledged) in the
 * blocks the primary peer flagged VALID, scanned once from block 0 and then incrementally.
 */
class PortEventIndex {
  private readonly receipts = new Map<string, TxAt>();
  private readonly acks = new Map<string, TxAt>();
  private scannedTo = -1n;
  private running: Promise<void> | null = null;

  constructor(
    private readonly peer: PeerClient,
    private readonly scope: PortScope,
  ) {}

  noteReceipt(id: string, at: TxAt): void {
    this.receipts.set(id.toLowerCase(), at);
  }

  async receiptTx(id: Hex): Promise<TxAt | undefined> {
    return this.receipts.get(id) ?? (await this.catchUp(), this.receipts.get(id));
  }

  async ackTx(id: Hex): Promise<TxAt | undefined> {
    return this.acks.get(id) ?? (await this.catchUp(), this.acks.get(id));
  }

  private catchUp(): Promise<void> {
    this.running ??= this.scan().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async scan(): Promise<void> {
    const { channel, chaincode } = this.scope;
    const latest = await latestBlock(this.peer, channel);
    while (this.scannedTo < latest) {
      const from = this.scannedTo + 1n;
      const to = from + 63n < latest ? from + 63n : latest;
      const blocks = await mapRange(from, to, async (n) => decodeBlock(await rawBlock(this.peer, channel, n), chaincode, this.peer.endpoint.url));
      for (const b of blocks) {
        for (const tx of b.txs) {
          if (tx.validationCode !== TX_VALID || tx.chaincode !== chaincode) continue;
          const at = { txHash: txHashOf(tx.txId), height: b.number };
          for (const ev of tx.events) {
            const p = (ev.payload ?? {}) as { id?: unknown; order?: unknown };
            const id = typeof p.id === 'string' ? p.id.toLowerCase() : null;
            if (!id) continue;
            if (ev.name === 'MessageDelivered') this.receipts.set(id, at);
            else if (ev.name === 'MessageCancelled') {
              this.receipts.set(id, at);
              if (typeof p.order === 'string') this.receipts.set(p.order.toLowerCase(), at);
            } else if (ev.name === 'Acknowledged') this.acks.set(id, at);
          }
        }
      }
      this.scannedTo = to;
    }
  }
}

/**
 * Delivery to a Fabric channel (hub -> Fabric): the port chaincode's `deliver` with the hub's client identity.
 * The port checks the attestation, inclusion and destination itself and refuses the whole transaction for one
 * bad item, so each item is checked here first and only good ones go; items the port defers (a second
 * delivery to one chaincode in a transaction) go again in a following transaction of the same call.
 * Timeouts: Fabric has no trustworthy clock, so the deliverer reads one (`clock`) and, past a message's timeout,
 * has the hub send an attested cancel order the port applies (`cancel`); with cancel orders, a message already
 * past its timeout is not delivered (as QiaoPort.sol refuses it) but left to them. See README.md.
 */
export function createFabricDeliverer(o: FabricDelivererOptions): MessageDeliverer {
  const { chainId, scope, contract, peer, logger, maxRounds = 64, commitWaitAttempts = 12 } = o;
  const index = new PortEventIndex(peer, scope);
  /** The highest time `clock` has shown: client timestamps need not grow block to block, this deliverer's clock does. */
  let clockTime = 0n;
  let lock: Promise<unknown> = Promise.resolve();
  const locked = <T>(f: () => Promise<T>): Promise<T> => {
    const run = lock.then(f, f);
    lock = run.catch(() => undefined);
    return run;
  };

  async function evaluate(fn: string, ...args: string[]): Promise<string> {
    try {
      return Buffer.from(await contract.evaluateTransaction(fn, ...args)).toString('utf8');
    } catch (cause) {
      throw new RpcError(peer.endpoint.url, `${scope.chaincode}.${fn} query failed on ${chainId}`, { cause });
    }
  }

  async function receiptState(id: Hex): Promise<z.infer<typeof ReceiptJson> | null> {
    const raw = await evaluate('receipt', id);
    if (raw === '') return null;
    const r = ReceiptJson.safeParse(JSON.parse(raw));
    if (!r.success) throw new RpcError(peer.endpoint.url, `receipt of ${id} on ${chainId} is not {status, reason}`);
    return r.data;
  }

  async function receiptOf(id: Hex): Promise<Receipt | null> {
    const lower = id.toLowerCase() as Hex;
    const r = await receiptState(lower);
    if (!r) return null;
    const at = await index.receiptTx(lower);
    if (!at) throw new RpcError(peer.endpoint.url, `receipt of ${lower} on ${chainId} has no transaction the primary peer flagged valid`);
    return { id: lower, status: r.status, txHash: at.txHash, height: at.height, ...(r.reason ? { reason: r.reason } : {}) };
  }


  /**
   * The block of a committed transaction (qscc GetBlockByTxID on the primary peer). The Gateway waited for a peer
   * of the hub's organisation, which need not be the primary: it may commit the block a little later.
   */
  async function heightOf(txId: string): Promise<bigint> {
    for (let attempt = 0; ; attempt++) {
      try {
        return decodeBlock(await peer.qscc(scope.channel, 'GetBlockByTxID', [scope.channel, txId]), scope.chaincode, peer.endpoint.url).number;
      } catch (err) {
        if (attempt >= commitWaitAttempts) throw err;
        await new Promise((r) => setTimeout(r, 250 * (attempt + 1)));
      }
    }
  }

  async function attestorSet(): Promise<z.infer<typeof AttestorSetJson>> {
    const r = AttestorSetJson.safeParse(JSON.parse(await evaluate('attestorSet')));
    if (!r.success) throw new RpcError(peer.endpoint.url, `attestorSet of ${chainId} is not {setId, threshold, members}`);
    return r.data;
  }

  /**
   * The channel's clock: the latest block's number, and the newest transaction timestamp in it (seconds). That time
   * is what the submitting clients claimed (the orderer does not check it) — the only clock Fabric has; the hub
   * decides timeouts on it. An idle channel's clock stands still.
   */
  async function clock(): Promise<PortClock> {
    const height = await latestBlock(peer, scope.channel);
    let time = 0n;
    for (let n = height; n >= 0n && n > height - CLOCK_LOOKBACK && time === 0n; n--) {
      const b = decodeBlock(await rawBlock(peer, scope.channel, n), scope.chaincode, peer.endpoint.url);
      for (const tx of b.txs) if (tx.time > time) time = tx.time;
    }
    if (time > clockTime) clockTime = time;
    return { height, time: clockTime };
  }

  const pastTimeout = (m: { timeoutHeight: bigint; timeoutUnixSeconds: bigint }, c: PortClock): boolean =>
    (m.timeoutHeight !== 0n && c.height >= m.timeoutHeight) || (m.timeoutUnixSeconds !== 0n && c.time >= m.timeoutUnixSeconds);

  /** One deliver transaction; its answer per id, and where it landed. */
  async function submitOnce(batch: DeliveryBatch, items: DeliveryItem[]): Promise<{ answer: z.infer<typeof DeliverAnswer>; at: TxAt }> {
    const body = JSON.stringify({
      setId: batch.setId.toString(),
      batchNo: batch.batchNo.toString(),
      root: batch.root,
      signatures: batch.signatures,
      items: items.map((it) => ({ encoded: it.encoded, proof: it.proof })),
    });
    const tx = contract.createTransaction('deliver');
    const out = Buffer.from(await tx.submit(body)).toString('utf8');
    const answer = DeliverAnswer.safeParse(JSON.parse(out));
    if (!answer.success) throw new RpcError(peer.endpoint.url, `deliver on ${chainId} answered ${out.slice(0, 200)}`);
    const txId = tx.getTransactionId();
    return { answer: answer.data, at: { txHash: txHashOf(txId), height: await heightOf(txId) } };
  }

  async function issueCancel(r: CancelRequest): Promise<PortTx> {
    const orders = o.cancelOrders!;
    if (o.attestation) {
      const set = await attestorSet();
      const signed = set.setId === r.setId ? countAttestors({ rootType: 1, ...r, items: [r.item] }, o.attestation, set.members) : 0;
      if (signed < set.threshold) throw new ValidationError('signatures', `batch ${r.batchNo} has ${signed} of ${set.threshold} signatures of the port's attestor set: no cancel order for ${r.item.id}`);
    }
    const c = checkItem(r.root, r.item, scope);
    if (!c.ok) throw new ValidationError('item', `${r.item.id} cannot be cancelled on ${chainId}: ${c.reason}`);
    if (c.message.timeoutHeight === 0n && c.message.timeoutUnixSeconds === 0n) throw new ValidationError('item', `${c.id} has no timeout`);
    const now = await clock();
    if (!pastTimeout(c.message, now)) throw new ValidationError('item', `${c.id} is not past its timeout on ${chainId} (block ${now.height}, time ${now.time})`);
    const seen = await receiptOf(c.id);
    if (seen && seen.status !== 'failed') throw new ValidationError('item', `${c.id} is ${seen.status} on ${chainId}`);
    const tx = await orders.issue({ dstChain: chainId, dstPort: scope.portBytes, original: r.item.encoded });
    logger.info({ id: c.id, order: tx.txHash, govChain: orders.govChain }, 'cancel order sent');
    return tx;
  }

  return {
    deliver: (batch: DeliveryBatch) =>
      locked(async () => {
        const results = new Map<string, DeliveryOutcome>();
        if (o.attestation) {
          const set = await attestorSet();
          const signed = set.setId === batch.setId ? countAttestors(batch, o.attestation, set.members) : 0;
          if (signed < set.threshold) {
            logger.warn({ batchNo: batch.batchNo.toString(), setId: batch.setId.toString(), signed, threshold: set.threshold }, 'refusing a batch the port\'s attestors did not sign');
            return batch.items.map((it) => ({ id: it.id, status: 'rejected' as const, reason: 'bad_attestation' }));
          }
        }
        let pending: DeliveryItem[] = [];
        // With cancel orders the hub times messages out, so one past its timeout is refused here as the EVM port
        // would; under the lock, after a cancel was issued no delivery of that message follows from this deliverer.
        const now = o.cancelOrders ? await clock() : null;
        for (const item of batch.items) {
          const c = checkItem(batch.root, item, scope);
          if (!c.ok) {
            logger.warn({ id: item.id, reason: c.reason }, 'refusing a delivery item');
            results.set(item.id.toLowerCase(), { id: item.id, status: 'rejected', reason: c.reason });
            continue;
          }
          if (results.has(c.id) || pending.some((p) => p.id.toLowerCase() === c.id)) continue;
          const seen = await receiptOf(c.id);
          if (seen) results.set(c.id, outcomeOfReceipt(seen));
          else if (now && pastTimeout(c.message, now)) {
            logger.info({ id: c.id, time: now.time.toString(), height: now.height.toString() }, 'not delivering a message past its timeout: it is left to a cancel order');
            results.set(c.id, { id: c.id, status: 'rejected', reason: 'timed_out' });
          } else pending.push({ ...item, id: c.id });
        }
        for (let round = 0; pending.length > 0; round++) {
          if (round >= maxRounds) throw new FabricTxError(`${pending.length} items still deferred on ${chainId} after ${maxRounds} transactions`, { data: { chain: chainId } });
          let r: Awaited<ReturnType<typeof submitOnce>>;
          try {
            r = await submitOnce(batch, pending);
          } catch (cause) {
            // Refused (another relayer delivered an id first, an MVCC conflict, a dead endorser): what has a receipt now
            // is answered from it; the rest go again only if something changed, else the refusal is the answer.
            const before = pending.length;
            const still: DeliveryItem[] = [];
            for (const it of pending) {
              const seen = await receiptOf(it.id);
              if (seen) results.set(it.id, outcomeOfReceipt(seen));
              else still.push(it);
            }
            pending = still;
            if (pending.length > 0 && pending.length === before) {
              throw new FabricTxError(`deliver of batch ${batch.batchNo} refused on ${chainId}`, { cause, data: { chain: chainId, ids: pending.map((p) => p.id) } });
            }
            continue;
          }
          const deferred: DeliveryItem[] = [];
          for (const it of pending) {
            const a = r.answer.find((x) => x.id.toLowerCase() === it.id);
            if (!a) throw new RpcError(peer.endpoint.url, `deliver on ${chainId} (tx ${r.at.txHash}) said nothing about ${it.id}`);
            if (a.status === 'deferred') {
              deferred.push(it);
              continue;
            }
            index.noteReceipt(it.id, r.at);
            if (a.status === 'delivered') results.set(it.id, { id: it.id, status: 'delivered', ...r.at });
            else if (a.status === 'failed') results.set(it.id, { id: it.id, status: 'failed', ...r.at, reason: (await receiptState(it.id))?.reason || 'failed' });
            else results.set(it.id, { id: it.id, status: 'rejected', reason: 'cancelled' });
          }
          logger.info({ tx: r.at.txHash, height: r.at.height.toString(), delivered: pending.length - deferred.length, deferred: deferred.length }, 'delivered to fabric');
          pending = deferred;
        }
        return batch.items.map((it) => results.get(it.id.toLowerCase())!);
      }),
    receiptOf,
    ...(o.cancelOrders
      ? {
          clock,
          /**
           * Past the timeout on `clock`, has the hub send a cancel order for r.item (its attestation and inclusion
           * checked first, as for a delivery). Returns the order's transaction on the governance chain: the port
           * writes the cancel marker once the order is relayed to it, and `receiptOf` then says `cancelled`.
           */
          cancel: (r: CancelRequest) => locked(() => issueCancel(r)),
        }
      : {}),
    async ackOf(id: Hex): Promise<AckState> {
      const lower = id.toLowerCase() as Hex;
      const raw = await evaluate('ack', lower);
      if (raw === '') return { outcome: 'none' };
      const a = AckJson.safeParse(JSON.parse(raw));
      if (!a.success) throw new RpcError(peer.endpoint.url, `ack of ${lower} on ${chainId} is not {outcome, reason}`);
      const at = await index.ackTx(lower);
      // Fabric has no native value: a refund is the sending chaincode's (qiaoRefund), not an AckState.refund.
      return { outcome: a.data.outcome, ...(at ? { txHash: at.txHash, height: at.height } : {}) };
    },
    async attestorState(): Promise<PortAttestorState> {
      const set = await attestorSet();
      // No hand-over on Fabric ports yet (no previous set); `now` is the latest block's first transaction time.
      const latest = await latestBlock(peer, scope.channel);
      const b = decodeBlock(await rawBlock(peer, scope.channel, latest), scope.chaincode, peer.endpoint.url);
      return { setId: set.setId, threshold: set.threshold, members: set.members.map((m) => getAddress(m)), previous: null, now: b.txs[0]?.time ?? 0n };
    },
  };
}
