/** ICS-23 proofs and the Cosmos SDK store-proof chain. */
export { verifyMembership, verifyNonMembership, provenRoot, verifyExistence, verifyNonExistence, calculateRoot } from './verify.ts';
export type { ProofInput, VerifyOptions } from './verify.ts';
export { verifyCosmosStoreProof, IAVL_OP_TYPE, SIMPLE_OP_TYPE } from './cosmos.ts';
export type { CosmosStoreProofInput, CosmosStoreProofResult, ProofOp, ProofOps } from './cosmos.ts';
export { iavlSpec, tendermintSpec, smtSpec, SDK_SPECS, PINNED_SPECS, specEquals } from './specs.ts';
export type { PinnedSpecName } from './specs.ts';
export { decodeCommitmentProof, encodeCommitmentProof } from './codec.ts';
export { checkAgainstSpec, checkLeaf, checkInner, isLeftMost, isRightMost, isLeftNeighbor, leftBranchesAreEmpty, rightBranchesAreEmpty } from './check.ts';
export { applyLeaf, applyInner, calculateExistenceRoot, doHash } from './ops.ts';
export * from './types.ts';
