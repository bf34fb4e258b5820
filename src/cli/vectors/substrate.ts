import { parse as parseYaml } from 'yaml';
import { applyHeaderChain, decodeWarpSyncProof, verifyBeefyCommitment, verifyMmrLeafProof, verifySimplifiedMmrProof, type AuthoritySetInput, type BeefyValidatorSet, type WarpSyncProof } from '../../../proofs/substrate/index.ts';
import type { Hex } from '../../domain/hex.ts';
import { asBytes } from '../../../proofs/substrate/bytes.ts';
import type { RunOptions, VectorCase, VectorFormat, VectorFs } from './types.ts';

const MAX_FILE_BYTES = 8 * 1024 * 1024;

/** A YAML (or JSON) map's string entries that decode completely as a SCALE WarpSyncProof. */
function warpProofsIn(content: Buffer): { key: string; proof: WarpSyncProof }[] {
  if (content.length > MAX_FILE_BYTES) return [];
  const text = content.toString('utf8');
  // Cheap filter before parsing: a warp proof is a long hex string.
  if (!/0x[0-9a-fA-F]{400}/.test(text)) return [];
  let doc: unknown;
  try {
    // failsafe: every scalar stays a string, so long 0x… values are not read as numbers.
    doc = parseYaml(text, { schema: 'failsafe' });
  } catch {
    return [];
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) return [];
  const out: { key: string; proof: WarpSyncProof }[] = [];
  for (const [key, v] of Object.entries(doc as Record<string, unknown>)) {
    const bytes = asBytes(typeof v === 'string' ? v.trim() : v);
    if (!bytes || bytes.length < 100) continue;
    try {
      const proof = decodeWarpSyncProof(bytes);
      if (proof.fragments.length > 0) out.push({ key, proof });
    } catch {
      // not a warp proof: another entry of the file, or another format
    }
  }
  return out;
}

/**
 * Trusted GRANDPA authority sets from `--trust FILE`. Accepted shapes:
 *   {"grandpa": [{"setId": 8518, "authorities": [{"publicKey": "0x…32 bytes", "weight": 1}, …]}, …]}
 *   {"substrate": {"grandpa": …}}, a single set instead of the list, or a bare set.
 */
export function grandpaTrust(trust: unknown): AuthoritySetInput[] {
  if (!trust || typeof trust !== 'object') return [];
  const t = trust as Record<string, unknown>;
  const inner = (t.substrate && typeof t.substrate === 'object' ? (t.substrate as Record<string, unknown>).grandpa : undefined) ?? t.grandpa ?? (t.setId !== undefined ? t : undefined);
  if (!inner) return [];
  const list = Array.isArray(inner) ? inner : [inner];
  return list.filter((s): s is AuthoritySetInput => !!s && typeof s === 'object' && 'authorities' in s && 'setId' in s);
}

function runWarp(path: string, fs: VectorFs, opts: RunOptions): VectorCase[] {
  const proofs = warpProofsIn(fs.read(path));
  const sets = grandpaTrust(opts.trust);
  return proofs.map(({ key, proof }) => {
    const name = `${path}#${key}`;
    if (sets.length === 0) return { case: name, expected: null, verdict: 'invalid', reason: 'substrate_trust_missing' };
    // Every set in the trust file is a trust root the operator vouches for: the proof passes if one of them carries it.
    let firstFailure: string | null = null;
    for (const set of sets) {
      const r = applyHeaderChain(set, proof.fragments);
      if (r.ok) return { case: name, expected: null, verdict: 'valid', reason: null };
      firstFailure ??= r.reason;
    }
    return { case: name, expected: null, verdict: 'invalid', reason: firstFailure };
  });
}

/** Substrate's GRANDPA warp-sync proofs as hex SCALE in a YAML map (gossamer's testdata layout). */
const warpSyncYaml: VectorFormat = {
  name: 'substrate-warp-sync-yaml',
  claimFile: (_path, content) => (warpProofsIn(content).length > 0 ? 'case' : false),
  run: runWarp,
};

