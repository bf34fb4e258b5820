import { AbiCoder, Contract, Interface, keccak256, toUtf8Bytes, type JsonRpcProvider } from 'ethers';
import { parseChainId, type ChainId } from '../domain/caip.ts';
import type { Hex } from '../domain/hex.ts';
import { ValidationError } from '../errors.ts';
import { ContractWriter } from '../registries/write.ts';
import type { GovernPath, GovernResult } from './govern.ts';

/**
 * A lane's fee as governance set it (LaneFeeRegistry.sol). `fee` is in wei of the
 * source chain's native token per message; `maxDstGasPrice` is the destination
 * gas price (wei/gas) up to which the fee is taken to cover delivery, 0 = no bound.
 */
export interface LaneFee {
  srcChain: ChainId;
  dstChain: ChainId;
  fee: bigint;
  maxDstGasPrice: bigint;
  /** Governance block time of the last change (unix seconds). */
  updatedAt: bigint;
}

/**
 * The registry's interface, written out so readers (the relayer, attestors,
 * a CLI) need no compiler; test/contracts/lane-fees.test.ts checks it against
 * the compiled contract.
 */
export const LANE_FEE_REGISTRY_ABI = [
  'function setFee(string srcChain, string dstChain, uint128 fee, uint128 maxDstGasPrice)',
  'function key(string srcChain, string dstChain) pure returns (bytes32)',
  'function feeOf(string srcChain, string dstChain) view returns (uint128 fee, uint128 maxDstGasPrice, uint64 updatedAt)',
  'function count() view returns (uint256)',
  'function at(uint256 i) view returns (string srcChain, string dstChain, uint128 fee, uint128 maxDstGasPrice, uint64 updatedAt)',
  'function governor() view returns (address)',
  'event LaneFeeSet(bytes32 indexed key, string srcChain, string dstChain, uint128 fee, uint128 maxDstGasPrice)',
  'error BadChainId(string chainId)',
  'error NotGovernor(address caller)',
] as const;

const UINT128_MAX = (1n << 128n) - 1n;

/** The lane key every side shares: keccak256(abi.encode(keccak256(src), keccak256(dst))). */
export function laneKey(srcChain: string, dstChain: string): Hex {
  return keccak256(AbiCoder.defaultAbiCoder().encode(['bytes32', 'bytes32'], [keccak256(toUtf8Bytes(srcChain)), keccak256(toUtf8Bytes(dstChain))])) as Hex;
}

/** A wei amount from a CLI or API value: a decimal integer, or a number with a unit (`2 gwei`, `0.01 ether`). */
export function parseWei(v: unknown, field: string): bigint {
  if (typeof v === 'bigint') return uint128(v, field);
  if (typeof v === 'number' && Number.isSafeInteger(v)) return uint128(BigInt(v), field);
  if (typeof v !== 'string') throw new ValidationError(field, 'must be an amount in wei (e.g. 1000000000, "2 gwei", "0.01 ether")');
  const m = /^\s*([0-9]+)(?:\.([0-9]+))?\s*(wei|gwei|ether)?\s*$/i.exec(v);
  if (!m) throw new ValidationError(field, `"${v.slice(0, 40)}" is not an amount in wei (e.g. 1000000000, "2 gwei", "0.01 ether")`);
  const decimals = { wei: 0, gwei: 9, ether: 18 }[(m[3] ?? 'wei').toLowerCase() as 'wei' | 'gwei' | 'ether'];
  const frac = m[2] ?? '';
  if (frac.length > decimals) throw new ValidationError(field, `"${v}" has more decimals than ${m[3] ?? 'wei'} allows`);
  return uint128(BigInt(m[1]!) * 10n ** BigInt(decimals) + BigInt(frac.padEnd(decimals, '0') || '0'), field);
}

function uint128(v: bigint, field: string): bigint {
  if (v < 0n || v > UINT128_MAX) throw new ValidationError(field, 'must be between 0 and 2^128-1 wei');
  return v;
}

/** LaneFeeRegistry on the governance chain: reads for everyone, writes through governance. */
export class LaneFeeClient {
  readonly iface = new Interface(LANE_FEE_REGISTRY_ABI as unknown as string[]);
  readonly contract: Contract;
  private readonly writer: ContractWriter;

  constructor(
    readonly provider: JsonRpcProvider,
    readonly address: string,
  ) {
    this.contract = new Contract(address, this.iface, provider);
    this.writer = new ContractWriter(provider, address, this.iface);
  }

  /** Sets a lane's fee (a proposal on the council, executed at once when one approval suffices). */
  async set(gov: GovernPath, x: { srcChain: string; dstChain: string; fee: unknown; maxDstGasPrice: unknown }): Promise<GovernResult> {
    const src = parseChainId(x.srcChain, 'srcChain').id;
    const dst = parseChainId(x.dstChain, 'dstChain').id;
    const fee = parseWei(x.fee, 'fee');
    const max = parseWei(x.maxDstGasPrice, 'maxDstGasPrice');
    return this.writer.govern(gov, 'setFee', [src, dst, fee, max], `lane fee ${src} > ${dst}: ${fee} wei per message, up to ${max === 0n ? 'any' : `${max} wei/gas`} at the destination`);
  }

  /** null when governance never set a fee on the lane. */
  async get(srcChain: string, dstChain: string, blockTag: bigint | number | 'latest' = 'latest'): Promise<LaneFee | null> {
    const src = parseChainId(srcChain, 'srcChain').id;
    const dst = parseChainId(dstChain, 'dstChain').id;
    const [fee, maxDstGasPrice, updatedAt] = (await this.contract.getFunction('feeOf')(src, dst, { blockTag })) as [bigint, bigint, bigint];
    if (updatedAt === 0n) return null;
    return { srcChain: src, dstChain: dst, fee, maxDstGasPrice, updatedAt };
  }

  /** Every lane governance ever set a fee on, as it stood at the block. */
  async list(blockTag: bigint | number | 'latest' = 'latest'): Promise<LaneFee[]> {
    const n = Number((await this.contract.getFunction('count')({ blockTag })) as bigint);
    return Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const [srcChain, dstChain, fee, maxDstGasPrice, updatedAt] = (await this.contract.getFunction('at')(i, { blockTag })) as [string, string, bigint, bigint, bigint];
        // Stored by the contract only after its own format check; read back as given.
        return { srcChain: srcChain as ChainId, dstChain: dstChain as ChainId, fee, maxDstGasPrice, updatedAt };
      }),
    );
  }
}
