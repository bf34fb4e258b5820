/** Failure codes of the qbft verifiers (part of the closed set in proofs/result.ts). */
export const QBFT_FAILURES = [] as const;
