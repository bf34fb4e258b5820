import { CompactBitArray } from 'cosmjs-types/cosmos/crypto/multisig/v1beta1/multisig';
import { SignatureDescriptor_Data, SignMode } from 'cosmjs-types/cosmos/tx/signing/v1beta1/signing';
import { ValidationError } from '../../../src/errors.ts';

/** cosmos-sdk CompactBitArray of `size` bits with `set` on: bit i is elems[i/8] & (0x80 >> i%8). */
export function compactBitArray(size: number, set: ReadonlySet<number>): CompactBitArray {
  const elems = new Uint8Array(Math.ceil(size / 8));
  for (const i of set) {
    if (!Number.isInteger(i) || i < 0 || i >= size) throw new ValidationError('bitarray', `index ${i} outside ${size} bits`);
    elems[i >> 3]! |= 0x80 >> (i % 8);
  }
  return { extraBitsStored: size % 8, elems };
}

/**
 * The solo machine's signature field: a marshalled SignatureDescriptor.Data holding a
 * MultiSignatureData for the LegacyAminoPubKey (ibc-go's UnmarshalSignatureData). `signatures` maps a
 * key's index in the multisig key list to its 64-byte signature; the list is ordered by index, as
 * LegacyAminoPubKey.VerifyMultisignature walks the bit array. The sign mode is not part of what is
 * signed for a solo machine (ibc-go passes the same bytes for every mode); DIRECT is the conventional one.
 */
export function multisigSignatureData(keyCount: number, signatures: ReadonlyMap<number, Uint8Array>): Uint8Array {
  const indices = [...signatures.keys()].sort((a, b) => a - b);
  const data: SignatureDescriptor_Data = {
    multi: {
      bitarray: compactBitArray(keyCount, new Set(indices)),
      signatures: indices.map((i) => ({ single: { mode: SignMode.SIGN_MODE_DIRECT, signature: signatures.get(i)! } })),
    },
  };
  return SignatureDescriptor_Data.encode(data).finish();
}
