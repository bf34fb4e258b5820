/** Failure codes of the tendermint verifiers (part of the closed set in proofs/result.ts). */
export const TENDERMINT_FAILURES = [] as const;
