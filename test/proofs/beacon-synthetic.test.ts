import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { bls12_381 } from '@noble/curves/bls12-381.js';
import { configFromSpecYaml, forkAtSlot, MAINNET_CONFIG, periodAtSlot, updateTimeout } from '../../proofs/beacon/config.ts';
import { syncCommitteeRoot } from '../../proofs/beacon/merkle.ts';
import { fastAggregateVerifyPoints, decodePubkey, type G1Point } from '../../proofs/beacon/bls.ts';
import { decodeSsz } from '../../proofs/beacon/decode.ts';
import { executionAnchor, finalizedExecution } from '../../proofs/beacon/execution.ts';
import { beaconRoot } from '../../proofs/beacon/header.ts';
import { checkSyncPeriod, forceUpdate, initializeStore, processFinalityUpdate, processOptimisticUpdate, processUpdate, validateUpdate } from '../../proofs/beacon/lightclient.ts';
import { lightClientTypes } from '../../proofs/beacon/ssz.ts';
import { snappyCompress, snappyUncompress } from '../../proofs/beacon/snappy.ts';
import type { LightClientStore } from '../../proofs/beacon/store.ts';
import { h, makeBootstrap, makeCommittee, makeHeader, makeUpdate, minimalConfig, signAggregate } from './fixtures/beacon/synthetic.ts';
import { syncCommitteeSigningRoot } from '../../proofs/beacon/signing.ts';
import { isProofFailure } from '../../proofs/result.ts';

// Minimal preset: 32 members, 8 slots per epoch, 64 slots per sync period.
const cfg = minimalConfig('deneb');
const A = makeCommittee(32, 'A');
const B = makeCommittee(32, 'B');
const C = makeCommittee(32, 'C');

function boot(config = cfg, slot = 16): LightClientStore {
  const { bootstrap, trustedRoot } = makeBootstrap(config, slot, A, 'chain');
  const r = initializeStore(config, bootstrap, trustedRoot);
  if (!r.ok) throw new Error(`bootstrap: ${r.reason} ${r.detail}`);
  return r.store;
}

/** Store at slot 16 (period 0) that also knows the next committee B. */
function bootWithNext(config = cfg): LightClientStore {
  const s = boot(config);
  const fin = makeHeader(config, 24, h('s24'), 'chain');
  const u = makeUpdate(config, { attestedSlot: 40, signatureSlot: 41, finalized: fin, next: B, signers: A, participants: 32 });
  const r = processUpdate(s, u, 41, config);
  if (!r.ok) throw new Error(`${r.reason} ${r.detail}`);
  return r.store;
}

