/** Failure codes of the ics23 verifiers (part of the closed set in proofs/result.ts). */
export const ICS23_FAILURES = [] as const;
