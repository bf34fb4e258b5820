/** Failure codes of the fabric verifiers (part of the closed set in proofs/result.ts). */
export const FABRIC_FAILURES = [] as const;
