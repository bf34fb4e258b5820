export { decodeBftExtraData, encodeBftExtraData, extraDataForCommittedSeal, extraDataOnChain, type BftExtraData, type BftVariant } from './extra-data.ts';
export { parseBftHeader, type BftHeader } from './hash.ts';
export { bftQuorum, normalizeValidators, recoverSealer, verifyBftChain, verifyBftHeader, type BftHeaderResult, type VerifyBftChainOptions, type VerifyBftOptions } from './verify.ts';
export { MAX_CONTRACT_VALIDATORS, validatorsFromContractProof, type ValidatorContractProof } from './contract.ts';
