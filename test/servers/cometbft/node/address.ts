import { fromBech32, toBech32 } from '@cosmjs/encoding';

// cosmjs' default limit (Infinity) is refused by the @scure/base it bundles; 1023 is bech32's own cap
import { ripemd160 } from '@noble/hashes/legacy.js';
import { sha256 } from '@noble/hashes/sha2.js';

export const BECH32_PREFIX = 'cosmos';

/** Account address of a compressed secp256k1 public key: ripemd160(sha256(pubkey)). */
export function secp256k1Address(pubKey: Uint8Array, prefix = BECH32_PREFIX): string {
  return toBech32(prefix, ripemd160(sha256(pubKey)));
}

/** The SDK's module account address: sha256(name)[:20] (authtypes.NewModuleAddress). */
export function moduleAddress(name: string, prefix = BECH32_PREFIX): string {
  return toBech32(prefix, sha256(new TextEncoder().encode(name)).slice(0, 20));
}

export function addressBytes(bech32: string): Uint8Array {
  return fromBech32(bech32, 1023).data;
}

export function bech32Address(bytes: Uint8Array, prefix = BECH32_PREFIX): string {
  return toBech32(prefix, bytes);
}

/** true if s is a bech32 account address with the given prefix and 20 or 32 data bytes */
export function isAddress(s: string, prefix = BECH32_PREFIX): boolean {
  try {
    const { prefix: p, data } = fromBech32(s, 1023);
    return p === prefix && (data.length === 20 || data.length === 32);
  } catch {
    return false;
  }
}