describe('beacon light client (synthetic chain, keys made here)', () => {
  it('bootstraps only from the trusted root and a valid committee branch', () => {
    const { bootstrap, trustedRoot } = makeBootstrap(cfg, 16, A, 'chain');
    expect(initializeStore(cfg, bootstrap, trustedRoot).ok).toBe(true);
    const wrongRoot = initializeStore(cfg, bootstrap, h('other'));
    expect(wrongRoot.ok === false && wrongRoot.reason).toBe('untrusted_header');
    const otherCommittee = initializeStore(cfg, { ...bootstrap, current_sync_committee: B.committee }, trustedRoot);
    expect(otherCommittee.ok === false && otherCommittee.reason).toBe('beacon_sync_committee_branch_invalid');
    const badExec = { ...bootstrap, header: { ...bootstrap.header, execution: { ...bootstrap.header.execution, block_number: 999 } } };
    const r = initializeStore(cfg, badExec, beaconRoot(badExec.header));
    expect(r.ok === false && r.reason).toBe('beacon_execution_branch_invalid');
  });

  it('finalizes with a supermajority and links the finalized header to its execution block', () => {
    const s = boot();
    const fin = makeHeader(cfg, 24, h('s24'), 'chain');
    const u = makeUpdate(cfg, { attestedSlot: 40, signatureSlot: 41, finalized: fin, next: B, signers: A, participants: 22 });
    const r = processUpdate(s, u, 41, cfg);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.finalityAdvanced).toBe(true);
    expect(r.store.finalizedHeader.beacon.slot).toBe(24);
    expect(r.store.nextSyncCommittee?.committee.pubkeys[0]).toEqual(B.committee.pubkeys[0]);
    const anchor = finalizedExecution(r.store, cfg);
    expect(anchor.ok && anchor.anchor.blockHash).toBe(`0x${Buffer.from(fin.execution.block_hash).toString('hex')}`);
    expect(anchor.ok && anchor.anchor.stateRoot).toBe(`0x${Buffer.from(fin.execution.state_root).toString('hex')}`);
  });

  it('below 2/3 participation the update is only optimistic; with 0 it is rejected', () => {
    const s = boot();
    const fin = makeHeader(cfg, 24, h('s24'), 'chain');
    // 21 of 32: 63 < 64, not a supermajority, but above the 1-participant minimum.
    const u = makeUpdate(cfg, { attestedSlot: 40, signatureSlot: 41, finalized: fin, signers: A, participants: 21 });
    const r = processUpdate(s, u, 41, cfg);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.finalityAdvanced).toBe(false);
    expect(r.optimisticAdvanced).toBe(true);
    expect(r.store.finalizedHeader.beacon.slot).toBe(16);
    expect(r.store.optimisticHeader.beacon.slot).toBe(40);
    const none = makeUpdate(cfg, { attestedSlot: 40, signatureSlot: 41, finalized: fin, signers: A, participants: 0 });
    const z = validateUpdate(s, none, 41, cfg);
    expect(z.ok === false && z.reason).toBe('insufficient_signatures');
  });

  it('an optimistic update is never finality (property)', () => {
    const s = bootWithNext();
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 32 }), fc.integer({ min: 49, max: 120 }), (participants, attestedSlot) => {
        const u = makeUpdate(cfg, { attestedSlot, signatureSlot: attestedSlot + 1, signers: attestedSlot + 1 >= 64 ? B : A, participants, seed: `opt${attestedSlot}` });
        const r = processOptimisticUpdate(s, { attested_header: u.attested_header, sync_aggregate: u.sync_aggregate, signature_slot: u.signature_slot }, attestedSlot + 1, cfg);
        expect(r.ok).toBe(true);
        if (!r.ok) return;
        expect(r.finalityAdvanced).toBe(false);
        expect(beaconRoot(r.store.finalizedHeader)).toEqual(beaconRoot(s.finalizedHeader));
        expect(r.store.currentSyncCommittee).toBe(s.currentSyncCommittee);
      }),
      { numRuns: 6 },
    );
  });

  it('finality updates advance finality; the period rotates to the next committee', () => {
    let s = bootWithNext();
    const fin = makeHeader(cfg, 72, h('s72'), 'chain');
    const u = makeUpdate(cfg, { attestedSlot: 88, signatureSlot: 89, finalized: fin, signers: B, participants: 30 });
    const r = processFinalityUpdate(s, { attested_header: u.attested_header, finalized_header: u.finalized_header, finality_branch: u.finality_branch, sync_aggregate: u.sync_aggregate, signature_slot: 89 }, 89, cfg);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    s = r.store;
    expect(r.finalityAdvanced).toBe(true);
    expect(periodAtSlot(cfg, s.finalizedHeader.beacon.slot)).toBe(1);
    expect(s.currentSyncCommittee.committee.pubkeys[3]).toEqual(B.committee.pubkeys[3]);
    expect(s.nextSyncCommittee).toBeNull();
    // Signed by the old committee A in period 1: rejected.
    const stale = makeUpdate(cfg, { attestedSlot: 100, signatureSlot: 101, signers: A, participants: 32 });
    const bad = validateUpdate(s, stale, 101, cfg);
    expect(bad.ok === false && bad.reason).toBe('signature_invalid');
  });

  it('a client a full sync period behind needs a new bootstrap and says so', () => {
    const s = bootWithNext();
    const far = makeUpdate(cfg, { attestedSlot: 140, signatureSlot: 141, signers: C, participants: 32 });
    const r = validateUpdate(s, far, 141, cfg);
    expect(r.ok === false && r.reason).toBe('trust_expired');
    expect(r.ok === false && r.detail).toMatch(/new bootstrap/);
    const st = checkSyncPeriod(s, 141, cfg);
    expect(st.ok === false && st.reason).toBe('trust_expired');
    expect(checkSyncPeriod(s, 100, cfg).ok).toBe(true);
    // Next period without the next committee: the committee is unknown, not expired.
    const s0 = boot();
    const next = makeUpdate(cfg, { attestedSlot: 70, signatureSlot: 71, signers: B, participants: 32 });
    const n = validateUpdate(s0, next, 71, cfg);
    expect(n.ok === false && n.reason).toBe('beacon_sync_committee_unknown');
  });

  it('rejects updates from the future or out of slot order', () => {
    const s = boot();
    const u = makeUpdate(cfg, { attestedSlot: 40, signatureSlot: 41, signers: A, participants: 32 });
    const r = validateUpdate(s, u, 40, cfg);
    expect(r.ok === false && r.reason).toBe('beacon_slot_order');
  });

  it('force update after UPDATE_TIMEOUT applies the best update and marks it forced', () => {
    const s = bootWithNext();
    const u = makeUpdate(cfg, { attestedSlot: 50, signatureSlot: 51, signers: A, participants: 20 });
    const r = processUpdate(s, u, 51, cfg);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const early = forceUpdate(r.store, 24 + 10, cfg);
    expect(early.ok && early.applied).toBe(false);
    const f = forceUpdate(r.store, 24 + updateTimeout(cfg) + 1, cfg);
    expect(f.ok && f.applied).toBe(true);
    if (!f.ok) return;
    expect(f.store.finalizedHeader.beacon.slot).toBe(50);
    expect(f.store.finalizedByForce).toBe(true);
    const e = finalizedExecution(f.store, cfg);
    expect(e.ok === false && e.reason).toBe('insufficient_signatures');
    expect(executionAnchor(f.store.finalizedHeader, cfg).ok).toBe(true);
  });

  it('wrong fork version, wrong genesis root, wrong DST: signature_invalid', () => {
    const s = boot();
    const fin = makeHeader(cfg, 24, h('s24'), 'chain');
    const u = makeUpdate(cfg, { attestedSlot: 40, signatureSlot: 41, finalized: fin, signers: A, participants: 32 });
    expect(validateUpdate(s, u, 41, cfg).ok).toBe(true);
    const wrongFork = { ...cfg, forks: { ...cfg.forks, deneb: { ...cfg.forks.deneb, version: Uint8Array.from([9, 9, 9, 9]) } } };
    const a = validateUpdate(s, u, 41, wrongFork);
    expect(a.ok === false && a.reason).toBe('signature_invalid');
    const wrongGvr = { ...cfg, genesisValidatorsRoot: h('other gvr') };
    const b = validateUpdate(s, u, 41, wrongGvr);
    expect(b.ok === false && b.reason).toBe('signature_invalid');
    const bits = Array.from({ length: 32 }, () => true);
    const nul = signAggregate(A, bits, syncCommitteeSigningRoot(cfg, u.attested_header.beacon, 41), 'BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_NUL_');
    const c = validateUpdate(s, { ...u, sync_aggregate: { ...u.sync_aggregate, sync_committee_signature: nul } }, 41, cfg);
    expect(c.ok === false && c.reason).toBe('signature_invalid');
  });

  it('mutating a branch node is rejected with the branch named (property)', () => {
    const s = boot();
    const fin = makeHeader(cfg, 24, h('s24'), 'chain');
    const u = makeUpdate(cfg, { attestedSlot: 40, signatureSlot: 41, finalized: fin, next: B, signers: A, participants: 32 });
    fc.assert(
      fc.property(fc.constantFrom('finality_branch', 'next_sync_committee_branch', 'execution_branch'), fc.nat(), fc.integer({ min: 0, max: 31 }), (which, node, byte) => {
        const flip = (br: Uint8Array[]) => br.map((n, i) => (i === node % br.length ? n.map((x, j) => (j === byte ? x ^ 1 : x)) : n));
        const m =
          which === 'execution_branch'
            ? { ...u, attested_header: { ...u.attested_header, execution_branch: flip(u.attested_header.execution_branch) } }
            : { ...u, [which]: flip(u[which]) };
        const r = validateUpdate(s, m, 41, cfg);
        const want = { finality_branch: 'beacon_finality_branch_invalid', next_sync_committee_branch: 'beacon_sync_committee_branch_invalid', execution_branch: 'beacon_execution_branch_invalid' }[which];
        expect(r.ok === false && r.reason).toBe(want);
      }),
      { numRuns: 30 },
    );
  });

  it('Electra: deeper gindices (169, 86, 87) with branches one node longer', () => {
    const ecfg = minimalConfig('electra');
    const { bootstrap, trustedRoot } = makeBootstrap(ecfg, 16, A, 'e');
    expect(bootstrap.current_sync_committee_branch).toHaveLength(6);
    const init = initializeStore(ecfg, bootstrap, trustedRoot);
    expect(init.ok).toBe(true);
    if (!init.ok) return;
    const fin = makeHeader(ecfg, 24, h('e24'), 'e');
    const u = makeUpdate(ecfg, { attestedSlot: 40, signatureSlot: 41, finalized: fin, next: B, signers: A, participants: 32, seed: 'e' });
    expect(u.finality_branch).toHaveLength(7);
    // Round trip through the Electra SSZ containers and snappy, as the spec tests store them.
    const t = lightClientTypes(ecfg.preset, 'electra').update;
    const bytes = snappyCompress(t.serialize(u as never));
    const back = decodeSsz('update', snappyUncompress(bytes), ecfg.preset, 'electra');
    const r = processUpdate(init.store, back, 41, ecfg);
    expect(r.ok && r.finalityAdvanced).toBe(true);
    // The same update checked under a Deneb config uses the shallower gindices and fails.
    const d = validateUpdate(init.store, back, 41, minimalConfig('deneb'));
    expect(d.ok).toBe(false);
  });

  it('Fulu: Electra containers, its own fork version in the signing domain', () => {
    const fcfg = minimalConfig('fulu');
    expect(forkAtSlot(MAINNET_CONFIG, 411392 * 32)).toBe('fulu');
    const { bootstrap, trustedRoot } = makeBootstrap(fcfg, 16, A, 'fu');
    expect(bootstrap.current_sync_committee_branch).toHaveLength(6);
    const init = initializeStore(fcfg, bootstrap, trustedRoot);
    if (!init.ok) throw new Error(init.detail);
    const u = makeUpdate(fcfg, { attestedSlot: 40, signatureSlot: 41, finalized: makeHeader(fcfg, 24, h('fu24'), 'fu'), signers: A, participants: 32, seed: 'fu' });
    expect(validateUpdate(init.store, u, 41, fcfg).ok).toBe(true);
    const asElectra = validateUpdate(init.store, u, 41, minimalConfig('electra'));
    expect(asElectra.ok === false && asElectra.reason).toBe('signature_invalid');
  });

  it('signature byte flips are rejected (property), and reasons are in the closed set', () => {
    const s = boot();
    const u = makeUpdate(cfg, { attestedSlot: 40, signatureSlot: 41, signers: A, participants: 32 });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 95 }), fc.integer({ min: 1, max: 255 }), (i, x) => {
        const sig = Uint8Array.from(u.sync_aggregate.sync_committee_signature);
        sig[i]! ^= x;
        const r = validateUpdate(s, { ...u, sync_aggregate: { ...u.sync_aggregate, sync_committee_signature: sig } }, 41, cfg);
        expect(r.ok === false && r.reason).toBe('signature_invalid');
        expect(r.ok === false && isProofFailure(r.reason)).toBe(true);
      }),
      { numRuns: 8 },
    );
  });

  it('picks the fork by epoch: domain from the slot before the signature slot, execution root per header fork', () => {
    // Capella from genesis, Deneb from epoch 4 (slot 32).
    const y: Record<string, unknown> = { PRESET_BASE: 'minimal', GENESIS_FORK_VERSION: '0x00000001', ALTAIR_FORK_VERSION: '0x01000001', ALTAIR_FORK_EPOCH: 0, BELLATRIX_FORK_VERSION: '0x02000001', BELLATRIX_FORK_EPOCH: 0, CAPELLA_FORK_VERSION: '0x03000001', CAPELLA_FORK_EPOCH: 0, DENEB_FORK_VERSION: '0x04000001', DENEB_FORK_EPOCH: 4 };
    const fcfg = configFromSpecYaml(y, h('gvr'));
    expect(forkAtSlot(fcfg, 31)).toBe('capella');
    expect(forkAtSlot(fcfg, 32)).toBe('deneb');
    const { bootstrap, trustedRoot } = makeBootstrap(fcfg, 8, A, 'f');
    const init = initializeStore(fcfg, bootstrap, trustedRoot);
    expect(init.ok).toBe(true);
    if (!init.ok) return;
    // Capella header (no blob fields hashed) finalized, Deneb header attested, signed at slot 33 (domain: Deneb).
    const fin = makeHeader(fcfg, 16, h('f16'), 'f');
    const u = makeUpdate(fcfg, { attestedSlot: 32, signatureSlot: 33, finalized: fin, signers: A, participants: 32, seed: 'f' });
    expect(processUpdate(init.store, u, 33, fcfg).ok).toBe(true);
    // Capella attested header signed at 33 (Deneb domain) verifies; claimed signed at
    // slot 32, the domain is Capella's (slot 31) and the same signature no longer verifies.
    const u2 = makeUpdate(fcfg, { attestedSlot: 31, signatureSlot: 33, finalized: fin, signers: A, participants: 32, seed: 'f' });
    expect(validateUpdate(init.store, u2, 33, fcfg).ok).toBe(true);
    const early = validateUpdate(init.store, { ...u2, signature_slot: 32 }, 33, fcfg);
    expect(early.ok === false && early.reason).toBe('signature_invalid');
    // A header at a Capella slot that carries blob gas is not a valid Capella header.
    const blob = { ...fin, execution: { ...fin.execution, blob_gas_used: 1 } };
    expect(executionAnchor(blob, fcfg).ok).toBe(false);
  });

  it('the direct sync-committee root equals the SSZ library root (32 and 512 members)', () => {
    for (const preset of [cfg.preset, MAINNET_CONFIG.preset]) {
      fc.assert(
        fc.property(fc.uint8Array({ minLength: 48, maxLength: 48 }), (seed) => {
          const c = { pubkeys: Array.from({ length: preset.syncCommitteeSize }, (_, i) => seed.map((b, j) => (b + i * (j + 1)) & 0xff)), aggregate_pubkey: seed };
          expect(syncCommitteeRoot(c.pubkeys, c.aggregate_pubkey)).toEqual(lightClientTypes(preset, 'deneb').syncCommittee.hashTreeRoot(c));
        }),
        { numRuns: 3 },
      );
    }
  });

  it('fastAggregateVerify matches noble with the POP DST', () => {
    const bits = Array.from({ length: 32 }, (_, i) => i % 3 !== 0);
    const msg = h('msg');
    const sig = signAggregate(A, bits, msg);
    const pts = A.committee.pubkeys.filter((_, i) => bits[i]).map((p) => decodePubkey(p) as G1Point);
    expect(fastAggregateVerifyPoints(pts, msg, sig)).toBe(true);
    const sigs = bls12_381.longSignatures;
    expect(sigs.verify(sig, sigs.hash(msg, 'BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_'), sigs.aggregatePublicKeys(pts))).toBe(true);
    expect(fastAggregateVerifyPoints(pts.slice(1), msg, sig)).toBe(false);
    expect(fastAggregateVerifyPoints([], msg, sig)).toBe(false);
    expect(decodePubkey(new Uint8Array(48))).toBeNull();
  });
});
