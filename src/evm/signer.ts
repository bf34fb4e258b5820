import {
  NonceManager,
  Wallet,
  getBytes,
  isError,
  makeError,
  type FeeData,
  type Interface,
  type JsonRpcProvider,
  type TransactionReceipt,
  type TransactionRequest,
  type TransactionResponse,
} from 'ethers';
import { ContractRevertError, QiaoError, RpcError } from '../errors.ts';
import { fastSignable, signRawTx, type RawTxFields } from './raw-tx.ts';

const NONCE_RETRIES = 4;
/** How long fee data read for one transaction serves the next ones (see `feeData`). */
const FEE_DATA_TTL_MS = 1000;
/** Gas limit = estimate + estimate / this (20% more) when the caller gives none. */
const GAS_MARGIN_DIVISOR = 5n;

/** A transaction handed to the node: signed here from `fields`, or by ethers (`response`, for what the fast path does not take). */
type Sent =
  | {
      hash: string;
      fields: RawTxFields;
      /** The head when it was handed over: a version is bumped only after `BUMP_AFTER_BLOCKS` blocks passed without it. */
      atBlock: number;
    }
  | { hash: string; fields: null; response: TransactionResponse };

/** Blocks a version must miss before it is bumped, whatever the wait: on 12 s chains a few seconds is nothing. */
const BUMP_AFTER_BLOCKS = 3;

/**
 * The next version of a stuck transaction: every fee up by at least 12.5%
 * (nodes replace a pending transaction only for a 10% higher tip and fee
 * cap), and the fee cap at least twice the latest base fee plus the tip, as a
 * fresh transaction would get. Null when `cap` leaves no room to go higher.
 */
export function bumpFees(f: RawTxFields, baseFee: bigint, cap?: bigint): RawTxFields | null {
  const up = (v: bigint) => v + v / 8n + 1n;
  if (f.type === 0) {
    const old = f.gasPrice ?? 0n;
    let gasPrice = up(old);
    if (gasPrice < baseFee * 2n) gasPrice = baseFee * 2n;
    if (cap !== undefined && gasPrice > cap) gasPrice = cap;
    return gasPrice > old ? { ...f, gasPrice } : null;
  }
  const oldFee = f.maxFeePerGas ?? 0n;
  const oldTip = f.maxPriorityFeePerGas ?? 0n;
  const maxPriorityFeePerGas = up(oldTip);
  let maxFeePerGas = up(oldFee);
  if (maxFeePerGas < baseFee * 2n + maxPriorityFeePerGas) maxFeePerGas = baseFee * 2n + maxPriorityFeePerGas;
  if (cap !== undefined && maxFeePerGas > cap) maxFeePerGas = cap;
  // A replacement must raise both by 10%: at the ceiling there is no valid next version.
  if (maxFeePerGas < oldFee + oldFee / 10n || maxPriorityFeePerGas > maxFeePerGas) return null;
  return { ...f, maxFeePerGas, maxPriorityFeePerGas };
}

/**
 * Sends transactions from one key in order: nonces are managed locally and
 * re-read from the chain after any failure (a restarted process or a dropped
 * transaction never leaves the counter wrong for long).
 */
export class TxSender {
  private readonly wallet: Wallet;
  private readonly nm: NonceManager;
  private readonly key: Uint8Array;
  private queue: Promise<unknown> = Promise.resolve();
  private fees: { at: number; value: Promise<FeeData> } | null = null;
  private readonly feeDataTtlMs: number;

  /** How long `send` waits for a receipt; a transaction not mined by then is treated as dropped (see `send`). */
  private readonly waitTimeoutMs: number;
  /** How long a transaction may stay unmined before it is sent again with higher fees (same nonce). */
  private readonly bumpAfterMs: number;
  /** The highest maxFeePerGas (or legacy gasPrice) a bump may offer, in wei; none: no ceiling. */
  private readonly maxFeeCap: bigint | undefined;
  /** Read the nonce from the chain for every send (see the constructor). */
  private readonly nonceFromChain: boolean;

