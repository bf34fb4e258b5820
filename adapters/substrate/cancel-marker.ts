import { hexToU8a, u8aConcat } from '@polkadot/util';
import { blake2AsHex } from '@polkadot/util-crypto';
import type { Hex } from '../../src/domain/hex.ts';

/**
 * The on-chain records of one message at a Substrate destination, all
 * `System.Remarked{sender: port, hash}` events of the port account:
 * delivered = hash blake2_256(id) (the remark is the 32-byte id itself);
 * cancelled = hash blake2_256("qiao:cancel:" ++ id) (44 bytes, so it can never
 * be taken for a delivery remark nor decode as a Qiao message).
 */
const CANCEL_PREFIX = new TextEncoder().encode('qiao:cancel:');

/** The remark bytes of the cancel marker of `id`. */
export function cancelMarker(id: Hex): Uint8Array {
  return u8aConcat(CANCEL_PREFIX, hexToU8a(id));
}

/** The Remarked hash a delivery of `id` leaves. */
export function deliveryKey(id: Hex): string {
  return blake2AsHex(hexToU8a(id), 256);
}

/** The Remarked hash the cancel marker of `id` leaves. */
export function cancelKey(id: Hex): string {
  return blake2AsHex(cancelMarker(id), 256);
}
