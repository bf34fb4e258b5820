import type { PortAttestorState } from '../../src/domain/adapter.ts';
import type { Hex } from '../../src/domain/hex.ts';
import type { AttestationRow } from '../../src/index/types.ts';

/** Signatures of one set over one root, enough for that set's threshold. */
export interface SignedBy {
  setId: bigint;
  signatures: Hex[];
}

/**
 * The stored signatures of set `setId` (only its members ever signed under its
 * id: stages add a signature only from a member), or null below `threshold`.
 * Exactly `threshold` are returned: more would only cost the port gas.
 */
export function signaturesOf(rows: readonly AttestationRow[], set: { setId: bigint; threshold: number; members?: readonly string[] }): SignedBy | null {
  const members = set.members ? new Set(set.members.map((m) => m.toLowerCase())) : null;
  const mine = rows.filter((r) => r.setId === set.setId.toString() && (!members || members.has(r.attestor.toLowerCase())));
  if (mine.length < set.threshold) return null;
  return { setId: set.setId, signatures: mine.slice(0, set.threshold).map((r) => r.signature) };
}

/**
 * Signatures a port accepts now: its current set's, else its previous set's
 * while the grace window is open on the port's own clock. A root signed by the
 * previous set is sent while a few seconds remain at most; past that the
 * current set must sign it.
 */
export function signaturesForPort(rows: readonly AttestationRow[], port: PortAttestorState, { marginSeconds = 5n }: { marginSeconds?: bigint } = {}): SignedBy | null {
  const current = signaturesOf(rows, port);
  if (current) return current;
  const prev = port.previous;
  if (prev && port.now + marginSeconds <= prev.validUntil) return signaturesOf(rows, prev);
  return null;
}
