/**
 * The sync-committee light client (consensus-specs altair/light-client
 * sync-protocol, with the Capella, Deneb and Electra changes). Pure: the
 * caller passes the current slot and the chain config; every step returns a
 * new store or a failure with a reason, never an exception.
 */
import { fail, ok, type VerifyResult } from '../result.ts';
import { forkAtSlot, periodAtSlot, updateTimeout, type BeaconChainConfig } from './config.ts';
import { fastAggregateVerifyPoints, type G1Point } from './bls.ts';
import { beaconRoot, headerEquals, isValidLightClientHeader } from './header.ts';
import { bytesEqual, isValidNormalizedBranch, isZero, syncCommitteeRoot } from './merkle.ts';
import { syncCommitteeSigningRoot } from './signing.ts';
import { floorLog2, gindices } from './ssz.ts';
import { trustCommittee, type LightClientStore } from './store.ts';
import {
  emptyHeader,
  emptySyncCommittee,
  zeroBranch,
  type LightClientBootstrap,
  type LightClientFinalityUpdate,
  type LightClientHeader,
  type LightClientOptimisticUpdate,
  type LightClientUpdate,
  type SyncCommittee,
} from './types.ts';

const MIN_SYNC_COMMITTEE_PARTICIPANTS = 1;

function hex(b: Uint8Array): string {
  return `0x${Buffer.from(b).toString('hex')}`;
}

function committeeRoot(c: SyncCommittee): Uint8Array {
  return syncCommitteeRoot(c.pubkeys, c.aggregate_pubkey);
}

function committeeEquals(a: SyncCommittee, b: SyncCommittee): boolean {
  return bytesEqual(a.aggregate_pubkey, b.aggregate_pubkey) && a.pubkeys.length === b.pubkeys.length && a.pubkeys.every((p, i) => bytesEqual(p, b.pubkeys[i]!));
}

function participants(u: LightClientUpdate): number {
  return u.sync_aggregate.sync_committee_bits.getTrueBitIndexes().length;
}

const isSyncCommitteeUpdate = (u: LightClientUpdate) => !u.next_sync_committee_branch.every(isZero);
const isFinalityUpdate = (u: LightClientUpdate) => !u.finality_branch.every(isZero);

