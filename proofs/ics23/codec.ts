/**
 * Decoding of `cosmos.ics23.v1.CommitmentProof` bytes through @confio/ics23's
 * protobuf codec, into the plain structures of types.ts. Compressed batches
 * are expanded. Everything the codec throws becomes `proof_malformed`.
 */
import { ics23 } from '@confio/ics23';
import { decompress } from '@confio/ics23/build/compress.js';
import { fail, ok, type VerifyResult } from '../result.ts';
import type { CommitmentProof, ExistenceProof, InnerOp, LeafOp, NonExistenceProof } from './types.ts';

type Decoded = VerifyResult<{ proof: CommitmentProof }>;

class Malformed {
  constructor(readonly detail: string) {}
}

function bytes(v: unknown, field: string): Uint8Array {
  if (v === undefined || v === null) return new Uint8Array(0);
  if (v instanceof Uint8Array) return Uint8Array.from(v);
  throw new Malformed(`${field} is not bytes`);
}

function int(v: unknown, field: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  throw new Malformed(`${field} is not an enum number`);
}

function leaf(v: ics23.ILeafOp, at: string): LeafOp {
  return {
    hash: int(v.hash, `${at}.hash`),
    prehashKey: int(v.prehashKey, `${at}.prehashKey`),
    prehashValue: int(v.prehashValue, `${at}.prehashValue`),
    length: int(v.length, `${at}.length`),
    prefix: bytes(v.prefix, `${at}.prefix`),
  };
}

function inner(v: ics23.IInnerOp | undefined | null, at: string): InnerOp {
  if (!v) throw new Malformed(`${at} is missing (a compressed batch pointing outside its lookup table?)`);
  return { hash: int(v.hash, `${at}.hash`), prefix: bytes(v.prefix, `${at}.prefix`), suffix: bytes(v.suffix, `${at}.suffix`) };
}

function exist(v: ics23.IExistenceProof, at: string): ExistenceProof {
  const out: ExistenceProof = {
    key: bytes(v.key, `${at}.key`),
    value: bytes(v.value, `${at}.value`),
    path: (v.path ?? []).map((p, i) => inner(p, `${at}.path[${i}]`)),
  };
  if (v.leaf) out.leaf = leaf(v.leaf, `${at}.leaf`);
  return out;
}

function nonexist(v: ics23.INonExistenceProof, at: string): NonExistenceProof {
  const out: NonExistenceProof = { key: bytes(v.key, `${at}.key`) };
  if (v.left) out.left = exist(v.left, `${at}.left`);
  if (v.right) out.right = exist(v.right, `${at}.right`);
  return out;
}

function normalize(p: ics23.ICommitmentProof): CommitmentProof {
  if (p.exist) return { exist: exist(p.exist, 'exist') };
  if (p.nonexist) return { nonexist: nonexist(p.nonexist, 'nonexist') };
  if (p.batch) {
    return {
      batch: (p.batch.entries ?? []).map((e, i) => {
        if (e.exist) return { exist: exist(e.exist, `batch[${i}].exist`) };
        if (e.nonexist) return { nonexist: nonexist(e.nonexist, `batch[${i}].nonexist`) };
        throw new Malformed(`batch[${i}] is empty`);
      }),
    };
  }
  throw new Malformed('commitment proof holds no proof');
}

/** Decodes protobuf bytes (or a message already decoded by @confio/ics23). */
export function decodeCommitmentProof(input: Uint8Array | ics23.ICommitmentProof): Decoded {
  try {
    const msg = input instanceof Uint8Array ? ics23.CommitmentProof.decode(input) : input;
    return ok({ proof: normalize(decompress(msg)) });
  } catch (err) {
    if (err instanceof Malformed) return fail('proof_malformed', err.detail);
    return fail('proof_malformed', `not a CommitmentProof: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function existToLibrary(e: ExistenceProof): ics23.IExistenceProof {
  return { key: e.key, value: e.value, leaf: e.leaf ?? null, path: e.path };
}

function nonexistToLibrary(n: NonExistenceProof): ics23.INonExistenceProof {
  return { key: n.key, left: n.left ? existToLibrary(n.left) : null, right: n.right ? existToLibrary(n.right) : null };
}

/** The same proof in @confio/ics23's message shape (for its verifier and encoder). */
export function toLibraryProof(p: CommitmentProof): ics23.ICommitmentProof {
  if ('exist' in p) return { exist: existToLibrary(p.exist) };
  if ('nonexist' in p) return { nonexist: nonexistToLibrary(p.nonexist) };
  return { batch: { entries: p.batch.map((e) => ('exist' in e ? { exist: existToLibrary(e.exist) } : { nonexist: nonexistToLibrary(e.nonexist) })) } };
}

export function encodeCommitmentProof(p: CommitmentProof): Uint8Array {
  return ics23.CommitmentProof.encode(toLibraryProof(p)).finish();
}
