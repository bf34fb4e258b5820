import { Signature, SigningKey, TypedDataEncoder, getAddress, recoverAddress } from 'ethers';
import { asBytes32, type Hex } from './hex.ts';

export const ROOT_TYPE = { messages: 1, registrySnapshot: 2, attestorSet: 3 } as const;
export type RootType = (typeof ROOT_TYPE)[keyof typeof ROOT_TYPE];

export interface AttestationDomain {
  /** The governance chain's numeric EVM chain id. */
  chainId: bigint;
  /** The MessageLog contract on the governance chain. */
  verifyingContract: string;
}

export interface Attestation {
  rootType: RootType;
  setId: bigint;
  batchNo: bigint;
  root: Hex;
}

export const ATTESTATION_TYPES = {
  Attestation: [
    { name: 'rootType', type: 'uint8' },
    { name: 'setId', type: 'uint64' },
    { name: 'batchNo', type: 'uint64' },
    { name: 'root', type: 'bytes32' },
  ],
};

export function eip712Domain(d: AttestationDomain) {
  return { name: 'Qiao', version: '1', chainId: d.chainId, verifyingContract: getAddress(d.verifyingContract) };
}

export function attestationDigest(d: AttestationDomain, a: Attestation): Hex {
  return TypedDataEncoder.hash(eip712Domain(d), ATTESTATION_TYPES, {
    rootType: a.rootType,
    setId: a.setId,
    batchNo: a.batchNo,
    root: asBytes32(a.root, 'attestation.root'),
  }) as Hex;
}

/** 65-byte r||s||v signature (v = 27/28), the form OpenZeppelin's ECDSA.recover takes. */
export function signAttestation(key: SigningKey, d: AttestationDomain, a: Attestation): Hex {
  return key.sign(attestationDigest(d, a)).serialized as Hex;
}

export function recoverAttestor(d: AttestationDomain, a: Attestation, signature: Hex): string {
  return getAddress(recoverAddress(attestationDigest(d, a), Signature.from(signature)));
}
