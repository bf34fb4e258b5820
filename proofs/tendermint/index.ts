/**
 * CometBFT / Tendermint light client. Inputs are the JSON of CometBFT RPC
 * (`/commit` signed_header + `/validators`), documented in ./types.ts; every
 * entry point returns a VerifyResult and never throws for bad input.
 */
export { verifyAdjacent, verifySkipping, verifyLightBlock, verifyCommitLight, type Verified, type CommitLightResult, type CodecChoice } from './verify.ts';
export { bisect, bisectAsync, bisectCore, type BisectSteps, type BisectOptions, type BisectSuccess, type FetchLightBlock, type FetchLightBlockAsync } from './bisect.ts';
export { detectFork, detectForkAsync, sameHeader, type BlockRequest, type ForkEvidence, type ForkCheck, type ForkResult } from './fork.ts';
export { headerHash, validatorSetHash, merkleRoot, rootFromAunts, leafHash, type Codec } from './hash.ts';
export { signBytesFor, tallyCommit, verifyEd25519 } from './commit.ts';
export { parseHeader, parseSignedHeader, parseValidatorSet, parseLightBlock } from './parse.ts';
export { TENDERMINT_FAILURES } from './reasons.ts';
export type * from './types.ts';
