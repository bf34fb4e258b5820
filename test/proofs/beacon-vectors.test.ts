import { describe, it, expect, beforeAll } from 'vitest';
import fc from 'fast-check';
import { cpSync, mkdtempSync, readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { HAVE_VECTORS, vectorPath } from '../helpers/vectors.ts';
import { exitCodeOf, nodeVectorFs, runVectors } from '../../src/cli/vectors/runner.ts';
import { FORMATS, runApiFolder, runSpecSyncFolder } from '../../src/cli/vectors/beacon.ts';
import { MAINNET_CONFIG, MINIMAL_PRESET } from '../../proofs/beacon/config.ts';
import { lightClientTypes } from '../../proofs/beacon/ssz.ts';
import { decodeJson } from '../../proofs/beacon/decode.ts';
import { finalizedExecution } from '../../proofs/beacon/execution.ts';
import { initializeStore, processUpdate, validateUpdate } from '../../proofs/beacon/lightclient.ts';
import { snappyCompress, snappyUncompress } from '../../proofs/beacon/snappy.ts';
import type { LightClientStore } from '../../proofs/beacon/store.ts';
import type { LightClientUpdate } from '../../proofs/beacon/types.ts';

const HELIOS = vectorPath('ethereum', 'helios');
const SPEC = join(HELIOS, 'consensus-spec-tests-minimal');
const MAINNET = join(HELIOS, 'beacon-lc-mainnet-capella');
/** The checkpoint helios trusts for these files (recomputed by the vector collector, SOURCES.md). */
const MAINNET_TRUSTED_ROOT = '0x5afc212a7924789b2bc86acad3ab3a6ffb1f6e97253ea50bee7f4f51422c9275';
const hexBytes = (s: string) => Uint8Array.from(Buffer.from(s.slice(2), 'hex'));

if (!HAVE_VECTORS) console.warn(`[beacon] upstream vectors absent at ${HELIOS}: vector tests skipped`);

describe.skipIf(!HAVE_VECTORS)('beacon light client on upstream vectors', () => {
  it('qiao proof verify: every beacon case folder verifies, 4 cases', () => {
    const r = runVectors([SPEC, MAINNET], FORMATS, { now: new Date('2026-01-01T00:00:00Z'), trust: { beacon: { trustedBlockRoot: MAINNET_TRUSTED_ROOT } } });
    expect(r.cases).toHaveLength(4);
    expect(r.cases.every((c) => c.verdict === 'valid' && c.expected === null)).toBe(true);
    expect(exitCodeOf(r.cases)).toBe(0);
  }, 180_000);

  it('runs every step of each spec case and compares every check', () => {
    const steps = Object.fromEntries(readdirSync(join(SPEC, 'deneb')).map((d) => [d, runSpecSyncFolder(join(SPEC, 'deneb', d), nodeVectorFs)]));
    expect(Object.values(steps).every((s) => s.ok)).toBe(true);
    expect(steps.light_client_sync?.steps).toBe(10);
    expect(steps.advance_finality_without_sync_committee?.steps).toBe(5);
    expect(steps.supply_sync_committee_from_past_update?.steps).toBe(1);
  }, 120_000);

  it('gives the same verdicts from randomly named copies (format found by content)', () => {
    const base = mkdtempSync(join(tmpdir(), 'qiao-beacon-'));
    const dst: string[] = [];
    for (const d of readdirSync(join(SPEC, 'deneb'))) {
      const to = join(base, randomBytes(6).toString('hex'));
      cpSync(join(SPEC, 'deneb', d), to, { recursive: true });
      dst.push(to);
    }
    const m = join(base, randomBytes(6).toString('hex'));
    cpSync(MAINNET, m, { recursive: true });
    const r = runVectors([base], FORMATS, { now: new Date() });
    expect(r.cases).toHaveLength(4);
    expect(exitCodeOf(r.cases)).toBe(0);
  }, 180_000);

  it('files of a case seen alone are helpers (no line), other files are not claimed', () => {
    const r = runVectors([join(MAINNET, 'updates.json'), join(SPEC, 'deneb', 'light_client_sync', 'steps.yaml')], FORMATS, { now: new Date() });
    expect(r.cases).toHaveLength(0);
    expect(r.notices).toHaveLength(0);
    const other = runVectors([join(HELIOS, 'execution-rpc-mainnet-21925176', 'block.json')], FORMATS, { now: new Date() });
    expect(other.cases).toHaveLength(0);
    expect(other.notices).toHaveLength(1);
  });

  it('a wrong trusted root for the mainnet folder is untrusted_header', () => {
    const r = runApiFolder(MAINNET, nodeVectorFs, { trust: { beacon: { trustedBlockRoot: `0x${'11'.repeat(32)}` } } });
    expect(r.ok).toBe(false);
    expect(r.reason).toBe('untrusted_header');
  }, 120_000);

  it('a tampered copy is reported invalid with the reason (spec SSZ signature, mainnet JSON branch)', () => {
    const base = mkdtempSync(join(tmpdir(), 'qiao-beacon-bad-'));
    const spec = join(base, 'a');
    cpSync(join(SPEC, 'deneb', 'supply_sync_committee_from_past_update'), spec, { recursive: true });
    const upd = readdirSync(spec).find((f) => f.endsWith('.ssz_snappy') && f !== 'bootstrap.ssz_snappy')!;
    // Re-encode the update with one signature byte changed.
    const t = lightClientTypes(MINIMAL_PRESET, 'deneb').update;
    const v = t.deserialize(snappyUncompress(readFileSync(join(spec, upd))));
    v.sync_aggregate.sync_committee_signature[10]! ^= 0x01;
    writeFileSync(join(spec, upd), snappyCompress(t.serialize(v)));
    const bad = runVectors([spec], FORMATS, { now: new Date() });
    expect(bad.cases).toHaveLength(1);
    expect(bad.cases[0]).toMatchObject({ verdict: 'invalid', reason: 'signature_invalid' });
    const mainnet = join(base, 'b');
    cpSync(MAINNET, mainnet, { recursive: true });
    const updates = JSON.parse(readFileSync(join(mainnet, 'updates.json'), 'utf8')) as { data: { finality_branch: string[] } }[];
    updates[2]!.data.finality_branch[1] = `0x${'00'.repeat(31)}01`;
    writeFileSync(join(mainnet, 'updates.json'), JSON.stringify(updates));
    const r = runVectors([mainnet], FORMATS, { now: new Date() });
    expect(r.cases).toHaveLength(1);
    expect(r.cases[0]).toMatchObject({ verdict: 'invalid', reason: 'beacon_finality_branch_invalid' });
    expect(exitCodeOf(r.cases)).toBe(1);
  }, 120_000);

  describe('mutations of the mainnet (512-member) updates', () => {
    let store: LightClientStore;
    let update: LightClientUpdate;
    const json = (f: string) => JSON.parse(readFileSync(join(MAINNET, f), 'utf8')) as unknown;
    beforeAll(() => {
      const b = decodeJson('bootstrap', json('bootstrap.json'), MAINNET_CONFIG.preset);
      const init = initializeStore(MAINNET_CONFIG, b, hexBytes(MAINNET_TRUSTED_ROOT));
      if (!init.ok) throw new Error(init.detail);
      const ups = (json('updates.json') as unknown[]).map((u) => decodeJson('update', u, MAINNET_CONFIG.preset));
      const first = processUpdate(init.store, ups[0]!, ups[0]!.signature_slot, MAINNET_CONFIG);
      if (!first.ok) throw new Error(first.detail);
      store = first.store;
      update = ups[1]!;
      expect(validateUpdate(store, update, update.signature_slot, MAINNET_CONFIG).ok).toBe(true);
      const applied = processUpdate(store, update, update.signature_slot, MAINNET_CONFIG);
      expect(applied.ok && applied.finalityAdvanced).toBe(true);
      if (applied.ok) {
        const anchor = finalizedExecution(applied.store, MAINNET_CONFIG);
        expect(anchor.ok && anchor.anchor.blockNumber > 17_000_000n).toBe(true);
      }
    }, 120_000);

    const check = (u: LightClientUpdate, reason: string, cfg = MAINNET_CONFIG) => {
      const r = validateUpdate(store, u, u.signature_slot, cfg);
      expect(r.ok === false && r.reason).toBe(reason);
    };

    it('a signature byte', () => {
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 95 }), fc.integer({ min: 1, max: 255 }), (i, x) => {
          const sig = Uint8Array.from(update.sync_aggregate.sync_committee_signature);
          sig[i]! ^= x;
          check({ ...update, sync_aggregate: { ...update.sync_aggregate, sync_committee_signature: sig } }, 'signature_invalid');
        }),
        { numRuns: 4 },
      );
    }, 120_000);

    it('a participation bit dropped (the aggregate no longer matches)', () => {
      const on = update.sync_aggregate.sync_committee_bits.getTrueBitIndexes();
      fc.assert(
        fc.property(fc.constantFrom(...on), (i) => {
          const bits = update.sync_aggregate.sync_committee_bits.clone();
          bits.set(i, false);
          check({ ...update, sync_aggregate: { ...update.sync_aggregate, sync_committee_bits: bits } }, 'signature_invalid');
        }),
        { numRuns: 3 },
      );
    }, 120_000);

    it('a node of the finality or next-committee branch', () => {
      fc.assert(
        fc.property(fc.constantFrom('finality_branch' as const, 'next_sync_committee_branch' as const), fc.nat(), (which, n) => {
          const br = update[which].map((x, i) => (i === n % update[which].length ? x.map((b, j) => (j === 0 ? b ^ 0x80 : b)) : x));
          check({ ...update, [which]: br }, which === 'finality_branch' ? 'beacon_finality_branch_invalid' : 'beacon_sync_committee_branch_invalid');
        }),
        { numRuns: 10 },
      );
    }, 120_000);

    it('wrong fork version or wrong genesis validators root', () => {
      check(update, 'signature_invalid', { ...MAINNET_CONFIG, forks: { ...MAINNET_CONFIG.forks, capella: { ...MAINNET_CONFIG.forks.capella, version: hexBytes('0x04000000') } } });
      check(update, 'signature_invalid', { ...MAINNET_CONFIG, genesisValidatorsRoot: new Uint8Array(32) });
    }, 120_000);

    it('an update signed two sync periods ahead needs a new bootstrap', () => {
      check({ ...update, signature_slot: update.signature_slot + 2 * 8192 }, 'trust_expired');
    }, 120_000);
  });
});
