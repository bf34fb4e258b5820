import { AbiCoder, getAddress, keccak256, toBeHex, toUtf8Bytes, zeroPadValue } from 'ethers';
import { ValidationError } from '../../errors.ts';
import { asBytes32, asHex, type Hex } from '../../domain/hex.ts';
import type { PortRegistryLeaf } from '../../domain/adapter.ts';

/**
 * Leaves of the registry snapshot tree (an OpenZeppelin StandardMerkleTree, as
 * every Qiao tree): `(kind, key, a, b, status, validUntil, data)`. The encoding is
 * a frozen format: QiaoPort's `verifyRegistryLeaf` hashes the same tuple
 * (`RegistryLeaf` struct) and contracts on member chains rely on the meanings below.
 */
export const REGISTRY_LEAF_ENCODING = ['uint8', 'bytes32', 'bytes32', 'bytes32', 'uint8', 'uint64', 'bytes32'] as const;

export const LEAF_KIND = { identity: 1, accreditation: 2, attestation: 3, laneFee: 4 } as const;
export type LeafKind = (typeof LEAF_KIND)[keyof typeof LEAF_KIND];
export type LeafKindName = keyof typeof LEAF_KIND;

export const IDENTITY_STATUS = { active: 1, deactivated: 2 } as const;
export const ACCREDITATION_STATUS = { active: 1, revoked: 2, expired: 3 } as const;
export const ATTESTATION_STATUS = { valid: 1, revoked: 2, expired: 3, disputed: 4, flagged: 5 } as const;
/** A lane fee leaf is always `set` (a fee of 0 frees the lane again). */
export const LANE_FEE_STATUS = { set: 1 } as const;

export type IdentityStatusName = keyof typeof IDENTITY_STATUS;
export type AccreditationStatusName = keyof typeof ACCREDITATION_STATUS;
export type AttestationStatusName = keyof typeof ATTESTATION_STATUS;

/** The leaf ports check (src/domain/adapter.ts), with its kind named. */
export interface RegistryLeaf extends PortRegistryLeaf {
  kind: LeafKind;
}

/** The tuple form StandardMerkleTree takes (numbers as decimal strings, so uint64 never loses precision). */
export type LeafTuple = [string, string, string, string, string, string, string];

const ZERO32 = `0x${'0'.repeat(64)}` as Hex;
const UINT64_MAX = (1n << 64n) - 1n;
const abi = AbiCoder.defaultAbiCoder();

export { didHash } from '../did.ts';

/** Key of an accreditation leaf: one per (issuer, schema). */
export function accreditationKey(issuerDidHash: Hex, schemaId: Hex): Hex {
  return keccak256(abi.encode(['bytes32', 'bytes32'], [issuerDidHash, schemaId])) as Hex;
}

/** `data` of an attestation leaf: binds the issuer and the schema's public fields without putting them in the leaf. */
export function attestationData(issuerDidHash: Hex, publicData: Hex): Hex {
  return keccak256(abi.encode(['bytes32', 'bytes'], [issuerDidHash, publicData])) as Hex;
}

/**
 * validUntil of an attestation: its own expiry, or for a negative schema the end of
 * the retention period when that comes first (0 = neither applies).
 */
export function attestationValidUntil(expiresAt: bigint, issuedAt: bigint, retention?: { negative: boolean; retentionSeconds: bigint }): bigint {
  if (!retention?.negative) return expiresAt;
  const end = issuedAt + retention.retentionSeconds;
  return expiresAt === 0n ? end : expiresAt < end ? expiresAt : end;
}

export function identityLeaf(i: { didHash: Hex; controller: string; documentHash: Hex; active: boolean }): RegistryLeaf {
  return {
    kind: LEAF_KIND.identity,
    key: asBytes32(i.didHash, 'identity.didHash'),
    a: zeroPadValue(getAddress(i.controller), 32).toLowerCase() as Hex,
    b: asBytes32(i.documentHash, 'identity.documentHash'),
    status: i.active ? IDENTITY_STATUS.active : IDENTITY_STATUS.deactivated,
    validUntil: 0n,
    data: ZERO32,
  };
}

export function accreditationLeaf(x: { issuerDidHash: Hex; schemaId: Hex; status: AccreditationStatusName; expiresAt: bigint }): RegistryLeaf {
  const issuer = asBytes32(x.issuerDidHash, 'accreditation.issuerDidHash');
  const schema = asBytes32(x.schemaId, 'accreditation.schemaId');
  return {
    kind: LEAF_KIND.accreditation,
    key: accreditationKey(issuer, schema),
    a: issuer,
    b: schema,
    status: statusCode(ACCREDITATION_STATUS, x.status, 'accreditation.status'),
    validUntil: uint64(x.expiresAt, 'accreditation.expiresAt'),
    data: ZERO32,
  };
}

export function attestationLeaf(x: {
  uid: Hex;
  subjectDidHash: Hex;
  schemaId: Hex;
  issuerDidHash: Hex;
  publicData: Hex;
  status: AttestationStatusName;
  validUntil: bigint;
}): RegistryLeaf {
  return {
    kind: LEAF_KIND.attestation,
    key: asBytes32(x.uid, 'attestation.uid'),
    a: asBytes32(x.subjectDidHash, 'attestation.subjectDidHash'),
    b: asBytes32(x.schemaId, 'attestation.schemaId'),
    status: statusCode(ATTESTATION_STATUS, x.status, 'attestation.status'),
    validUntil: uint64(x.validUntil, 'attestation.validUntil'),
    data: attestationData(asBytes32(x.issuerDidHash, 'attestation.issuerDidHash'), asHex(x.publicData, 'attestation.publicData')),
  };
}

