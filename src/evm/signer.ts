import {
  NonceManager,
  Signature,
  Wallet,
  getBytes,
  isError,
  type Interface,
  type JsonRpcProvider,
  type TransactionReceipt,
  type TransactionRequest,
  type TransactionResponse,
} from 'ethers';
import { ContractRevertError, QiaoError, RpcError } from '../errors.ts';
import { fastSignable, signRawTx } from './raw-tx.ts';

const NONCE_RETRIES = 4;

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

  /** How long `send` waits for a receipt; a transaction not mined by then is treated as dropped (see `send`). */
  private readonly waitTimeoutMs: number;

  constructor(privateKey: string, readonly provider: JsonRpcProvider, { waitTimeoutMs = 120_000 }: { waitTimeoutMs?: number } = {}) {
    this.waitTimeoutMs = waitTimeoutMs;
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
      receipt = await sent.wait(1, this.waitTimeoutMs);
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
  private async sendOnce(tx: TransactionRequest): Promise<TransactionResponse> {
    const noncePromise = this.nm.getNonce('pending');
    this.nm.increment();
    const pop = await this.wallet.populateTransaction(tx);
    pop.nonce = await noncePromise;
    const fields = fastSignable(pop as Parameters<typeof fastSignable>[0]);
    if (!fields) return await this.wallet.sendTransaction(pop);
    const signed = signRawTx(fields, this.key);
    const [blockNumber, hash, network] = await Promise.all([
      this.provider.getBlockNumber(),
      this.provider.send('eth_sendRawTransaction', [signed.raw]) as Promise<unknown>,
      this.provider.getNetwork(),
    ]);
    if (typeof hash !== 'string' || hash.toLowerCase() !== signed.hash) {
      throw new RpcError(this.provider._getConnection().url, `eth_sendRawTransaction answered hash ${String(hash)}, the transaction's hash is ${signed.hash}`);
    }
    const response = this.provider._wrapTransactionResponse(
      {
        hash: signed.hash,
        type: fields.type,
        blockHash: null,
        blockNumber: null,
        from: this.wallet.address,
        nonce: fields.nonce,
        gasLimit: fields.gasLimit,
        gasPrice: fields.gasPrice ?? null,
        maxFeePerGas: fields.maxFeePerGas ?? null,
        maxPriorityFeePerGas: fields.maxPriorityFeePerGas ?? null,
        to: fields.to,
        value: fields.value,
        data: fields.data,
        chainId: fields.chainId,
        signature: Signature.from({ r: signed.r, s: signed.s, yParity: signed.yParity }),
      } as unknown as Parameters<JsonRpcProvider['_wrapTransactionResponse']>[0],
      network,
    );
    return response.replaceableTransaction(blockNumber);
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
