/**
 * Hyperledger Fabric verifier (1.4 and 2.x ledgers, X.509 MSPs, ECDSA P-256).
 *
 * Entry points:
 * - `verifyBlockChain(trustedConfigBlock, blocks, opts)`: a run of blocks from a trusted config block.
 * - `verifyBlock(block, ctx, opts)`: one block given the config and previous block in force.
 * - `verifyEndorsements(action, policy, msps, opts)`: one endorsed action under one policy.
 * - `acceptValidation(txId, answers, k, msps, opts)`: validation flags confirmed by peers of k organisations.
 */
export { verifyBlockChain, verifyBlock, type FabricVerifyOptions, type VerifiedBlock, type VerifiedTx, type BlockContext } from './verify.ts';
export { verifyEndorsements } from './endorsement.ts';
export { acceptValidation, type ValidationAnswer, type AcceptOptions } from './validation.ts';
export { parseBlockFile, decodeBlock, decodeSerializedBlock, blockHeaderBytes, blockHeaderHash, blockDataHash, type FabricBlock } from './block.ts';
export { configFromBlock, parseConfig, type ChannelConfig } from './config.ts';
export { decodeEnvelope, decodeEndorserTransaction, decodeTxRWSet, type EndorsedAction, type NsRWSet } from './tx.ts';
export { parseSignaturePolicyEnvelope, evaluatePolicy, signedByAny, nOutOfMembers, type Policy, type Principal, type SignatureRule } from './policy.ts';
export { parseMspConfig, validateIdentity, type Msp, type MspSet } from './msp.ts';
export { FABRIC_FAILURES } from './reasons.ts';
