import { Contract, Interface, ZeroHash, getAddress, type JsonRpcProvider, type TransactionReceipt } from 'ethers';
import type { Hex } from '../domain/hex.ts';
import { ValidationError } from '../errors.ts';
import type { TxSender } from '../evm/signer.ts';
import type { GovernPath, GovernResult } from '../governance/govern.ts';
import { decoderOf, revertError } from '../governance/checked-send.ts';
import type { CompiledContract } from '../governance/solc.ts';
import { validateAddress, validateBytes32 } from '../registries/validate.ts';
import { ContractWriter } from '../registries/write.ts';
import { SettlementRejected, toSettlementRejected } from './errors.ts';
import { bytes16ToUetr, uetrToBytes16 } from './uetr.ts';
import {
  CORRIDOR_STATUSES,
  LEG_STATES,
  MAX_HOPS,
  PAYMENT_STATES,
  type Corridor,
  type CorridorView,
  type EscrowBinding,
  type LegView,
  type OpenPaymentInput,
  type PaymentView,
} from './types.ts';

export type BlockTag = bigint | number | 'latest';

type CorridorTuple = {
  srcChain: string;
  srcAsset: string;
  dstChain: string;
  dstAsset: string;
  provider: string;
  feeBps: bigint;
  fixedFee: bigint;
  spreadBps: bigint;
  fxSource: string;
  minAmount: bigint;
  maxAmount: bigint;
  bucketCapacity: bigint;
  bucketRefillPerSecond: bigint;
  entityCapacity: bigint;
  entityRefillPerSecond: bigint;
  senderSchemas: string[];
  receiverSchemas: string[];
  expectedSeconds: bigint;
};
type LegTuple = { chain: string; asset: string; token: string; amount: bigint; from: string; to: string; state: bigint };

const U64_MAX = (1n << 64n) - 1n;

/**
 * Preflights (a refusal surfaces as the contract's named error), then sends with a gas limit a
 * quarter above the estimate. Why: open() writes the limit buckets' timestamps, and an estimate
 * made in a block with another timestamp than the one the transaction lands in can be a few
 * thousand gas short (an SSTORE that was a no-op in the estimate is not one on chain).
 */
export async function sendWithMargin(writer: ContractWriter, sender: TxSender, fn: string, args: readonly unknown[]): Promise<TransactionReceipt> {
  const data = writer.encode(fn, args);
  await writer.preflight(sender.address, fn, data);
  const decode = decoderOf([writer.iface]);
  let estimate: bigint;
  try {
    estimate = await writer.provider.estimateGas({ from: sender.address, to: writer.address, data });
  } catch (cause) {
    // The state moved between the preflight and the estimate: still a named refusal.
    throw revertError(fn, decode, cause) ?? cause;
  }
  return sender.send({ to: writer.address, data, gasLimit: estimate + estimate / 4n }, decode);
}

function corridorId(id: unknown, field = 'corridorId'): number {
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 1) throw new ValidationError(field, 'must be a corridor id (an integer from 1)');
  return id;
}

function toCorridor(t: CorridorTuple): Corridor {
  return {
    srcChain: t.srcChain,
    srcAsset: t.srcAsset,
    dstChain: t.dstChain,
    dstAsset: t.dstAsset,
    provider: getAddress(t.provider),
    feeBps: Number(t.feeBps),
    fixedFee: t.fixedFee,
    spreadBps: Number(t.spreadBps),
    fxSource: t.fxSource,
    minAmount: t.minAmount,
    maxAmount: t.maxAmount,
    bucketCapacity: t.bucketCapacity,
    bucketRefillPerSecond: t.bucketRefillPerSecond,
    entityCapacity: t.entityCapacity,
    entityRefillPerSecond: t.entityRefillPerSecond,
    senderSchemas: t.senderSchemas.map((s) => s.toLowerCase() as Hex),
    receiverSchemas: t.receiverSchemas.map((s) => s.toLowerCase() as Hex),
    expectedSeconds: t.expectedSeconds,
  };
}

/** The tuple SettlementHub.proposeCorridor takes, in the struct's field order. */
export function corridorTuple(c: Corridor): unknown[] {
  return [
    c.srcChain,
    c.srcAsset,
    c.dstChain,
    c.dstAsset,
    c.provider,
    c.feeBps,
    c.fixedFee,
    c.spreadBps,
    c.fxSource,
    c.minAmount,
    c.maxAmount,
    c.bucketCapacity,
    c.bucketRefillPerSecond,
    c.entityCapacity,
    c.entityRefillPerSecond,
    c.senderSchemas,
    c.receiverSchemas,
    c.expectedSeconds,
  ];
}

/**
 * SettlementHub on the governance chain: typed reads, provider and operator writes through a
 * TxSender, governance through a GovernPath. Every refusal surfaces as SettlementRejected
 * (code = snake_case of the contract's custom error), checked before anything is signed.
 */
export class SettlementHubClient {
  readonly contract: Contract;
  readonly iface: Interface;
  readonly writer: ContractWriter;

