import { ed25519 } from '@noble/curves/ed25519.js';
import { signBytesFor } from '../../proofs/tendermint/commit.ts';
import { headerHash, validatorSetHash } from '../../proofs/tendermint/hash.ts';
import { parseCommit, parseSignedHeader, parseValidatorSet, toHex } from '../../proofs/tendermint/parse.ts';
import type { LightBlockJson } from '../../proofs/tendermint/types.ts';
import { verifyCommitLight, verifySkipping } from '../../proofs/tendermint/verify.ts';
import { makeChain, makeLightBlock, makeValidators } from '../proofs/fixtures/tendermint/chain.ts';
import type { BenchRow } from './proofs.bench.ts';
import { opsPerSecond } from './stats.ts';
import { canonicalVoteType } from '../proofs/fixtures/tendermint/canonical-vote.ts';

type Triple = { sig: Uint8Array; msg: Uint8Array; pub: Uint8Array };

/** The signature checks a verification did, in commit order: the baseline is exactly these with the same primitive. */
function checkedTriples(lb: LightBlockJson, count: number): Triple[] {
  const commit = parseCommit(lb.signed_header.commit);
  const vals = parseValidatorSet(lb.validator_set);
  const sb = signBytesFor(lb.signed_header.header.chain_id, commit);
  return commit.signatures
    .filter((s) => s.flag === 2)
    .slice(0, count)
    .map((s) => ({ sig: s.signature, msg: sb(s), pub: vals.byAddress.get(toHex(s.validatorAddress))!.pubKey }));
}

function baseline(triples: Triple[]): () => void {
  return () => {
    for (const t of triples) if (!ed25519.verify(t.sig, t.msg, t.pub, { zip215: true })) throw new Error('baseline signature failed');
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function msPerOp(f: () => void, n: number): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) f();
  return Number(process.hrtime.bigint() - t0) / 1e6 / n;
}

/**
 * Verifier and baseline timed in alternating rounds (the machine is shared, so
 * load drifts); the ratio is fastest round over fastest round, and the median
 * of the per-round ratios is kept in the note. A verification
 * costs up to a few hundred ms here, so the shared opsPerSecond (50 warm-up
 * runs) would take minutes for the same precision.
 */
function paired(verify: () => void, base: () => void, { rounds = 15, targetMs = 120 } = {}) {
  verify();
  base();
  const n = Math.max(1, Math.round(targetMs / msPerOp(verify, 1)));
  const nb = Math.max(1, Math.round(targetMs / msPerOp(base, 1)));
  const v: number[] = [];
  const b: number[] = [];
  const ratios: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const tv = msPerOp(verify, n);
    const tb = msPerOp(base, nb);
    v.push(tv);
    b.push(tb);
    ratios.push(tv / tb);
  }
  // The fastest round of each is the one least disturbed by other work on the machine.
  return { verifierMs: Math.min(...v), baselineMs: Math.min(...b), ratio: Math.min(...v) / Math.min(...b), medianRatio: median(ratios), count: n * rounds + 2, rounds };
}

/**
 * Everything a commit verification does besides the signature checks (JSON
 * decoding, header and validator-set hashes, sign-bytes), timed alone: a
 * figure the machine's load hardly moves, unlike the ratio.
 */
function nonSignatureMs(lb: LightBlockJson, checks: number): number {
  const o = opsPerSecond(() => {
    const sh = parseSignedHeader(lb.signed_header);
    const vals = parseValidatorSet(lb.validator_set);
    headerHash(sh.header);
    validatorSetHash(vals);
    const sb = signBytesFor(sh.header.chainId, sh.commit);
    for (let i = 0; i < checks; i++) sb(sh.commit.signatures[i]!);
  }, 300);
  return 1000 / o.opsPerSec;
}

function row(name: string, p: ReturnType<typeof paired>, verified: number, checks: number, overheadMs: number, note: string): BenchRow {
  if (verified < p.count) throw new Error('not every verification ran');
  return {
    name,
    figure: `${(1000 / p.verifierMs).toFixed(1)}/s (${p.verifierMs.toFixed(2)} ms each, ${verified} verified)`,
    baseline: `${checks} × ed25519 ZIP-215 (@noble/curves): ${p.baselineMs.toFixed(2)} ms`,
    ratio: p.ratio.toFixed(3),
    note: `${note}; non-signature work ${overheadMs.toFixed(2)} ms = ${((100 * overheadMs) / p.baselineMs).toFixed(1)}% of the signature time; best of ${p.rounds} alternating rounds, median ratio ${p.medianRatio.toFixed(3)}`,
  };
}

