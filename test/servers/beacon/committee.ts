/**
 * Sync-committee keys and signatures: real BLS12-381 (Ethereum's
 * proof-of-possession suite), keys derived from the seed and the period, one
 * committee per sync period.
 */
import { normalizeZ } from '@noble/curves/abstract/curve.js';
import { bls12_381 } from '@noble/curves/bls12-381.js';
import { forkAtSlot, label, type ChainSpec } from './config.ts';
import { BeaconBlockHeader, ForkData, SigningData, type BeaconBlockHeaderValue, type SyncCommitteeValue } from './ssz.ts';

export const ETH_BLS_DST = 'BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_';
export const DOMAIN_BEACON_PROPOSER = Uint8Array.from([0, 0, 0, 0]);
export const DOMAIN_SYNC_COMMITTEE = Uint8Array.from([7, 0, 0, 0]);

const sigs = bls12_381.longSignatures;
const R = bls12_381.fields.Fr.ORDER;

function secretKey(seed: string): bigint {
  return (BigInt(`0x${Buffer.from(label(seed)).toString('hex')}`) % (R - 1n)) + 1n;
}

function skBytes(n: bigint): Uint8Array {
  return Uint8Array.from(Buffer.from(n.toString(16).padStart(64, '0'), 'hex'));
}

export interface Committee {
  committee: SyncCommitteeValue;
  /** Secret keys in committee order (a test chain's keys are not secret). */
  secretKeys: bigint[];
}

/**
 * Member i's secret key is base + i, so its public key is the previous one
 * plus the generator: a 512-member committee costs one scalar multiplication
 * instead of 512 (3 s). Related keys are fine here: every key of a test chain
 * is derivable from its seed anyway.
 */
export function makeCommittee(size: number, seed: string): Committee {
  const base = secretKey(seed);
  const G = bls12_381.G1.Point.BASE;
  const secretKeys: bigint[] = [];
  const points: (typeof G)[] = [];
  let p = G.multiply(base);
  for (let i = 0; i < size; i++) {
    secretKeys.push((base + BigInt(i)) % R);
    points.push(p);
    p = p.add(G);
  }
  const affine = normalizeZ(bls12_381.G1.Point, [...points, points.reduce((a, b) => a.add(b))]);
  const aggregate = affine.pop()!;
  return { secretKeys, committee: { pubkeys: affine.map(compressG1), aggregate_pubkey: compressG1(aggregate) } };
}

const P = bls12_381.fields.Fp.ORDER;

/**
 * The ZCash compressed encoding of a G1 point (x big-endian, flags in the top
 * three bits). noble's toBytes re-checks the subgroup of each point, which is
 * 3 ms a key; these points are multiples of the generator by construction.
 */
function compressG1(point: ReturnType<typeof bls12_381.G1.Point.fromAffine>): Uint8Array {
  const { x, y } = point.toAffine();
  const out = Uint8Array.from(Buffer.from(x.toString(16).padStart(96, '0'), 'hex'));
  out[0] = out[0]! | 0x80 | (y * 2n > P ? 0x20 : 0);
  return out;
}

/**
 * The aggregate signature of the members whose bit is set. Signing once with
 * the sum of their secret keys gives the same point as aggregating their
 * individual signatures, at the cost of one signature (512 signatures per
 * update would make the mainnet preset slow).
 */
export function signAggregate(c: Committee, bits: readonly boolean[], message: Uint8Array): Uint8Array {
  let sum = 0n;
  bits.forEach((b, i) => {
    if (b) sum = (sum + c.secretKeys[i]!) % R;
  });
  if (sum === 0n) {
    const infinity = new Uint8Array(96);
    infinity[0] = 0xc0;
    return infinity;
  }
  return sigs.sign(sigs.hash(message, ETH_BLS_DST), skBytes(sum)).toBytes(true);
}

export function signWith(secret: bigint, message: Uint8Array): Uint8Array {
  return sigs.sign(sigs.hash(message, ETH_BLS_DST), skBytes(secret)).toBytes(true);
}

export function proposerSecret(seed: string, index: number): bigint {
  return secretKey(`${seed}/proposer/${index}`);
}

export function computeDomain(domainType: Uint8Array, version: Uint8Array, genesisValidatorsRoot: Uint8Array): Uint8Array {
  const d = new Uint8Array(32);
  d.set(domainType, 0);
  d.set(ForkData.hashTreeRoot({ current_version: version, genesis_validators_root: genesisValidatorsRoot }).subarray(0, 28), 4);
  return d;
}

export function signingRoot(objectRoot: Uint8Array, domain: Uint8Array): Uint8Array {
  return SigningData.hashTreeRoot({ object_root: objectRoot, domain });
}

/** What the sync committee signs for `attested` in `signatureSlot`: the domain of the fork at the slot before it. */
export function syncCommitteeSigningRoot(spec: ChainSpec, attested: BeaconBlockHeaderValue, signatureSlot: number): Uint8Array {
  const fork = forkAtSlot(spec, Math.max(signatureSlot, 1) - 1);
  return signingRoot(BeaconBlockHeader.hashTreeRoot(attested), computeDomain(DOMAIN_SYNC_COMMITTEE, spec.versions[fork], spec.genesisValidatorsRoot));
}

export function proposerSigningRoot(spec: ChainSpec, header: BeaconBlockHeaderValue): Uint8Array {
  return signingRoot(BeaconBlockHeader.hashTreeRoot(header), computeDomain(DOMAIN_BEACON_PROPOSER, spec.versions[forkAtSlot(spec, header.slot)], spec.genesisValidatorsRoot));
}

/** Committees by period, made on first use (a mainnet-size committee costs about a second). */
export class Committees {
  private readonly real = new Map<number, Committee>();
  private readonly forged = new Map<number, Committee>();

  constructor(private readonly size: number, private readonly seed: string) {}

  of(period: number): Committee {
    return this.get(this.real, period, `${this.seed}/sync-committee/${period}`);
  }

  /** Keys outside every committee, for the forged-signature fault. */
  outsider(period: number): Committee {
    return this.get(this.forged, period, `${this.seed}/outsiders/${period}`);
  }

  private get(m: Map<number, Committee>, period: number, seed: string): Committee {
    let c = m.get(period);
    if (!c) {
      c = makeCommittee(this.size, seed);
      m.set(period, c);
    }
    return c;
  }
}
