import { Contract, Interface, getAddress, type JsonRpcProvider, type TransactionReceipt } from 'ethers';
import { ValidationError } from '../errors.ts';
import type { TxSender } from '../evm/signer.ts';
import type { CompiledContract } from '../governance/solc.ts';
import { validateAddress } from '../registries/validate.ts';
import { ContractWriter } from '../registries/write.ts';
import { toSettlementRejected } from './errors.ts';
import { ESCROW_LOCK_STATES, type EscrowLock } from './types.ts';
import { uetrToBytes16 } from './uetr.ts';

/** The ERC-20 calls the escrow flow needs (any token, not only DemoToken). */
export const ERC20_ABI = [
  'function approve(address spender, uint256 amount) returns (bool)',
  'function allowance(address owner, address spender) view returns (uint256)',
  'function balanceOf(address account) view returns (uint256)',
  'function decimals() view returns (uint8)',
  'function symbol() view returns (string)',
  'function transfer(address to, uint256 amount) returns (bool)',
  'function mint(address to, uint256 amount)',
  'error ERC20InsufficientBalance(address sender, uint256 balance, uint256 needed)',
  'error ERC20InsufficientAllowance(address spender, uint256 allowance, uint256 needed)',
  'error OwnableUnauthorizedAccount(address account)',
];

function positive(v: unknown, field: string): bigint {
  if (typeof v !== 'bigint' || v <= 0n) throw new ValidationError(field, 'must be a positive bigint');
  return v;
}

/**
 * QiaoEscrow on one member chain: lock reads, LP pool deposits and withdrawals, the
 * sender's leg-0 lock, and ERC-20 helpers (approve, balance, mint for demo tokens).
 */
export class EscrowClient {
  readonly contract: Contract;
  readonly iface: Interface;
  readonly writer: ContractWriter;
  readonly erc20: Interface = new Interface(ERC20_ABI);

  constructor(
    readonly provider: JsonRpcProvider,
    readonly address: string,
    artifact: CompiledContract,
  ) {
    this.iface = new Interface(artifact.abi as never);
    this.contract = new Contract(address, this.iface, provider);
    this.writer = new ContractWriter(provider, address, this.iface);
  }

  private async write(w: ContractWriter, sender: TxSender, fn: string, args: readonly unknown[]): Promise<TransactionReceipt> {
    try {
      return await w.send(sender, fn, args);
    } catch (e) {
      throw toSettlementRejected(e);
    }
  }

  private token(address: string): ContractWriter {
    return new ContractWriter(this.provider, validateAddress(address, 'token'), this.erc20);
  }

  // ------------------------------------------------------------------ reads

  async lockOf(uetr: string, leg: number): Promise<EscrowLock> {
    if (!Number.isInteger(leg) || leg < 0 || leg > 255) throw new ValidationError('leg', 'must be 0..255');
    const r = (await this.contract.getFunction('lockOf').staticCall(uetrToBytes16(uetr), leg)) as [string, bigint, string, string, bigint];
    return { token: getAddress(r[0]), amount: r[1], from: getAddress(r[2]), to: getAddress(r[3]), state: ESCROW_LOCK_STATES[Number(r[4])]! };
  }

  async poolOf(provider: string, token: string): Promise<bigint> {
    return (await this.contract.getFunction('poolOf').staticCall(validateAddress(provider, 'provider'), validateAddress(token, 'token'))) as bigint;
  }

  async balanceOf(token: string, account: string): Promise<bigint> {
    return (await new Contract(validateAddress(token, 'token'), this.erc20, this.provider).getFunction('balanceOf').staticCall(validateAddress(account, 'account'))) as bigint;
  }

  // ----------------------------------------------------------------- writes

  /** ERC-20 approve of this escrow as spender (before lock or deposit). */
  approve(sender: TxSender, token: string, amount: bigint): Promise<TransactionReceipt> {
    if (typeof amount !== 'bigint' || amount < 0n) throw new ValidationError('amount', 'must be a non-negative bigint');
    return this.write(this.token(token), sender, 'approve', [this.address, amount]);
  }

  /** DemoToken only: the owner mints. */
  mint(owner: TxSender, token: string, to: string, amount: bigint): Promise<TransactionReceipt> {
    return this.write(this.token(token), owner, 'mint', [validateAddress(to, 'to'), positive(amount, 'amount')]);
  }

  /** The sender's leg-0 lock: pulls `amount` (approve first) and sends LOCKED to SettlementHub. */
  lock(sender: TxSender, p: { uetr: string; token: string; amount: bigint; to: string }): Promise<TransactionReceipt> {
    return this.write(this.writer, sender, 'lock', [uetrToBytes16(p.uetr), validateAddress(p.token, 'token'), positive(p.amount, 'amount'), validateAddress(p.to, 'to')]);
  }

  /** Adds to the LP pool `pools[sender][token]` (approve first). */
  deposit(sender: TxSender, token: string, amount: bigint): Promise<TransactionReceipt> {
    return this.write(this.writer, sender, 'deposit', [validateAddress(token, 'token'), positive(amount, 'amount')]);
  }

  withdraw(sender: TxSender, token: string, amount: bigint): Promise<TransactionReceipt> {
    return this.write(this.writer, sender, 'withdraw', [validateAddress(token, 'token'), positive(amount, 'amount')]);
  }
}
