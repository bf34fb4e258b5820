import type { ChainId } from './caip.ts';
import type { Hex } from './hex.ts';

/** Ledger families. Adding one here breaks compilation until an adapter factory is wired. */
export const CHAIN_FAMILIES = ['evm', 'cosmos', 'substrate', 'fabric'] as const;
export type ChainFamily = (typeof CHAIN_FAMILIES)[number];

/**
 * How the source header is trusted. `local-dev` trusts the RPC's header hash and
 * is accepted only for chains the hub started itself or with `--dev`.
 */
export const LIGHT_CLIENT_TYPES = ['local-dev', 'tendermint', 'eth-sync-committee', 'qbft', 'ibft2', 'grandpa', 'fabric'] as const;
export type LightClientType = (typeof LIGHT_CLIENT_TYPES)[number];

export type FinalityRule =
  | { kind: 'depth'; depth: number }
  | { kind: 'instant' }
  | { kind: 'beacon-finalized' }
  | { kind: 'grandpa' }
  | { kind: 'fabric-validated'; organisations: number };

/** What the council can do to a registered chain (ChainRegistry.setStatus). */
export const CHAIN_ACTIONS = ['approve', 'suspend', 'freeze', 'retire'] as const;
export type ChainAction = (typeof CHAIN_ACTIONS)[number];

export const CHAIN_STATUSES = ['pending', 'approved', 'suspended', 'frozen', 'retired'] as const;
export type ChainStatus = (typeof CHAIN_STATUSES)[number];

/** What the ChainRegistry holds about one member chain. */
export interface ChainRegistration {
  chainId: ChainId;
  family: ChainFamily;
  genesisHash: Hex;
  /** The port's address in the family's own form (20 bytes for EVM). */
  port: Hex;
  lightClient: LightClientType;
  /** Family-specific trust root (opaque bytes; empty for local-dev). */
  trustRoot: Hex;
  finality: FinalityRule;
  endpoints: string[];
  status: ChainStatus;
}