/** initialize_light_client_store: the bootstrap must be the block the caller trusts. */
export function initializeStore(cfg: BeaconChainConfig, bootstrap: LightClientBootstrap, trustedBlockRoot: Uint8Array): VerifyResult<{ store: LightClientStore }> {
  try {
    if (bootstrap.current_sync_committee.pubkeys.length !== cfg.preset.syncCommitteeSize) {
      return fail('proof_malformed', `sync committee has ${bootstrap.current_sync_committee.pubkeys.length} keys, preset ${cfg.preset.name} needs ${cfg.preset.syncCommitteeSize}`);
    }
    if (!isValidLightClientHeader(cfg, bootstrap.header)) return fail('beacon_execution_branch_invalid', 'bootstrap header: execution branch does not lead to body_root');
    const root = beaconRoot(bootstrap.header);
    if (!bytesEqual(root, trustedBlockRoot)) return fail('untrusted_header', `bootstrap header root ${hex(root)} is not the trusted block root ${hex(trustedBlockRoot)}`);
    const slot = bootstrap.header.beacon.slot;
    const ok_ = isValidNormalizedBranch(committeeRoot(bootstrap.current_sync_committee), bootstrap.current_sync_committee_branch, gindices(forkAtSlot(cfg, slot)).currentSyncCommittee, bootstrap.header.beacon.state_root);
    if (!ok_) return fail('beacon_sync_committee_branch_invalid', 'current_sync_committee_branch does not lead to the bootstrap state root');
    return ok({
      store: {
        finalizedHeader: bootstrap.header,
        currentSyncCommittee: trustCommittee(bootstrap.current_sync_committee),
        nextSyncCommittee: null,
        bestValidUpdate: null,
        optimisticHeader: bootstrap.header,
        previousMaxActiveParticipants: 0,
        currentMaxActiveParticipants: 0,
        finalizedByForce: false,
      },
    });
  } catch (err) {
    return fail('proof_malformed', `bootstrap: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** validate_light_client_update, plus the rule that a client a full sync period behind needs a new bootstrap. */
export function validateUpdate(store: LightClientStore, update: LightClientUpdate, currentSlot: number, cfg: BeaconChainConfig): VerifyResult {
  try {
    return validateUnsafe(store, update, currentSlot, cfg);
  } catch (err) {
    return fail('proof_malformed', `update: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function validateUnsafe(store: LightClientStore, update: LightClientUpdate, currentSlot: number, cfg: BeaconChainConfig): VerifyResult {
  const size = cfg.preset.syncCommitteeSize;
  if (update.sync_aggregate.sync_committee_bits.bitLen !== size || update.next_sync_committee.pubkeys.length !== size) {
    return fail('proof_malformed', `committee size does not match preset ${cfg.preset.name} (${size})`);
  }
  const count = participants(update);
  if (count < MIN_SYNC_COMMITTEE_PARTICIPANTS) return fail('insufficient_signatures', 'no sync committee member signed');
  if (!isValidLightClientHeader(cfg, update.attested_header)) return fail('beacon_execution_branch_invalid', 'attested header: execution branch does not lead to body_root');
  const attestedSlot = update.attested_header.beacon.slot;
  const finalizedSlot = update.finalized_header.beacon.slot;
  if (!(currentSlot >= update.signature_slot && update.signature_slot > attestedSlot && attestedSlot >= finalizedSlot)) {
    return fail('beacon_slot_order', `need current ${currentSlot} >= signature ${update.signature_slot} > attested ${attestedSlot} >= finalized ${finalizedSlot}`);
  }
  const storePeriod = periodAtSlot(cfg, store.finalizedHeader.beacon.slot);
  const signaturePeriod = periodAtSlot(cfg, update.signature_slot);
  const nextKnown = store.nextSyncCommittee !== null;
  if (signaturePeriod > storePeriod + 1 || signaturePeriod < storePeriod) {
    if (signaturePeriod > storePeriod + 1) {
      return fail('trust_expired', `update signed in sync period ${signaturePeriod}, store is at period ${storePeriod}: a full sync period behind, a new bootstrap is needed`);
    }
    return fail('beacon_update_not_newer', `update signed in sync period ${signaturePeriod}, before the store's period ${storePeriod}`);
  }
  if (signaturePeriod === storePeriod + 1 && !nextKnown) {
    return fail('beacon_sync_committee_unknown', `update signed in period ${signaturePeriod}; the store does not know that committee yet (supply an update of period ${storePeriod} with the next committee)`);
  }
  const attestedPeriod = periodAtSlot(cfg, attestedSlot);
  const hasNextCommittee = !nextKnown && isSyncCommitteeUpdate(update) && attestedPeriod === storePeriod;
  if (!(attestedSlot > store.finalizedHeader.beacon.slot || hasNextCommittee)) {
    return fail('beacon_update_not_newer', `attested slot ${attestedSlot} is not after the finalized slot ${store.finalizedHeader.beacon.slot} and brings no next committee`);
  }
  const attestedFork = forkAtSlot(cfg, attestedSlot);
  const g = gindices(attestedFork);
  if (!isFinalityUpdate(update)) {
    if (!headerEquals(update.finalized_header, emptyHeader())) return fail('beacon_finality_branch_invalid', 'finalized header given without a finality branch');
  } else {
    let finalizedRoot: Uint8Array;
    if (finalizedSlot === 0) {
      if (!headerEquals(update.finalized_header, emptyHeader())) return fail('beacon_finality_branch_invalid', 'a genesis finalized header must be empty');
      finalizedRoot = new Uint8Array(32);
    } else {
      if (!isValidLightClientHeader(cfg, update.finalized_header)) return fail('beacon_execution_branch_invalid', 'finalized header: execution branch does not lead to body_root');
      finalizedRoot = beaconRoot(update.finalized_header);
    }
    if (!isValidNormalizedBranch(finalizedRoot, update.finality_branch, g.finalizedRoot, update.attested_header.beacon.state_root)) {
      return fail('beacon_finality_branch_invalid', 'finality_branch does not lead from the finalized header to the attested state root');
    }
  }
  if (!isSyncCommitteeUpdate(update)) {
    if (!committeeEquals(update.next_sync_committee, emptySyncCommittee(size))) return fail('beacon_sync_committee_branch_invalid', 'next sync committee given without a branch');
  } else {
    if (attestedPeriod === storePeriod && store.nextSyncCommittee && !committeeEquals(update.next_sync_committee, store.nextSyncCommittee.committee)) {
      return fail('beacon_next_sync_committee_mismatch', 'the update names another next sync committee than the store holds');
    }
    const leaf = committeeRoot(update.next_sync_committee);
    if (!isValidNormalizedBranch(leaf, update.next_sync_committee_branch, g.nextSyncCommittee, update.attested_header.beacon.state_root)) {
      return fail('beacon_sync_committee_branch_invalid', 'next_sync_committee_branch does not lead to the attested state root');
    }
  }
  const committee = signaturePeriod === storePeriod ? store.currentSyncCommittee : store.nextSyncCommittee!;
  const keys: G1Point[] = [];
  for (const i of update.sync_aggregate.sync_committee_bits.getTrueBitIndexes()) {
    const p = committee.points[i];
    if (!p) return fail('signature_invalid', `participant ${i} has no valid public key`);
    keys.push(p);
  }
  const signingRoot = syncCommitteeSigningRoot(cfg, update.attested_header.beacon, update.signature_slot);
  if (!fastAggregateVerifyPoints(keys, signingRoot, update.sync_aggregate.sync_committee_signature)) {
    return fail('signature_invalid', `sync aggregate signature of ${count}/${size} participants does not verify (fork ${forkAtSlot(cfg, Math.max(update.signature_slot, 1) - 1)})`);
  }
  return ok();
}

function isBetterUpdate(cfg: BeaconChainConfig, n: LightClientUpdate, o: LightClientUpdate): boolean {
  const max = n.sync_aggregate.sync_committee_bits.bitLen;
  const nn = participants(n);
  const on = participants(o);
  const nSuper = nn * 3 >= max * 2;
  const oSuper = on * 3 >= max * 2;
  if (nSuper !== oSuper) return nSuper;
  if (!nSuper && nn !== on) return nn > on;
  const relevant = (u: LightClientUpdate) => isSyncCommitteeUpdate(u) && periodAtSlot(cfg, u.attested_header.beacon.slot) === periodAtSlot(cfg, u.signature_slot);
  if (relevant(n) !== relevant(o)) return relevant(n);
  if (isFinalityUpdate(n) !== isFinalityUpdate(o)) return isFinalityUpdate(n);
  if (isFinalityUpdate(n)) {
    const scf = (u: LightClientUpdate) => periodAtSlot(cfg, u.finalized_header.beacon.slot) === periodAtSlot(cfg, u.attested_header.beacon.slot);
    if (scf(n) !== scf(o)) return scf(n);
  }
  if (nn !== on) return nn > on;
  if (n.attested_header.beacon.slot !== o.attested_header.beacon.slot) return n.attested_header.beacon.slot < o.attested_header.beacon.slot;
  return n.signature_slot < o.signature_slot;
}

/** apply_light_client_update on a copy. */
function apply(cfg: BeaconChainConfig, s: LightClientStore, update: LightClientUpdate): VerifyResult<{ store: LightClientStore }> {
  const out = { ...s };
  const storePeriod = periodAtSlot(cfg, s.finalizedHeader.beacon.slot);
  const finalizedPeriod = periodAtSlot(cfg, update.finalized_header.beacon.slot);
  // An all-zero committee is the spec's "unknown" (is_next_sync_committee_known).
  const next = committeeEquals(update.next_sync_committee, emptySyncCommittee(cfg.preset.syncCommitteeSize)) ? null : trustCommittee(update.next_sync_committee);
  if (!s.nextSyncCommittee) {
    if (finalizedPeriod !== storePeriod) return fail('beacon_sync_committee_unknown', `cannot apply: finalized period ${finalizedPeriod} is not the store's period ${storePeriod}`);
    out.nextSyncCommittee = next;
  } else if (finalizedPeriod === storePeriod + 1) {
    out.currentSyncCommittee = s.nextSyncCommittee;
    out.nextSyncCommittee = next;
    out.previousMaxActiveParticipants = s.currentMaxActiveParticipants;
    out.currentMaxActiveParticipants = 0;
  }
  if (update.finalized_header.beacon.slot > s.finalizedHeader.beacon.slot) {
    out.finalizedHeader = update.finalized_header;
    if (out.finalizedHeader.beacon.slot > out.optimisticHeader.beacon.slot) out.optimisticHeader = out.finalizedHeader;
  }
  return ok({ store: out });
}

export interface ProcessOutcome {
  store: LightClientStore;
  /** The finalized header moved forward through a supermajority-signed finality proof. */
  finalityAdvanced: boolean;
  /** The optimistic header moved forward (signed by more than the safety threshold; not final). */
  optimisticAdvanced: boolean;
}

/** process_light_client_update: validate, then track the best update and advance the headers. */
export function processUpdate(store: LightClientStore, update: LightClientUpdate, currentSlot: number, cfg: BeaconChainConfig): VerifyResult<ProcessOutcome> {
  const v = validateUpdate(store, update, currentSlot, cfg);
  if (!v.ok) return v;
  let s: LightClientStore = { ...store };
  const bits = update.sync_aggregate.sync_committee_bits;
  const count = participants(update);
  if (s.bestValidUpdate === null || isBetterUpdate(cfg, update, s.bestValidUpdate)) s.bestValidUpdate = update;
  s.currentMaxActiveParticipants = Math.max(s.currentMaxActiveParticipants, count);
  const safety = Math.floor(Math.max(s.previousMaxActiveParticipants, s.currentMaxActiveParticipants) / 2);
  let optimisticAdvanced = false;
  if (count > safety && update.attested_header.beacon.slot > s.optimisticHeader.beacon.slot) {
    s.optimisticHeader = update.attested_header;
    optimisticAdvanced = true;
  }
  const hasFinalizedNext =
    s.nextSyncCommittee === null &&
    isSyncCommitteeUpdate(update) &&
    isFinalityUpdate(update) &&
    periodAtSlot(cfg, update.finalized_header.beacon.slot) === periodAtSlot(cfg, update.attested_header.beacon.slot);
  let finalityAdvanced = false;
  if (count * 3 >= bits.bitLen * 2 && (update.finalized_header.beacon.slot > s.finalizedHeader.beacon.slot || hasFinalizedNext)) {
    const before = s.finalizedHeader.beacon.slot;
    const a = apply(cfg, s, update);
    if (!a.ok) return a;
    s = { ...a.store, bestValidUpdate: null, finalizedByForce: a.store.finalizedHeader.beacon.slot > before ? false : s.finalizedByForce };
    finalityAdvanced = s.finalizedHeader.beacon.slot > before;
  }
  return ok({ store: s, finalityAdvanced, optimisticAdvanced });
}

/**
 * process_light_client_store_force_update: after UPDATE_TIMEOUT without
 * finality, apply the best valid update (its attested header may become the
 * finalized header). The result is marked `finalizedByForce`; a relayer should
 * not call this, or not relay from a forced header.
 */
export function forceUpdate(store: LightClientStore, currentSlot: number, cfg: BeaconChainConfig): VerifyResult<{ store: LightClientStore; applied: boolean }> {
  const best = store.bestValidUpdate;
  if (!(currentSlot > store.finalizedHeader.beacon.slot + updateTimeout(cfg) && best !== null)) return ok({ store, applied: false });
  const u: LightClientUpdate = best.finalized_header.beacon.slot <= store.finalizedHeader.beacon.slot ? { ...best, finalized_header: best.attested_header } : best;
  const before = store.finalizedHeader.beacon.slot;
  const a = apply(cfg, store, u);
  if (!a.ok) return a;
  const moved = a.store.finalizedHeader.beacon.slot > before;
  return ok({ store: { ...a.store, bestValidUpdate: null, finalizedByForce: moved ? true : store.finalizedByForce }, applied: true });
}

function nextCommitteeDepth(cfg: BeaconChainConfig, slot: number): number {
  return floorLog2(gindices(forkAtSlot(cfg, slot)).nextSyncCommittee);
}

/** process_light_client_finality_update. */
export function processFinalityUpdate(store: LightClientStore, fu: LightClientFinalityUpdate, currentSlot: number, cfg: BeaconChainConfig): VerifyResult<ProcessOutcome> {
  return processUpdate(
    store,
    { ...fu, next_sync_committee: emptySyncCommittee(cfg.preset.syncCommitteeSize), next_sync_committee_branch: zeroBranch(nextCommitteeDepth(cfg, fu.attested_header.beacon.slot)) },
    currentSlot,
    cfg,
  );
}

/**
 * process_light_client_optimistic_update. Never finality: the update carries
 * no finality proof, and the finalized header and committees of the result are
 * those of the input store, whatever happens inside.
 */
export function processOptimisticUpdate(store: LightClientStore, ou: LightClientOptimisticUpdate, currentSlot: number, cfg: BeaconChainConfig): VerifyResult<ProcessOutcome> {
  const r = processUpdate(
    store,
    {
      ...ou,
      next_sync_committee: emptySyncCommittee(cfg.preset.syncCommitteeSize),
      next_sync_committee_branch: zeroBranch(nextCommitteeDepth(cfg, ou.attested_header.beacon.slot)),
      finalized_header: emptyHeader(),
      finality_branch: zeroBranch(floorLog2(gindices(forkAtSlot(cfg, ou.attested_header.beacon.slot)).finalizedRoot)),
    },
    currentSlot,
    cfg,
  );
  if (!r.ok) return r;
  const s = r.store;
  return ok({
    store: { ...s, finalizedHeader: store.finalizedHeader, currentSyncCommittee: store.currentSyncCommittee, nextSyncCommittee: store.nextSyncCommittee, finalizedByForce: store.finalizedByForce },
    finalityAdvanced: false,
    optimisticAdvanced: r.optimisticAdvanced,
  });
}

/**
 * Can this store still follow the chain at `currentSlot`? Committees it can
 * check reach one period past its finalized header; a store a full sync
 * period behind that cannot verify current updates and needs a new bootstrap.
 */
export function checkSyncPeriod(store: LightClientStore, currentSlot: number, cfg: BeaconChainConfig): VerifyResult<{ storePeriod: number; currentPeriod: number }> {
  const storePeriod = periodAtSlot(cfg, store.finalizedHeader.beacon.slot);
  const currentPeriod = periodAtSlot(cfg, currentSlot);
  if (currentPeriod > storePeriod + 1) {
    return fail('trust_expired', `store finalized in sync period ${storePeriod}, chain is in period ${currentPeriod}: a full sync period behind, a new bootstrap is needed`);
  }
  return ok({ storePeriod, currentPeriod });
}

export type { LightClientHeader };
