import { chainId, type ChainId } from '../../src/domain/caip.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { ValidationError } from '../../src/errors.ts';

/** CAIP-2 for Substrate chains: `polkadot:` and the first 16 bytes (32 hex digits) of the genesis hash. */
export function substrateChainId(genesisHash: Hex | string): ChainId {
  if (!/^0x[0-9a-fA-F]{64}$/.test(genesisHash)) throw new ValidationError('genesisHash', 'must be a 32-byte hex hash');
  return chainId(`polkadot:${genesisHash.slice(2, 34).toLowerCase()}`);
}

/** The port of a Substrate chain until the attestors' multisig account exists: 32 zero bytes. */
export const SUBSTRATE_PORT_PLACEHOLDER: Hex = `0x${'00'.repeat(32)}`;
