/**
 * The proof specs pinned as ibc-go uses them. ibc-go's
 * `commitmenttypes.GetSDKSpecs()` is `[IavlSpec, TendermintSpec]`: the IAVL
 * spec for the store's own proof and the Tendermint (simple Merkle) spec for the
 * multistore proof of the store's root. The SMT spec is the one cosmos/ics23
 * defines for sparse Merkle trees. Frozen: a proof is only as strong as the
 * spec it is checked against.
 */
import { HashOp, LengthOp, type ProofSpec } from './types.ts';

const none = new Uint8Array(0);

export const iavlSpec: ProofSpec = Object.freeze({
  leafSpec: Object.freeze({ prefix: Uint8Array.of(0), prehashKey: HashOp.NO_HASH, hash: HashOp.SHA256, prehashValue: HashOp.SHA256, length: LengthOp.VAR_PROTO }),
  innerSpec: Object.freeze({ childOrder: [0, 1], minPrefixLength: 4, maxPrefixLength: 12, childSize: 33, emptyChild: none, hash: HashOp.SHA256 }),
  maxDepth: 0,
  minDepth: 0,
  prehashKeyBeforeComparison: false,
});

export const tendermintSpec: ProofSpec = Object.freeze({
  leafSpec: Object.freeze({ prefix: Uint8Array.of(0), prehashKey: HashOp.NO_HASH, hash: HashOp.SHA256, prehashValue: HashOp.SHA256, length: LengthOp.VAR_PROTO }),
  innerSpec: Object.freeze({ childOrder: [0, 1], minPrefixLength: 1, maxPrefixLength: 1, childSize: 32, emptyChild: none, hash: HashOp.SHA256 }),
  maxDepth: 0,
  minDepth: 0,
  prehashKeyBeforeComparison: false,
});

export const smtSpec: ProofSpec = Object.freeze({
  leafSpec: Object.freeze({ prefix: Uint8Array.of(0), prehashKey: HashOp.SHA256, hash: HashOp.SHA256, prehashValue: HashOp.SHA256, length: LengthOp.NO_PREFIX }),
  innerSpec: Object.freeze({ childOrder: [0, 1], minPrefixLength: 1, maxPrefixLength: 1, childSize: 32, emptyChild: new Uint8Array(32), hash: HashOp.SHA256 }),
  maxDepth: 256,
  minDepth: 0,
  prehashKeyBeforeComparison: true,
});

/** The specs ibc-go checks a Cosmos SDK chain's proofs against, innermost first. */
export const SDK_SPECS: readonly [ProofSpec, ProofSpec] = Object.freeze([iavlSpec, tendermintSpec]) as readonly [ProofSpec, ProofSpec];

/** The named specs, in the order the vector runner tries them. */
export const PINNED_SPECS = Object.freeze({ iavl: iavlSpec, tendermint: tendermintSpec, smt: smtSpec });
export type PinnedSpecName = keyof typeof PINNED_SPECS;

/**
 * Equality on the fields that decide the encoding (as cosmos/ics23 compares
 * specs): a spec equal to the IAVL one gets the IAVL prefix checks.
 */
export function specEquals(a: ProofSpec, b: ProofSpec): boolean {
  return (
    a.leafSpec.hash === b.leafSpec.hash &&
    a.leafSpec.prehashKey === b.leafSpec.prehashKey &&
    a.leafSpec.prehashValue === b.leafSpec.prehashValue &&
    a.leafSpec.length === b.leafSpec.length &&
    a.innerSpec.hash === b.innerSpec.hash &&
    a.innerSpec.minPrefixLength === b.innerSpec.minPrefixLength &&
    a.innerSpec.maxPrefixLength === b.innerSpec.maxPrefixLength &&
    a.innerSpec.childSize === b.innerSpec.childSize &&
    a.innerSpec.childOrder.length === b.innerSpec.childOrder.length
  );
}