/**
 * CometBFT light client: commit verification (JSON in, header hash, validator
 * set hash, sign-bytes, > 2/3 tally) at 4, 100 and 150 validators, and one
 * skipping step, each against the sum of the ed25519 checks it performed.
 */
export async function benchTendermint(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const n of [4, 100, 150]) {
    const vals = makeValidators(n, { seed: `bench${n}` });
    const lb = makeLightBlock({ height: 2, time: 1_700_000_020, vals });
    let checks = 0;
    const first = verifyCommitLight(lb.signed_header, lb.validator_set, { onVerify: () => checks++ });
    if (!first.ok) throw new Error(`benchmark commit does not verify: ${first.reason}`);
    let verified = 0;
    const p = paired(() => {
      const r = verifyCommitLight(lb.signed_header, lb.validator_set);
      if (!r.ok) throw new Error('a benchmark verification failed');
      verified++;
    }, baseline(checkedTriples(lb, checks)));
    rows.push(row(`CometBFT commit verification, ${n} validators`, p, verified, checks, nonSignatureMs(lb, checks), 'stops at > 2/3 like VerifyCommitLight; includes JSON decoding, header and validator-set hashes'));
  }

  const vals = makeValidators(100, { seed: 'skip' });
  const chain = makeChain({ length: 10, valsAt: () => vals, start: 1_700_000_000 });
  const trusted = { signed_header: chain[0]!.signed_header, validator_set: chain[0]!.validator_set, next_validator_set: chain[0]!.next_validator_set! };
  const target = chain[9]!;
  const opts = { now: new Date(1_700_001_000_000), trustingPeriodSeconds: 14 * 86400 };
  let checks = 0;
  const first = verifySkipping(trusted, target, { ...opts, onVerify: () => checks++ });
  if (!first.ok) throw new Error(`benchmark skipping step does not verify: ${first.reason}`);
  let verified = 0;
  const p = paired(() => {
    const r = verifySkipping(trusted, target, opts);
    if (!r.ok) throw new Error('a benchmark verification failed');
    verified++;
  }, baseline(checkedTriples(target, checks)));
  rows.push(row('CometBFT skipping verification, 100 validators (1 → 10)', p, verified, checks, nonSignatureMs(target, checks) + nonSignatureMs(chain[0]!, 0), '> 1/3 of the trusted set, then > 2/3 of the new set; each signature checked once'));

  rows.push(signBytesRow(target));
  return rows;
}

/** Why the sign-bytes are encoded by hand: the same CanonicalVote through protobufjs reflection, same bytes. */
function signBytesRow(lb: LightBlockJson): BenchRow {
  const CV = canonicalVoteType();
  const commit = parseCommit(lb.signed_header.commit);
  const chainId = lb.signed_header.header.chain_id;
  const sigs = commit.signatures.filter((s) => s.flag === 2);
  const viaLib = (s: (typeof sigs)[number]) => {
    const msg: Record<string, unknown> = {
      type: 2,
      height: Number(commit.height),
      block_id: { hash: commit.blockId.hash, part_set_header: { total: commit.blockId.partSetHeader.total, hash: commit.blockId.partSetHeader.hash } },
      timestamp: { seconds: Number(s.timestamp.seconds), ...(s.timestamp.nanos ? { nanos: s.timestamp.nanos } : {}) },
      chain_id: chainId,
    };
    if (commit.round !== 0n) msg.round = Number(commit.round);
    return CV.encodeDelimited(CV.fromObject(msg)).finish();
  };
  const hand = (() => {
    const f = signBytesFor(chainId, commit);
    return sigs.map((s) => f(s));
  })();
  sigs.forEach((s, i) => {
    if (Buffer.compare(Buffer.from(viaLib(s)), Buffer.from(hand[i]!)) !== 0) throw new Error('protobufjs and hand encoding differ');
  });
  const h = opsPerSecond(() => {
    const f = signBytesFor(chainId, commit);
    for (const s of sigs) f(s);
  }, 500);
  const l = opsPerSecond(() => {
    for (const s of sigs) viaLib(s);
  }, 500);
  return {
    name: `CanonicalVote sign-bytes for ${sigs.length} signatures: hand encoding`,
    figure: `${((1e6 / h.opsPerSec) / sigs.length).toFixed(2)} µs per vote`,
    baseline: `protobufjs reflection, same bytes: ${((1e6 / l.opsPerSec) / sigs.length).toFixed(2)} µs per vote`,
    ratio: (l.opsPerSec / h.opsPerSec).toFixed(3),
    note: 'chosen: hand encoding (cosmjs-types has no CanonicalVote); ratio = hand / protobufjs time',
  };
}
