import { ScaleError, ScaleReader, asBytes } from './bytes.ts';
import { decodeHeader, grandpaLogs, readHeader, type AuthorityWeight, type SubstrateHeader } from './header.ts';
import { readJustification, type GrandpaJustification } from './justification.ts';
import { checkAuthoritySet, verifyGrandpaJustification, type AuthoritySetInput, type FinalizedTarget } from './grandpa.ts';
import { fail, ok, type VerifyResult } from '../result.ts';
import type { Hex } from '../../src/domain/hex.ts';

/** One finalized header and the justification that finalizes it (a warp-sync fragment). */
export interface HeaderFragment {
  header: SubstrateHeader | Uint8Array | Hex;
  justification: GrandpaJustification | Uint8Array | Hex;
}

export interface LightClientState {
  setId: bigint;
  authorities: AuthorityWeight[];
  /** The last finalized block, when known: later fragments must be above it. */
  finalized?: { hash: Hex; number: number };
}

export interface WarpSyncProof {
  fragments: { header: SubstrateHeader; justification: GrandpaJustification }[];
  isFinished: boolean;
}

/** sc_consensus_grandpa::warp_proof::WarpSyncProof: Vec<{header, justification}>, is_finished. */
export function decodeWarpSyncProof(bytes: Uint8Array): WarpSyncProof {
  const r = new ScaleReader(bytes);
  const n = r.length(98 + 44);
  const fragments: WarpSyncProof['fragments'] = [];
  for (let i = 0; i < n; i++) fragments.push({ header: readHeader(r), justification: readJustification(r) });
  const isFinished = r.bool();
  r.end();
  return { fragments, isFinished };
}

/**
 * Follows GRANDPA finality through a chain of finalized headers, handing the
 * authority set over at scheduled changes, as pallet-bridge-grandpa does:
 *  - each fragment's justification must verify under the current set and
 *    finalize exactly that header (hash and number), above the last finalized;
 *  - a `ScheduledChange` (Consensus digest, engine `FRNK`) with delay 0 in a
 *    finalized header enacts the next set (set id + 1) for the following fragments;
 *  - a non-zero delay, or more than one change in a header, is refused: the
 *    enacting block would have to be tracked separately;
 *  - a `ForcedChange` is refused: a forced change is not signed off by the
 *    current set, so the light client halts and governance must register a
 *    new trust root;
 *  - OnDisabled, Pause and Resume need no action from a light client.
 * Returns the state after the last fragment. Never throws.
 */
export function applyHeaderChain(
  state: LightClientState | (AuthoritySetInput & { finalized?: { hash: Hex; number: number } }),
  fragments: HeaderFragment[],
): VerifyResult<{ state: LightClientState; finalized: FinalizedTarget[]; setChanges: number }> {
  const checked = checkAuthoritySet(state);
  if (!checked.ok) return checked;
  let setId = checked.set.setId;
  let authorities: AuthorityWeight[] = [...checked.set.voters.entries()].map(([publicKey, v]) => ({ publicKey: publicKey as Hex, weight: v.weight }));
  let set = checked.set;
  let last = state.finalized;
  const finalized: FinalizedTarget[] = [];
  let setChanges = 0;
  if (fragments.length === 0) return fail('proof_malformed', 'no header to follow');
  for (const [i, f] of fragments.entries()) {
    let header: SubstrateHeader;
    if (f.header instanceof Uint8Array || typeof f.header === 'string') {
      const b = asBytes(f.header);
      if (!b) return fail('header_malformed', `fragment ${i}: header is not bytes`);
      try {
        header = decodeHeader(b);
      } catch (e) {
        if (e instanceof ScaleError) return fail('header_malformed', `fragment ${i}: ${e.message}`);
        throw e;
      }
    } else header = f.header;
    if (last && header.number <= last.number) return fail('height_mismatch', `fragment ${i}: #${header.number} is not above the finalized #${last.number}`);
    const v = verifyGrandpaJustification(f.justification, set, { hash: header.hash, number: header.number });
    if (!v.ok) return fail(v.reason === 'untrusted_header' ? 'header_hash_mismatch' : v.reason, `fragment ${i} (#${header.number}): ${v.detail}`);
    finalized.push(v.target);
    last = { hash: header.hash, number: header.number };
    let logs;
    try {
      logs = grandpaLogs(header);
    } catch (e) {
      if (e instanceof ScaleError) return fail('header_malformed', `fragment ${i}: GRANDPA digest: ${e.message}`);
      throw e;
    }
    const forced = logs.find((l) => l.kind === 'forcedChange');
    if (forced) {
      return fail('grandpa_forced_change', `block #${header.number} (${header.hash}) signals a forced authority-set change: the light client halts; governance must register a new trust root`);
    }
    const scheduled = logs.filter((l) => l.kind === 'scheduledChange');
    if (scheduled.length > 1) return fail('grandpa_unsupported_change', `block #${header.number} signals ${scheduled.length} scheduled changes`);
    const change = scheduled[0];
    if (change) {
      if (change.delay !== 0) return fail('grandpa_unsupported_change', `block #${header.number} schedules a change with delay ${change.delay}; only delay 0 is followed`);
      const next = checkAuthoritySet({ setId: setId + 1n, authorities: change.nextAuthorities });
      if (!next.ok) return fail('header_malformed', `block #${header.number}: next authority set: ${next.detail}`);
      setId += 1n;
      authorities = change.nextAuthorities;
      set = next.set;
      setChanges++;
    }
  }
  return ok({ state: { setId, authorities, ...(last ? { finalized: last } : {}) }, finalized, setChanges });
}
