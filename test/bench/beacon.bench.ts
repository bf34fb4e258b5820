/**
 * Beacon sync-committee update verification on the helios mainnet vector
 * (512-member committee), next to the raw noble BLS fast-aggregate check of
 * the same signature over the same participants, in the same run.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bls12_381 } from '@noble/curves/bls12-381.js';
import { MAINNET_CONFIG } from '../../proofs/beacon/config.ts';
import { ETH_BLS_DST } from '../../proofs/beacon/bls.ts';
import { decodeJson } from '../../proofs/beacon/decode.ts';
import { initializeStore, processUpdate, validateUpdate } from '../../proofs/beacon/lightclient.ts';
import { syncCommitteeSigningRoot } from '../../proofs/beacon/signing.ts';
import { HAVE_VECTORS, vectorPath } from '../helpers/vectors.ts';
import type { BenchRow } from './proofs.bench.ts';

const TRUSTED_ROOT = '5afc212a7924789b2bc86acad3ab3a6ffb1f6e97253ea50bee7f4f51422c9275';

/** Median wall time (ms) of each function, sampled interleaved so drift hits all alike. */
function medians(fns: (() => void)[], rounds: number): number[] {
  const samples = fns.map(() => [] as number[]);
  for (const f of fns) f();
  for (let r = 0; r < rounds; r++) {
    fns.forEach((f, i) => {
      const t = process.hrtime.bigint();
      f();
      samples[i]!.push(Number(process.hrtime.bigint() - t) / 1e6);
    });
  }
  return samples.map((s) => s.sort((a, b) => a - b)[Math.floor(s.length / 2)]!);
}

export async function benchBeacon({ rounds = 8 }: { rounds?: number } = {}): Promise<BenchRow[]> {
  const dir = vectorPath('ethereum', 'helios', 'beacon-lc-mainnet-capella');
  if (!HAVE_VECTORS) return [{ name: 'beacon sync-committee update (512 members)', figure: 'skipped', baseline: '-', ratio: '-', note: `vectors absent at ${dir}` }];
  const json = (f: string) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as unknown;
  const cfg = MAINNET_CONFIG;
  const bootstrap = decodeJson('bootstrap', json('bootstrap.json'), cfg.preset);
  const init = initializeStore(cfg, bootstrap, Uint8Array.from(Buffer.from(TRUSTED_ROOT, 'hex')));
  if (!init.ok) throw new Error(`bootstrap does not verify: ${init.detail}`);
  const updates = (json('updates.json') as unknown[]).map((u) => decodeJson('update', u, cfg.preset));
  const first = processUpdate(init.store, updates[0]!, updates[0]!.signature_slot, cfg);
  if (!first.ok) throw new Error(`update 0 does not verify: ${first.detail}`);
  const store = first.store;
  const update = updates[1]!;
  const committee = store.nextSyncCommittee!.committee;
  const idx = update.sync_aggregate.sync_committee_bits.getTrueBitIndexes();
  const pkBytes = idx.map((i) => committee.pubkeys[i]!);
  const pkPoints = idx.map((i) => store.nextSyncCommittee!.points[i]!);
  const msg = syncCommitteeSigningRoot(cfg, update.attested_header.beacon, update.signature_slot);
  const sig = update.sync_aggregate.sync_committee_signature;
  const sigs = bls12_381.longSignatures;

  let verified = 0;
  let rawOk = 0;
  let rawPtsOk = 0;
  let processed = 0;
  const verify = () => {
    const r = validateUpdate(store, update, update.signature_slot, cfg);
    if (!r.ok) throw new Error(`benchmark update failed: ${r.reason}`);
    verified++;
  };
  // What any verifier must do: decode the participants' keys, aggregate, hash to G2 (POP DST), pair.
  const rawBytes = () => {
    if (!sigs.verify(sig, sigs.hash(msg, ETH_BLS_DST), sigs.aggregatePublicKeys(pkBytes))) throw new Error('raw noble check failed');
    rawOk++;
  };
  // The same check with keys already decoded, as a light client holds its committee.
  const rawPoints = () => {
    if (!sigs.verify(sig, sigs.hash(msg, ETH_BLS_DST), sigs.aggregatePublicKeys(pkPoints))) throw new Error('raw noble check failed');
    rawPtsOk++;
  };
  // A full step that also installs (decodes) the new next committee: once per sync period.
  const process_ = () => {
    const r = processUpdate(store, update, update.signature_slot, cfg);
    if (!r.ok || !r.finalityAdvanced) throw new Error('benchmark process step failed');
    processed++;
  };
  const [tVerify, tRaw, tRawPts, tProcess] = medians([verify, rawBytes, rawPoints, process_], rounds) as [number, number, number, number];
  if (verified !== rounds + 1 || rawOk !== rounds + 1 || rawPtsOk !== rounds + 1 || processed !== rounds + 1) throw new Error('not every verification ran');
  const n = idx.length;
  return [
    {
      name: `beacon sync-committee update (mainnet, ${n}/512 signers): validateUpdate`,
      figure: `${tVerify.toFixed(1)} ms (median of ${rounds}, each ok)`,
      baseline: `noble aggregate + hash_to_G2 (POP DST) + verify, keys pre-decoded: ${tRawPts.toFixed(1)} ms`,
      ratio: (tVerify / tRawPts).toFixed(2),
      note: `the store holds its committee decoded; noble from key bytes on the same inputs: ${tRaw.toFixed(1)} ms (ratio ${(tVerify / tRaw).toFixed(2)})`,
    },
    {
      name: 'beacon update that rotates the sync committee: processUpdate',
      figure: `${tProcess.toFixed(1)} ms (median of ${rounds}, each finalized)`,
      baseline: `noble fastAggregateVerify (keys from bytes): ${tRaw.toFixed(1)} ms`,
      ratio: (tProcess / tRaw).toFixed(2),
      note: 'includes decoding the 512 keys of the new next committee (once per ~27 h period)',
    },
  ];
}