  constructor(
    privateKey: string,
    readonly provider: JsonRpcProvider,
    {
      waitTimeoutMs = 120_000,
      bumpAfterMs = 6_000,
      maxFeeCap,
      nonceFromChain = false,
      feeDataTtlMs = FEE_DATA_TTL_MS,
    }: {
      waitTimeoutMs?: number;
      bumpAfterMs?: number;
      maxFeeCap?: bigint;
      /**
       * For a key that several processes send from one at a time (batch commits move from worker to worker): a
       * count kept here would be behind after another process's send, and every such send was first refused
       * (NONCE_EXPIRED) and then sent again, inside the one-at-a-time commit. One read per send instead.
       */
      nonceFromChain?: boolean;
      /** How long fee data serves later sends (see `feeData`). */
      feeDataTtlMs?: number;
    } = {},
  ) {
    this.feeDataTtlMs = feeDataTtlMs;
    this.nonceFromChain = nonceFromChain;
    this.waitTimeoutMs = waitTimeoutMs;
    this.bumpAfterMs = bumpAfterMs;
    this.maxFeeCap = maxFeeCap;
    this.wallet = new Wallet(privateKey, provider);
    this.key = getBytes(this.wallet.privateKey);
    this.nm = new NonceManager(this.wallet);
  }

  get address(): string {
    return this.wallet.address;
  }

  get signer(): NonceManager {
    return this.nm;
  }

  /**
   * Sends and waits for inclusion. Only the sending is serialised (nonces in
   * order); waiting is not, so many transactions of one key share a block.
   * Reverts surface as ContractRevertError with the decoded name when `decode` knows it.
   */
  async send(tx: TransactionRequest, decode?: (data: string) => { name: string; args: unknown[] } | null): Promise<TransactionReceipt> {
    const fail = (cause: unknown): never => {
      const data = revertData(cause);
      const decoded = data && decode ? decode(data) : null;
      if (decoded) throw new ContractRevertError(decoded.name, `transaction reverted: ${decoded.name}`, { cause, data: { args: decoded.args.map(String) } });
      throw new QiaoError('tx_failed', 'transaction failed', { cause });
    };
    const submit = async () => {
      if (this.nonceFromChain) this.nm.reset();
      for (let attempt = 1; ; attempt++) {
        try {
          return await this.sendOnce(tx);
        } catch (cause) {
          // The nonce may not have been used: read it from the chain again.
          this.nm.reset();
          // The node refused the nonce (another process sent from this key, or a
          // pending transaction holds it): this transaction was not accepted, so
          // sending it again with a fresh nonce cannot make it happen twice.
          if (attempt < NONCE_RETRIES && (isError(cause, 'NONCE_EXPIRED') || isError(cause, 'REPLACEMENT_UNDERPRICED'))) continue;
          return fail(cause);
        }
      }
    };
    const sending = this.queue.then(submit, submit);
    this.queue = sending.catch(() => undefined);
    const sent = await sending;
    let receipt: TransactionReceipt | null;
    try {
      receipt = await this.mined(sent);
    } catch (cause) {
      // Not mined in time: the node may have dropped it (seen under full blocks), and every later nonce of this key
      // would then queue behind the hole for good. Re-reading the nonce lets the next send fill the hole; if this one
      // was only slow, the next send is refused for its nonce and retried with a fresh one.
      this.nm.reset();
      return fail(cause);
    }
    if (!receipt) throw new QiaoError('tx_failed', `transaction ${sent.hash} has no receipt`);
    if (receipt.status !== 1) throw new ContractRevertError('unknown', `transaction ${receipt.hash} reverted`);
    return receipt;
  }

  /**
   * What NonceManager.sendTransaction does (local nonce, populate, sign,
   * eth_sendRawTransaction, a replaceable response), but signed and
   * serialised once on bytes: ethers re-serialises and then parses the signed
   * transaction back (recovering the sender) before broadcasting it.
   */
  private async sendOnce(tx: TransactionRequest): Promise<Sent> {
    const noncePromise = this.nm.getNonce('pending');
    this.nm.increment();
    // Given the nonce, ethers' populate does not read it again (one eth_getTransactionCount per send less; the
    // local count answers without a request once it has read the chain).
    const req: TransactionRequest = { ...tx, nonce: await noncePromise };
    if (req.type == null && req.gasPrice == null && req.maxFeePerGas == null && req.maxPriorityFeePerGas == null) {
      const fees = await this.feeData();
      if (fees.maxFeePerGas != null && fees.maxPriorityFeePerGas != null) {
        req.maxFeePerGas = fees.maxFeePerGas;
        req.maxPriorityFeePerGas = fees.maxPriorityFeePerGas;
      } else if (fees.gasPrice != null) {
        req.type = 0;
        req.gasPrice = fees.gasPrice;
      }
    }
    if (req.gasLimit == null) {
      // An estimate is exact for the block it simulates: a call that stores block.timestamp cost 23,306 gas when the
      // second had not changed (the store was a no-op) and ran out of gas when mined a second later (seen as a flaky
      // governance write). A fifth more, as wallets and relayers commonly add; unused gas is not paid.
      const estimate = await this.wallet.estimateGas(req);
      req.gasLimit = estimate + estimate / GAS_MARGIN_DIVISOR;
    }
    // Populated without the calldata, which populate only copies (hex to bytes and back: ~1.3 s of CPU in a 40 s
    // worker profile at saturation, for deliveries of ~100 KB); with nonce and gas limit given it reads no other field.
    const { data, ...rest } = req;
    const pop = { ...(await this.wallet.populateTransaction(rest)), ...(data == null ? {} : { data }) };
    const fields = fastSignable(pop as Parameters<typeof fastSignable>[0]);
    if (!fields) {
      const response = await this.wallet.sendTransaction(pop);
      return { hash: response.hash, fields: null, response };
    }
    return { ...(await this.broadcast(fields)), fields };
  }