  constructor(
    readonly provider: JsonRpcProvider,
    readonly address: string,
    artifact: CompiledContract,
  ) {
    this.iface = new Interface(artifact.abi as never);
    this.contract = new Contract(address, this.iface, provider);
    this.writer = new ContractWriter(provider, address, this.iface);
  }

  private read<T>(fn: string, args: unknown[], blockTag: BlockTag = 'latest'): Promise<T> {
    return this.contract.getFunction(fn).staticCall(...args, { blockTag: typeof blockTag === 'bigint' ? Number(blockTag) : blockTag }) as Promise<T>;
  }

  private async write(sender: TxSender, fn: string, args: readonly unknown[]): Promise<TransactionReceipt> {
    try {
      return await sendWithMargin(this.writer, sender, fn, args);
    } catch (e) {
      throw toSettlementRejected(e);
    }
  }

  private async govern(gov: GovernPath, fn: string, args: readonly unknown[], description: string): Promise<GovernResult> {
    try {
      return await this.writer.govern(gov, fn, args, description);
    } catch (e) {
      throw toSettlementRejected(e);
    }
  }

  // ------------------------------------------------------------------ reads

  async corridorCount(blockTag?: BlockTag): Promise<number> {
    return Number(await this.read<bigint>('corridorCount', [], blockTag));
  }

  /** Null for an id that was never proposed. */
  async corridor(id: number, blockTag?: BlockTag): Promise<CorridorView | null> {
    corridorId(id);
    if (id > (await this.corridorCount(blockTag))) return null;
    const r = await this.read<[CorridorTuple, bigint, bigint, bigint]>('corridor', [id], blockTag);
    return { id, corridor: toCorridor(r[0]), status: CORRIDOR_STATUSES[Number(r[1])]!, rate: r[2], rateUpdatedAt: r[3] };
  }

  /** Every corridor, read at one block. */
  async corridors(blockTag: BlockTag = 'latest'): Promise<CorridorView[]> {
    const tag = blockTag === 'latest' ? await this.provider.getBlockNumber() : blockTag;
    const n = await this.corridorCount(tag);
    const out: CorridorView[] = [];
    for (let i = 1; i <= n; i++) out.push((await this.corridor(i, tag))!);
    return out;
  }

  /** min(corridor bucket, entity bucket) at the latest block's timestamp. */
  async headroom(id: number, entity: Hex, blockTag?: BlockTag): Promise<bigint> {
    return this.read<bigint>('headroom', [corridorId(id), validateBytes32(entity, 'entity')], blockTag);
  }

  /** The entity a sender's limits are counted under (the contract's rule, read from the chain). */
  async entityOf(sender: string, senderAttestation: Hex = ZeroHash as Hex, blockTag?: BlockTag): Promise<Hex> {
    return ((await this.read<string>('entityOf', [validateAddress(sender, 'sender'), validateBytes32(senderAttestation, 'senderAttestation')], blockTag)) as string).toLowerCase() as Hex;
  }

  /** Null for a uetr never opened. */
  async payment(uetr: string, blockTag?: BlockTag): Promise<PaymentView | null> {
    const b = uetrToBytes16(uetr);
    const r = await this.read<[bigint, string, string, bigint, bigint, bigint, LegTuple[]]>('payment', [b], blockTag);
    if (Number(r[0]) === 0) return null;
    const ids = await this.read<bigint[]>('paymentCorridors', [b], blockTag);
    const legs: LegView[] = r[6].map((l, index) => ({
      index,
      chain: l.chain,
      asset: l.asset,
      token: getAddress(l.token),
      amount: l.amount,
      from: getAddress(l.from),
      to: getAddress(l.to),
      state: LEG_STATES[Number(l.state)]!,
    }));
    return {
      uetr,
      state: PAYMENT_STATES[Number(r[0])]!,
      sender: getAddress(r[1]),
      receiver: getAddress(r[2]),
      deadline: r[3],
      openedAt: r[4],
      decidedAt: r[5],
      legs,
      corridorIds: ids.map(Number),
    };
  }

  /** UETRs still open (the keeper aborts those past their deadline). */
  async openUetrs(blockTag: BlockTag = 'latest'): Promise<string[]> {
    const tag = blockTag === 'latest' ? await this.provider.getBlockNumber() : blockTag;
    const n = Number(await this.read<bigint>('openCount', [], tag));
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(bytes16ToUetr(await this.read<string>('openAt', [i], tag)));
    return out;
  }

  async maxRateAge(): Promise<bigint> {
    return this.read<bigint>('maxRateAge', []);
  }

  async isOperator(account: string): Promise<boolean> {
    return this.read<boolean>('operators', [validateAddress(account, 'account')]);
  }

  /** The escrow and port SettlementHub accepts LOCKED from on `chain`; null when none is set. */
  async escrowOf(chain: string): Promise<EscrowBinding | null> {
    const [escrow, port] = await this.read<[string, string]>('escrowOf', [chain]);
    if (escrow === '0x') return null;
    return { chain, escrow: getAddress(escrow), port: getAddress(port) };
  }

