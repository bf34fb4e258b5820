export { verifyAccountProof, verifyStorageProof, MAX_PROOF_NODES, MAX_PROOF_NODE_BYTES, type EvmAccount } from './account.ts';
export { EMPTY_TRIE_ROOT } from './bytes.ts';
export { commitmentSlot, verifyEvmCommitments, type EvmCommitmentExpectation, type EvmCommitmentProof } from './commitments.ts';
export { EVM_FORKS, decodeEvmHeader, encodeEvmHeader, evmHeaderHash, evmHeaderToJson, hashHeader, parseEvmHeader, type EvmFork, type EvmHeader } from './header.ts';
export { verifyMptProof, type MptResult } from './mpt.ts';