  /**
   * The network's fees, read at most once per `feeDataTtlMs` (default 1 s): ethers' populate read them for every transaction
   * (eth_gasPrice, the latest block and eth_maxPriorityFeePerGas), inside the one-at-a-time part of sending, where a
   * delivery's 16 chunk transactions queue behind each other (with it read once a second, the delivery step's p50 at
   * saturation went from 3.5 to 2.7 s). The fee cap is twice the base fee plus the tip, room for six full blocks of
   * base fee rises; a transaction left behind anyway is bumped (`mined`).
   */
  private feeData(): Promise<FeeData> {
    const now = Date.now();
    if (!this.fees || now - this.fees.at >= this.feeDataTtlMs) {
      const value = this.provider.getFeeData();
      const entry = { at: now, value };
      // A failed read is not kept: the next send asks again.
      value.catch(() => {
        if (this.fees === entry) this.fees = null;
      });
      this.fees = entry;
    }
    return this.fees.value;
  }

  /**
   * Waits for one of the transaction's versions to be mined: their receipts are asked for once per new block. A
   * version unmined after `bumpAfterMs` (and `BUMP_AFTER_BLOCKS` blocks) is signed again with the same nonce and
   * higher fees (under full blocks the base fee rises 12.5% a block, and a fee taken at send time falls behind it:
   * every later transaction of the key then waits too). Whichever version is mined is the answer: each carries the
   * same call, so it ran exactly once. A nonce taken by a transaction that is none of ours fails the send.
   *
   * Not ethers' `wait`: for a replaceable transaction that asked the node for the account's nonce on every block, and
   * once the nonce had moved, for whole blocks with every transaction in them (each delivery ~100 KB of calldata),
   * formatted in the worker; with 16 deliveries in flight that was ~4% of a worker's CPU and work for the node too.
   */
  private async mined(sent: Sent): Promise<TransactionReceipt | null> {
    // Signed and sent by ethers (a shape the fast path does not take): ethers waits for it too.
    if (!sent.fields) return sent.response.wait(1, this.waitTimeoutMs);
    const deadline = Date.now() + this.waitTimeoutMs;
    let { fields, atBlock } = sent;
    const versions = [sent.hash];
    let seen = atBlock;
    let nextCheck = Date.now() + this.bumpAfterMs;
    for (;;) {
      const receipt = await this.receiptOfAny(versions);
      if (receipt) return receipt;
      const now = Date.now();
      if (now >= deadline) throw new QiaoError('tx_not_mined', `transaction ${versions[versions.length - 1]} (nonce ${fields.nonce}) was not mined within ${this.waitTimeoutMs} ms`);
      if (now >= nextCheck) {
        nextCheck = now + this.bumpAfterMs;
        // The nonce used, yet none of our versions mined: another transaction of this key took it.
        if ((await this.provider.getTransactionCount(this.wallet.address, 'latest')) > fields.nonce) {
          const late = await this.receiptOfAny(versions);
          if (late) return late;
          throw new QiaoError('tx_replaced', `nonce ${fields.nonce} of ${this.wallet.address} was used by a transaction that is none of ${versions.join(', ')}`);
        }
        const head = await this.head();
        const bumped = head.number - atBlock >= BUMP_AFTER_BLOCKS ? bumpFees(fields, head.baseFee, this.maxFeeCap) : null;
        if (bumped) {
          try {
            const b = await this.broadcast(bumped);
            versions.push(b.hash);
            atBlock = b.atBlock;
            fields = bumped;
          } catch (err) {
            // The node wants a larger step than ours: the next round bumps from the higher fees again.
            if (isError(err, 'REPLACEMENT_UNDERPRICED')) fields = bumped;
            // The nonce is used: a version already mined (the next receipt read finds it), or another transaction (the next check).
            else if (!isError(err, 'NONCE_EXPIRED')) throw err;
          }
        }
      }
      seen = await this.nextHead(seen, Math.min(deadline, nextCheck));
    }
  }