function parseJson(content: Buffer): unknown {
  if (content.length > MAX_FILE_BYTES) return undefined;
  const first = content.subarray(0, 64).toString('utf8').trimStart()[0];
  if (first !== '{' && first !== '[') return undefined;
  try {
    return JSON.parse(content.toString('utf8'));
  } catch {
    return undefined;
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
/** A 32-byte value as Snowbridge's fixtures write it: 0x-hex, or a JSON array of byte numbers. */
function hash32(v: unknown): Uint8Array | null {
  if (Array.isArray(v)) return v.length === 32 && v.every((x) => Number.isInteger(x) && x >= 0 && x < 256) ? Uint8Array.from(v as number[]) : null;
  return asBytes(v, 32);
}
function hashList(v: unknown): Uint8Array[] | null {
  if (v === null) return [];
  if (!Array.isArray(v)) return null;
  const out = v.map(hash32);
  return out.every((x) => x !== null) ? (out as Uint8Array[]) : null;
}

/** {leaves[], rootHash, proofs[{items[], order}]}: one Snowbridge simplified MMR proof per leaf. */
function isMmrLeavesFixture(d: unknown): d is { leaves: unknown[]; rootHash: unknown; proofs: { items: unknown; order: unknown }[] } {
  return isRecord(d) && Array.isArray(d.leaves) && Array.isArray(d.proofs) && d.proofs.length === d.leaves.length && hash32(d.rootHash) !== null && d.proofs.every((p) => isRecord(p) && 'items' in p && 'order' in p);
}

const snowbridgeMmrLeaves: VectorFormat = {
  name: 'snowbridge-mmr-leaves',
  claimFile: (_path, content) => (isMmrLeavesFixture(parseJson(content)) ? 'case' : false),
  run(path, fs) {
    const d = parseJson(fs.read(path));
    if (!isMmrLeavesFixture(d)) throw new Error('not a Snowbridge MMR leaves fixture');
    return d.proofs.map((p, i): VectorCase => {
      const items = hashList(p.items);
      const leaf = hash32(d.leaves[i]);
      const order = typeof p.order === 'number' || typeof p.order === 'string' ? BigInt(p.order) : null;
      if (!items || !leaf || order === null) return { case: `${path}#proofs[${i}]`, expected: null, verdict: 'invalid', reason: 'proof_malformed' };
      const r = verifySimplifiedMmrProof(hash32(d.rootHash)!, leaf, items, order);
      return { case: `${path}#proofs[${i}]`, expected: null, verdict: r.ok ? 'valid' : 'invalid', reason: r.ok ? null : r.reason };
    });
  },
};

/** [{LeafHash, LeafIndex, LeafCount, MMRProof, SimplifiedMerkleProofItems/Order, ReferenceMMRRoot}]: both proof forms per case. */
function isMmrReferenceFixture(d: unknown): d is Record<string, unknown>[] {
  return Array.isArray(d) && d.length > 0 && d.every((c) => isRecord(c) && 'LeafHash' in c && 'LeafIndex' in c && 'LeafCount' in c && 'MMRProof' in c && 'ReferenceMMRRoot' in c);
}

const snowbridgeMmrReference: VectorFormat = {
  name: 'snowbridge-mmr-reference',
  claimFile: (_path, content) => (isMmrReferenceFixture(parseJson(content)) ? 'case' : false),
  run(path, fs) {
    const d = parseJson(fs.read(path));
    if (!isMmrReferenceFixture(d)) throw new Error('not a Snowbridge MMR reference fixture');
    return d.map((c, i): VectorCase => {
      const name = `${path}#${i}`;
      const root = hash32(c.ReferenceMMRRoot);
      const leaf = hash32(c.LeafHash);
      const items = hashList(c.MMRProof);
      if (!root || !leaf || !items || typeof c.LeafIndex !== 'number' || typeof c.LeafCount !== 'number') return { case: name, expected: null, verdict: 'invalid', reason: 'proof_malformed' };
      const r = verifyMmrLeafProof(root, leaf, c.LeafIndex, c.LeafCount, items);
      if (!r.ok) return { case: name, expected: null, verdict: 'invalid', reason: r.reason };
      if ('SimplifiedMerkleProofItems' in c) {
        const sItems = hashList(c.SimplifiedMerkleProofItems);
        const order = c.SimplifiedMerkleProofOrder;
        if (!sItems || (typeof order !== 'number' && typeof order !== 'string')) return { case: name, expected: null, verdict: 'invalid', reason: 'proof_malformed' };
        const s = verifySimplifiedMmrProof(root, leaf, sItems, BigInt(order));
        if (!s.ok) return { case: name, expected: null, verdict: 'invalid', reason: s.reason };
      }
      return { case: name, expected: null, verdict: 'valid', reason: null };
    });
  },
};

/**
 * Trusted BEEFY validator sets from `--trust FILE`:
 *   {"beefy": [{"setId": 12767, "length": 111, "root": "0x…32 bytes"}]} (or under "substrate").
 */
export function beefyTrust(trust: unknown): BeefyValidatorSet[] {
  if (!isRecord(trust)) return [];
  const inner = (isRecord(trust.substrate) ? trust.substrate.beefy : undefined) ?? trust.beefy;
  const list = Array.isArray(inner) ? inner : inner ? [inner] : [];
  const out: BeefyValidatorSet[] = [];
  for (const s of list) {
    if (!isRecord(s) || asBytes(s.root, 32) === null || !Number.isInteger(s.length) || (typeof s.setId !== 'number' && typeof s.setId !== 'string')) continue;
    out.push({ id: BigInt(s.setId), length: s.length as number, root: s.root as Hex });
  }
  return out;
}

interface SubmitFinalLog {
  commitmentHash?: string;
  params: {
    commitment: { blockNumber: number; validatorSetID: number; payload: { payloadID: string; data: string }[] };
    proofs: { Account: string; Index: number; Proof: string[]; R: string; S: string; V: number }[];
    leaf?: { version: number; parentNumber: number; parentHash: string; nextAuthoritySetID: number; nextAuthoritySetLen: number; nextAuthoritySetRoot: string; parachainHeadsRoot: string };
    leafProof?: string[];
    leafProofOrder?: number | string;
  };
}

function isSubmitFinalLog(d: unknown): d is SubmitFinalLog {
  if (!isRecord(d) || !isRecord(d.params)) return false;
  const p = d.params;
  return isRecord(p.commitment) && Array.isArray(p.commitment.payload) && Array.isArray(p.proofs) && p.proofs.every((x) => isRecord(x) && 'Account' in x && 'R' in x && 'S' in x && 'V' in x && Array.isArray(x.Proof));
}

/**
 * A Snowbridge relayer `SubmitFinal` log: BEEFY commitment, sampled validator
 * signatures with validator-set Merkle proofs, MMR leaf and proof. Checked
 * against the BEEFY validator set given with --trust; signatures are a
 * sample (BeefyClient's rule), not a supermajority.
 */
const snowbridgeSubmitFinal: VectorFormat = {
  name: 'snowbridge-beefy-submit-final',
  claimFile: (_path, content) => (isSubmitFinalLog(parseJson(content)) ? 'case' : false),
  run(path, fs, opts) {
    const d = parseJson(fs.read(path));
    if (!isSubmitFinalLog(d)) throw new Error('not a Snowbridge SubmitFinal log');
    const p = d.params;
    const sets = beefyTrust(opts.trust).filter((s) => s.id === BigInt(p.commitment.validatorSetID));
    if (sets.length === 0) return [{ case: path, expected: null, verdict: 'invalid', reason: 'substrate_trust_missing' }];
    const input = {
      commitment: { blockNumber: p.commitment.blockNumber, validatorSetId: BigInt(p.commitment.validatorSetID), payload: p.commitment.payload.map((x) => ({ id: x.payloadID, data: x.data as Hex })) },
      signatures: p.proofs.map((x) => ({ account: x.Account as Hex, index: x.Index, proof: x.Proof as Hex[], r: x.R as Hex, s: x.S as Hex, v: x.V })),
      ...(p.leaf
        ? {
            leaf: {
              version: p.leaf.version,
              parentNumber: p.leaf.parentNumber,
              parentHash: p.leaf.parentHash as Hex,
              nextAuthoritySetId: BigInt(p.leaf.nextAuthoritySetID),
              nextAuthoritySetLen: p.leaf.nextAuthoritySetLen,
              nextAuthoritySetRoot: p.leaf.nextAuthoritySetRoot as Hex,
              parachainHeadsRoot: p.leaf.parachainHeadsRoot as Hex,
            },
            leafProof: (p.leafProof ?? []) as Hex[],
            leafProofOrder: BigInt(p.leafProofOrder ?? 0),
          }
        : {}),
      ...(typeof d.commitmentHash === 'string' ? { commitmentHash: d.commitmentHash as Hex } : {}),
    };
    let first: string | null = null;
    for (const set of sets) {
      const r = verifyBeefyCommitment(input, set);
      if (r.ok) return [{ case: path, expected: null, verdict: 'valid', reason: null }];
      first ??= r.reason;
    }
    return [{ case: path, expected: null, verdict: 'invalid', reason: first }];
  },
};

/** substrate vector formats for `qiao proof verify`. */
export const FORMATS: VectorFormat[] = [warpSyncYaml, snowbridgeMmrLeaves, snowbridgeMmrReference, snowbridgeSubmitFinal];
