/** Failure codes of the substrate verifiers (part of the closed set in proofs/result.ts). */
export const SUBSTRATE_FAILURES = [] as const;
