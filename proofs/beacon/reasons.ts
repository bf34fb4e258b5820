/** Failure codes of the beacon verifiers (part of the closed set in proofs/result.ts). */
export const BEACON_FAILURES = [] as const;