  /** The receipt of whichever version is mined (as ethers formats it), or null; a mined revert fails as ethers' `wait` failed it. */
  private async receiptOfAny(hashes: readonly string[]): Promise<TransactionReceipt | null> {
    for (const hash of hashes) {
      let raw: unknown;
      try {
        raw = await this.provider.send('eth_getTransactionReceipt', [hash]);
      } catch {
        // A failed read is asked again at the next block, as ethers' wait did.
        continue;
      }
      if (raw == null) continue;
      const receipt = this.provider._wrapTransactionReceipt(raw as Parameters<JsonRpcProvider['_wrapTransactionReceipt']>[0], await this.provider.getNetwork());
      if (receipt.hash.toLowerCase() !== hash.toLowerCase()) throw new RpcError(this.provider._getConnection().url, `asked for the receipt of ${hash}, answered one of ${receipt.hash}`);
      if (receipt.status === 0) {
        throw makeError('transaction execution reverted', 'CALL_EXCEPTION', {
          action: 'sendTransaction',
          data: null,
          reason: null,
          invocation: null,
          revert: null,
          transaction: { to: receipt.to, from: receipt.from, data: '' },
          receipt,
        });
      }
      return receipt;
    }
    return null;
  }

  /** The head, read at most once per polling interval however many sends wait on it. */
  private headNow: { at: number; value: Promise<number> } | null = null;
  private blockNumber(): Promise<number> {
    const now = Date.now();
    if (!this.headNow || now - this.headNow.at >= this.provider.pollingInterval) {
      const value = this.provider.send('eth_blockNumber', []).then((h: unknown) => Number(BigInt(h as string)));
      const entry = { at: now, value };
      value.catch(() => {
        if (this.headNow === entry) this.headNow = null;
      });
      this.headNow = entry;
    }
    return this.headNow.value;
  }

  /** Waits until the head moves from `seen`, or until `until` (epoch ms); returns the head then. */
  private async nextHead(seen: number, until: number): Promise<number> {
    for (;;) {
      const left = until - Date.now();
      if (left <= 0) return seen;
      await new Promise((r) => setTimeout(r, Math.min(this.provider.pollingInterval, left)));
      const n = await this.blockNumber().catch(() => seen);
      if (n !== seen) return n;
    }
  }

  /** The latest block's number and base fee (0 before London; the next block's may be 12.5% higher). */
  private async head(): Promise<{ number: number; baseFee: bigint }> {
    const b = (await this.provider.send('eth_getBlockByNumber', ['latest', false])) as { number?: string; baseFeePerGas?: string } | null;
    if (!b || typeof b.number !== 'string') throw new RpcError(this.provider._getConnection().url, 'eth_getBlockByNumber(latest) answered no block');
    return { number: Number(BigInt(b.number)), baseFee: b.baseFeePerGas ? BigInt(b.baseFeePerGas) : 0n };
  }

  private async broadcast(fields: RawTxFields): Promise<{ hash: string; atBlock: number }> {
    const signed = signRawTx(fields, this.key);
    const [blockNumber, hash] = await Promise.all([this.blockNumber(), this.provider.send('eth_sendRawTransaction', [signed.raw]) as Promise<unknown>]);
    if (typeof hash !== 'string' || hash.toLowerCase() !== signed.hash) {
      throw new RpcError(this.provider._getConnection().url, `eth_sendRawTransaction answered hash ${String(hash)}, the transaction's hash is ${signed.hash}`);
    }
    return { hash: signed.hash, atBlock: blockNumber };
  }
}

/** Digs the revert data out of an ethers error (estimateGas / call exceptions). */
export function revertData(err: unknown): string | null {
  let cur: unknown = err;
  for (let i = 0; i < 6 && cur; i++) {
    const e = cur as { data?: unknown; info?: { error?: { data?: unknown } }; error?: { data?: unknown }; cause?: unknown };
    for (const d of [e.data, e.info?.error?.data, e.error?.data]) if (typeof d === 'string' && d.startsWith('0x') && d.length >= 10) return d;
    cur = e.cause ?? e.error;
  }
  return null;
}

/** Decodes revert data into a contract's custom error (name and arguments), or null. */
export function customErrorDecoder(iface: Interface): (data: string) => { name: string; args: unknown[] } | null {
  return (data: string) => {
    try {
      const e = iface.parseError(data);
      return e ? { name: e.name, args: [...e.args] } : null;
    } catch {
      return null;
    }
  };
}