  /** The governance chain's port and CAIP-2 name as set by setPort. */
  async port(): Promise<{ port: string; chainName: string }> {
    const [port, chainName] = await Promise.all([this.read<string>('port', []), this.read<string>('chainName', [])]);
    return { port: getAddress(port), chainName };
  }

  // ---------------------------------------------------------- provider writes

  /** msg.sender must be corridor.provider. Returns the new corridor id. */
  async proposeCorridor(sender: TxSender, corridor: Corridor): Promise<{ id: number; receipt: TransactionReceipt }> {
    if (getAddress(corridor.provider) !== getAddress(sender.address)) throw new ValidationError('provider', 'the corridor must be proposed by its provider');
    const receipt = await this.write(sender, 'proposeCorridor', [corridorTuple(corridor)]);
    const ev = this.writer.events(receipt, 'CorridorProposed')[0];
    if (!ev) throw new SettlementRejected('NoEvent', [], 'proposeCorridor emitted no CorridorProposed');
    return { id: Number(ev.args[0] as bigint), receipt };
  }

  /** Only the corridor's provider; destination units per source unit, scaled 1e18. */
  async setRate(sender: TxSender, id: number, rate1e18: bigint): Promise<TransactionReceipt> {
    if (typeof rate1e18 !== 'bigint' || rate1e18 <= 0n) throw new ValidationError('rate', 'must be a positive bigint (scaled 1e18)');
    return this.write(sender, 'setRate', [corridorId(id), rate1e18]);
  }

  // ---------------------------------------------------------- operator writes

  /** Only operators. Refusals are SettlementRejected with the contract's reason code. */
  async open(sender: TxSender, p: OpenPaymentInput): Promise<TransactionReceipt> {
    if (!Array.isArray(p.corridorIds) || p.corridorIds.length < 1 || p.corridorIds.length > MAX_HOPS) throw new ValidationError('corridorIds', `must list 1..${MAX_HOPS} corridors`);
    p.corridorIds.forEach((id, i) => corridorId(id, `corridorIds[${i}]`));
    if (typeof p.amount !== 'bigint' || p.amount <= 0n) throw new ValidationError('amount', 'must be a positive bigint');
    if (typeof p.minOut !== 'bigint' || p.minOut < 0n) throw new ValidationError('minOut', 'must be a non-negative bigint');
    if (typeof p.deadline !== 'bigint' || p.deadline <= 0n || p.deadline > U64_MAX) throw new ValidationError('deadline', 'must be unix seconds');
    return this.write(sender, 'open', [
      uetrToBytes16(p.uetr),
      p.corridorIds,
      p.amount,
      validateAddress(p.sender, 'sender'),
      validateAddress(p.receiver, 'receiver'),
      validateBytes32(p.senderAttestation ?? ZeroHash, 'senderAttestation'),
      validateBytes32(p.receiverAttestation ?? ZeroHash, 'receiverAttestation'),
      p.deadline,
      p.minOut,
    ]);
  }

  /** Anyone; only an open payment past its deadline. */
  async abort(sender: TxSender, uetr: string): Promise<TransactionReceipt> {
    return this.write(sender, 'abort', [uetrToBytes16(uetr)]);
  }

  // -------------------------------------------------------------- governance

  approveCorridor(gov: GovernPath, id: number): Promise<GovernResult> {
    return this.govern(gov, 'approveCorridor', [corridorId(id)], `approve settlement corridor ${id}`);
  }

  suspendCorridor(gov: GovernPath, id: number): Promise<GovernResult> {
    return this.govern(gov, 'suspendCorridor', [corridorId(id)], `suspend settlement corridor ${id}`);
  }

  /** The governance chain's own port and its CAIP-2 name. */
  setPort(gov: GovernPath, port: string, chainName: string): Promise<GovernResult> {
    return this.govern(gov, 'setPort', [validateAddress(port, 'port'), chainName], `settlement port ${chainName}`);
  }

  /** The escrow and port of a member chain (20-byte addresses). */
  setEscrow(gov: GovernPath, chain: string, escrow: string, port: string): Promise<GovernResult> {
    return this.govern(
      gov,
      'setEscrow',
      [chain, validateAddress(escrow, 'escrow').toLowerCase(), validateAddress(port, 'port').toLowerCase()],
      `settlement escrow on ${chain}`,
    );
  }

  setOperator(gov: GovernPath, account: string, allowed: boolean): Promise<GovernResult> {
    return this.govern(gov, 'setOperator', [validateAddress(account, 'account'), allowed], `${allowed ? 'allow' : 'remove'} settlement operator ${account}`);
  }

  setMaxRateAge(gov: GovernPath, seconds: bigint): Promise<GovernResult> {
    if (typeof seconds !== 'bigint' || seconds <= 0n || seconds > U64_MAX) throw new ValidationError('seconds', 'must be positive uint64 seconds');
    return this.govern(gov, 'setMaxRateAge', [seconds], `settlement max rate age ${seconds}s`);
  }
}
