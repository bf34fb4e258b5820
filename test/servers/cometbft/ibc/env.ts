import type { TxContext } from '../node/module.ts';
import { Store } from './store.ts';

/** Tendermint consensus state of this chain at a height, for v8's ConnOpenAck self-checks. */
export interface SelfConsensusState {
  timestamp: { seconds: bigint; nanos: number };
  appHash: Uint8Array;
  nextValidatorsHash: Uint8Array;
}

export interface IbcConfig {
  ibcVersion: 'v8' | 'v9';
  chainId: string;
  /** staking unbonding time the hub's tendermint client of this chain must carry (v8 ValidateSelfClient). */
  unbondingPeriodSeconds: bigint;
  /** header data of this chain at a past height; without it v8 cannot check proof_consensus's value. */
  selfConsensusState?: (height: bigint) => SelfConsensusState | undefined;
}

/** The per-message view handlers work on. */
export interface Env {
  ctx: TxContext;
  store: Store;
  cfg: IbcConfig;
}

/** clienttypes.ParseChainID: the revision number is the number after the last '-' ("qiaotest-1" -> 1), else 0. */
export function revisionOf(chainId: string): bigint {
  const m = /^.*[^\n-]-([1-9][0-9]*)$/.exec(chainId);
  return m?.[1] ? BigInt(m[1]) : 0n;
}

export function nowNanos(ctx: { time: Date }): bigint {
  return BigInt(ctx.time.getTime()) * 1_000_000n;
}

export const IBC_STORE = 'ibc';

export function envFor(ctx: TxContext, cfg: IbcConfig): Env {
  return { ctx, store: new Store(ctx.store(IBC_STORE)), cfg };
}
