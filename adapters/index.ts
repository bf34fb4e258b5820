import type { AdapterFactory } from '../src/domain/adapter.ts';
import type { ChainFamily } from '../src/domain/chain.ts';
import { QiaoError } from '../src/errors.ts';

export class UnsupportedFamilyError extends QiaoError {
  constructor(readonly family: ChainFamily) {
    super('unsupported_family', `no adapter for the ${family} family in this build yet`, { data: { family } });
  }
}

/**
 * Exhaustive: a family added to CHAIN_FAMILIES does not compile until it has an entry.
 * Family SDKs load lazily, only when a chain of that family is connected.
 */
export const ADAPTER_FACTORIES: Record<ChainFamily, AdapterFactory> = {
  evm: async (reg, ctx) => (await import('./evm/adapter.ts')).createEvmAdapter(reg, ctx),
  cosmos: async (reg, ctx) => (await import('./cosmos/adapter.ts')).createCosmosAdapter(reg, ctx),
  substrate: async (reg, ctx) => (await import('./substrate/adapter.ts')).createSubstrateAdapter(reg, ctx),
  fabric: async (reg, ctx) => (await import('./fabric/adapter.ts')).createFabricAdapter(reg, ctx),
};
