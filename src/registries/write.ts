import type { Interface, JsonRpcProvider, TransactionReceipt } from 'ethers';
import type { Hex } from '../domain/hex.ts';
import { NotReadyError } from '../errors.ts';
import { decoderOf, simulateAs, type ErrorDecoder } from '../governance/checked-send.ts';
import type { GovernPath, GovernResult } from '../governance/govern.ts';
import type { TxSender } from '../evm/signer.ts';

/**
 * Sends calls to one contract so that a refusal always surfaces as a
 * ContractRevertError carrying the contract's custom error name and arguments,
 * before anything is signed: the call is estimated first from the same account.
 */
export class ContractWriter {
  private readonly decode: ErrorDecoder;

  constructor(
    readonly provider: JsonRpcProvider,
    readonly address: string,
    readonly iface: Interface,
  ) {
    this.decode = decoderOf([iface]);
  }

  encode(fn: string, args: readonly unknown[]): Hex {
    return this.iface.encodeFunctionData(fn, args) as Hex;
  }

  /**
   * Throws ContractRevertError when the call would revert with a custom error of
   * this contract. An eth_call, not estimateGas: `from` may be a council contract
   * that holds no ether.
   */
  async preflight(from: string, fn: string, data: Hex): Promise<void> {
    await simulateAs(this.provider, from, this.address, data, fn, this.decode);
  }

  async send(sender: TxSender, fn: string, args: readonly unknown[]): Promise<TransactionReceipt> {
    const data = this.encode(fn, args);
    await this.preflight(sender.address, fn, data);
    return sender.send({ to: this.address, data }, this.decode);
  }

  /**
   * A governance action: checked as if sent by the governor (a council proposal
   * that would revert on execution is refused before it is proposed), then handed
   * to the path.
   */
  async govern(path: GovernPath, fn: string, args: readonly unknown[], description: string): Promise<GovernResult> {
    const data = this.encode(fn, args);
    await this.preflight(path.governor, fn, data);
    return path.execute(this.address, data, description);
  }

  /** Decoded events of this contract in a receipt. */
  events(receipt: TransactionReceipt, name: string): { args: readonly unknown[] }[] {
    const out: { args: readonly unknown[] }[] = [];
    for (const log of receipt.logs) {
      if (log.address.toLowerCase() !== this.address.toLowerCase()) continue;
      const parsed = this.iface.parseLog(log);
      if (parsed?.name === name) out.push({ args: [...parsed.args] });
    }
    return out;
  }
}

/** Pins a named block tag to a number so several reads see one state. */
export async function pinBlock(provider: JsonRpcProvider, tag: bigint | number | string = 'latest'): Promise<{ number: bigint; timestamp: bigint }> {
  const block = await provider.getBlock(typeof tag === 'bigint' ? Number(tag) : tag);
  if (!block) throw new NotReadyError(`block ${String(tag)} does not exist yet`);
  return { number: BigInt(block.number), timestamp: BigInt(block.timestamp) };
}