/**
 * A lane fee (QiaoPort.setLaneFee reads it): key = keccak256(abi.encode(a, b)),
 * a = keccak256(srcChain), b = keccak256(dstChain) (the port's lane key),
 * data = bytes32(fee << 128 | maxDstGasPrice), both uint128 wei.
 */
export function laneFeeLeaf(x: { srcChain: string; dstChain: string; fee: bigint; maxDstGasPrice: bigint }): RegistryLeaf {
  const a = keccak256(toUtf8Bytes(x.srcChain)) as Hex;
  const b = keccak256(toUtf8Bytes(x.dstChain)) as Hex;
  return {
    kind: LEAF_KIND.laneFee,
    key: keccak256(abi.encode(['bytes32', 'bytes32'], [a, b])) as Hex,
    a,
    b,
    status: LANE_FEE_STATUS.set,
    validUntil: 0n,
    data: toBeHex((uint128(x.fee, 'laneFee.fee') << 128n) | uint128(x.maxDstGasPrice, 'laneFee.maxDstGasPrice'), 32) as Hex,
  };
}

/** fee and maxDstGasPrice of a lane fee leaf's data. */
export function laneFeeOfLeaf(l: RegistryLeaf): { fee: bigint; maxDstGasPrice: bigint } {
  const v = BigInt(l.data);
  return { fee: v >> 128n, maxDstGasPrice: v & ((1n << 128n) - 1n) };
}

export function leafTuple(l: RegistryLeaf): LeafTuple {
  return [String(l.kind), l.key, l.a, l.b, String(l.status), l.validUntil.toString(), l.data];
}

export function leafFromTuple(t: readonly unknown[]): RegistryLeaf {
  if (t.length !== 7) throw new ValidationError('leaf', 'must have 7 fields (kind, key, a, b, status, validUntil, data)');
  return validLeaf({ kind: Number(t[0]), key: t[1], a: t[2], b: t[3], status: Number(t[4]), validUntil: BigInt(String(t[5])), data: t[6] });
}

/** Checks an untrusted leaf (from JSON, a CLI file) field by field. */
export function validLeaf(v: { kind: unknown; key: unknown; a: unknown; b: unknown; status: unknown; validUntil: unknown; data: unknown }, field = 'leaf'): RegistryLeaf {
  const kind = v.kind;
  if (kind !== 1 && kind !== 2 && kind !== 3 && kind !== 4) throw new ValidationError(`${field}.kind`, 'must be 1 (identity), 2 (accreditation), 3 (attestation) or 4 (lane fee)');
  const status = v.status;
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 0 || status > 255) throw new ValidationError(`${field}.status`, 'must be a uint8');
  let validUntil: bigint;
  try {
    validUntil = typeof v.validUntil === 'bigint' ? v.validUntil : BigInt(String(v.validUntil));
  } catch (cause) {
    throw new ValidationError(`${field}.validUntil`, 'must be a decimal uint64', { cause });
  }
  return {
    kind,
    key: asBytes32(v.key, `${field}.key`),
    a: asBytes32(v.a, `${field}.a`),
    b: asBytes32(v.b, `${field}.b`),
    status,
    validUntil: uint64(validUntil, `${field}.validUntil`),
    data: asBytes32(v.data, `${field}.data`),
  };
}

/** The leaf hash MerkleProof checks: keccak256(bytes.concat(keccak256(abi.encode(leaf)))). */
export function registryLeafHash(l: RegistryLeaf): Hex {
  return keccak256(keccak256(abi.encode([...REGISTRY_LEAF_ENCODING], leafTuple(l)))) as Hex;
}

export function kindName(kind: number): LeafKindName | undefined {
  return (Object.keys(LEAF_KIND) as LeafKindName[]).find((k) => LEAF_KIND[k] === kind);
}

/** Human name of a leaf's status (`undefined` for a code the kind does not define). */
export function statusName(kind: number, status: number): string | undefined {
  const table =
    kind === LEAF_KIND.identity
      ? IDENTITY_STATUS
      : kind === LEAF_KIND.accreditation
        ? ACCREDITATION_STATUS
        : kind === LEAF_KIND.attestation
          ? ATTESTATION_STATUS
          : kind === LEAF_KIND.laneFee
            ? LANE_FEE_STATUS
            : undefined;
  if (!table) return undefined;
  return Object.entries(table).find(([, code]) => code === status)?.[0];
}

function statusCode<T extends Record<string, number>>(table: T, name: keyof T, field: string): number {
  const code = table[name];
  if (code === undefined) throw new ValidationError(field, `must be one of ${Object.keys(table).join(', ')}`);
  return code;
}

function uint128(v: bigint, field: string): bigint {
  if (typeof v !== 'bigint' || v < 0n || v >= 1n << 128n) throw new ValidationError(field, 'must be a uint128');
  return v;
}

function uint64(v: bigint, field: string): bigint {
  if (typeof v !== 'bigint' || v < 0n || v > UINT64_MAX) throw new ValidationError(field, 'must be a uint64');
  return v;
}
