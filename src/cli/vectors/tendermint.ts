import { dirname, join } from 'node:path';
import { sha256 } from '@noble/hashes/sha2.js';
import { bisect, type FetchLightBlock } from '../../../proofs/tendermint/bisect.ts';
import { tallyCommit, TWO_THIRDS } from '../../../proofs/tendermint/commit.ts';
import { detectFork } from '../../../proofs/tendermint/fork.ts';
import { bytesEqual, leafHash, merkleRoot, rootFromAunts } from '../../../proofs/tendermint/hash.ts';
import { parseBase64, parseBlockId, parseHeader, parseHex, parseSignedHeader, parseValidatorSet, toHex } from '../../../proofs/tendermint/parse.ts';
import type { LightBlockJson, SignedHeaderJson, TrustedStateJson, ValidatorJson, ValidatorSetJson } from '../../../proofs/tendermint/types.ts';
import { detectCodec, guard, verifyCommitLight, verifyLightBlock } from '../../../proofs/tendermint/verify.ts';
import { fail as failure, ok } from '../../../proofs/result.ts';
import type { Verdict, VectorCase, VectorFormat, VectorFs } from './types.ts';

/**
 * tendermint-rs vector formats for `qiao proof verify`, recognised by content:
 *  - tendermint-model-step: model-based single-step files (`initial` + `input`
 *    steps with `verdict`): one case per step, applied in order, a verified
 *    step becoming the trusted state;
 *  - tendermint-bisection: `trust_options` + `primary` + `witnesses`: one case,
 *    bisection on the primary then witness cross-checks (`expected_output`);
 *  - tendermint-voting-power: a signed header, a validator set and the tally
 *    `result` (Ok {total, tallied} or Err): one case;
 *  - tendermint-rpc: CometBFT JSON-RPC answers. `/commit` is a case (verified
 *    with the validator set of a `/validators` or `/genesis` answer found next
 *    to it, by content); `/block` (header hash, data hash, last commit link) and
 *    `/blockchain` (hash chain) and `/tx_search?prove=true` (tx proofs) are
 *    cases; `/genesis`, `/validators`, `/status`, `/abci_query` are helpers;
 *  - tendermint-header: a bare header JSON: it must decode and hash.
 */

type Json = Record<string, unknown>;
const MAX_JSON_BYTES = 16 * 1024 * 1024;
const isRecord = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function parseJson(content: Buffer): unknown {
  if (content.length > MAX_JSON_BYTES) return undefined;
  const first = content.subarray(0, 64).toString('utf8').trimStart()[0];
  if (first !== '{') return undefined;
  try {
    return JSON.parse(content.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

function readJson(fs: VectorFs, path: string): Json {
  const j = parseJson(fs.read(path));
  if (!isRecord(j)) throw new Error('not a JSON object');
  return j;
}

const NS_PER_S = 1_000_000_000n;
const nsToSeconds = (ns: unknown): number => Number(BigInt(String(ns))) / Number(NS_PER_S);

function line(name: string, expected: Verdict | null, r: { ok: true } | { ok: false; reason: string }): VectorCase {
  return { case: name, expected, verdict: r.ok ? 'valid' : 'invalid', reason: r.ok ? null : r.reason };
}

// ---------- model-based single steps ----------

const isModel = (j: Json) => isRecord(j.initial) && isRecord(j.initial.signed_header) && Array.isArray(j.input);

const MODEL_VERDICTS: Record<string, Verdict> = { SUCCESS: 'valid', NOT_ENOUGH_TRUST: 'invalid', INVALID: 'invalid' };

const modelStep: VectorFormat = {
  name: 'tendermint-model-step',
  claimFile: (_p, content) => {
    const j = parseJson(content);
    return isRecord(j) && isModel(j) ? 'case' : false;
  },
  run(path, fs) {
    const j = readJson(fs, path);
    const initial = j.initial as Json;
    const period = nsToSeconds(initial.trusting_period);
    let trusted: TrustedStateJson = { signed_header: initial.signed_header as SignedHeaderJson, next_validator_set: initial.next_validator_set as ValidatorSetJson };
    const out: VectorCase[] = [];
    (j.input as Json[]).forEach((step, i) => {
      const block = step.block as LightBlockJson & Json;
      const height = isRecord(block) && isRecord(block.signed_header) && isRecord(block.signed_header.header) ? String(block.signed_header.header.height) : '?';
      const expected = typeof step.verdict === 'string' ? (MODEL_VERDICTS[step.verdict] ?? null) : null;
      const r = verifyLightBlock(trusted, block, { now: String(step.now), trustingPeriodSeconds: period });
      out.push(line(`${path}#${i + 1}:h${height}`, expected, r));
      if (r.ok) trusted = { signed_header: block.signed_header, validator_set: block.validator_set, ...(block.next_validator_set ? { next_validator_set: block.next_validator_set } : {}) };
    });
    return out;
  },
};

// ---------- bisection ----------

const isBisection = (j: Json) => isRecord(j.trust_options) && isRecord(j.primary) && Array.isArray((j.primary as Json).lite_blocks) && j.height_to_verify !== undefined;

function providerOf(blocks: unknown): FetchLightBlock {
  const byHeight = new Map<string, LightBlockJson>();
  if (Array.isArray(blocks)) {
    for (const b of blocks as LightBlockJson[]) {
      const h = (b as unknown as Json)?.signed_header as Json | undefined;
      const header = h?.header as Json | undefined;
      if (header?.height !== undefined) byHeight.set(String(BigInt(String(header.height))), b);
    }
  }
  return (h) => byHeight.get(h);
}

const bisection: VectorFormat = {
  name: 'tendermint-bisection',
  claimFile: (_p, content) => {
    const j = parseJson(content);
    return isRecord(j) && isBisection(j) ? 'case' : false;
  },
  run(path, fs) {
    const j = readJson(fs, path);
    const to = j.trust_options as Json;
    const expected: Verdict | null = j.expected_output === 'no error' ? 'valid' : j.expected_output === 'error' ? 'invalid' : null;
    const primary = providerOf((j.primary as Json).lite_blocks);
    const witnesses = (Array.isArray(j.witnesses) ? (j.witnesses as Json[]) : []).map((w) => providerOf(((isRecord(w.value) ? w.value : w) as Json).lite_blocks));
    const trustLevel = isRecord(to.trust_level) ? { numerator: String(to.trust_level.numerator), denominator: String(to.trust_level.denominator) } : undefined;
    const opts = { now: String(j.now), trustingPeriodSeconds: nsToSeconds(to.period), ...(trustLevel ? { trustLevel } : {}) };
    const r = guard<object>(() => {
      const root = primary(String(BigInt(String(to.height))));
      if (!root) return failure('tendermint_block_unavailable', 'primary has no block at the trusted height');
      // The trust root is a (height, hash) pair: the primary's block there must be it.
      const d = detectCodec(parseSignedHeader(root.signed_header));
      if (!d || toHex(d.hash).toUpperCase() !== String(to.hash).toUpperCase()) return failure('untrusted_header', 'primary block at the trusted height does not have the trusted hash');
      const trusted: TrustedStateJson = { signed_header: root.signed_header, validator_set: root.validator_set, ...(root.next_validator_set ? { next_validator_set: root.next_validator_set } : {}) };
      const b = bisect(trusted, String(j.height_to_verify), primary, opts);
      if (!b.ok) return b;
      return detectFork(trusted, b, primary, witnesses, opts);
    });
    return [line(path, expected, r)];
  },
};

// ---------- voting power tallies ----------

const isVotingPower = (j: Json) => isRecord(j.signed_header) && isRecord(j.validator_set) && isRecord(j.result) && ('Ok' in j.result || 'Err' in j.result);

const votingPower: VectorFormat = {
  name: 'tendermint-voting-power',
  claimFile: (_p, content) => {
    const j = parseJson(content);
    return isRecord(j) && isVotingPower(j) ? 'case' : false;
  },
  run(path, fs) {
    const j = readJson(fs, path);
    const res = j.result as Json;
    const want = isRecord(res.Ok) ? res.Ok : undefined;
    const expected: Verdict = want ? 'valid' : 'invalid';
    const r = guard<object>(() => {
      const sh = parseSignedHeader(j.signed_header);
      const vals = parseValidatorSet(j.validator_set);
      const codec = detectCodec(sh)?.codec ?? 'proto';
      const t = tallyCommit(sh.header.chainId, sh.commit, vals, { threshold: TWO_THIRDS, stopEarly: false, codec });
      if (!t.ok) return t;
      // The vector states the tally itself: a different figure is a wrong verdict.
      if (want && (String(want.total) !== t.total.toString() || String(want.tallied) !== t.tallied.toString())) {
        return failure('insufficient_signatures', `tally ${t.tallied}/${t.total}, vector says ${String(want.tallied)}/${String(want.total)}`);
      }
      return ok();
    });
    return [line(path, expected, r)];
  },
};

// ---------- CometBFT RPC answers ----------

type RpcKind = 'commit' | 'block' | 'blockchain' | 'tx_search' | 'genesis' | 'validators' | 'other';

function rpcKind(j: unknown): RpcKind | undefined {
  if (!isRecord(j) || j.jsonrpc !== '2.0' || !isRecord(j.result)) return undefined;
  const r = j.result;
  if (isRecord(r.signed_header)) return 'commit';
  if (isRecord(r.block) && isRecord(r.block_id)) return 'block';
  if (Array.isArray(r.block_metas)) return 'blockchain';
  if (Array.isArray(r.txs) && r.txs.some((t) => isRecord(t) && isRecord(t.proof))) return 'tx_search';
  if (isRecord(r.genesis)) return 'genesis';
  if (Array.isArray(r.validators) && r.block_height !== undefined) return 'validators';
  // /status and /abci_query answers: context only. Other JSON-RPC answers (e.g. Ethereum's) are not ours.
  if ((isRecord(r.node_info) && isRecord(r.sync_info)) || (isRecord(r.response) && 'log' in r.response)) return 'other';
  return undefined;
}

/** Validators of a genesis answer: the `validators` list, else the gentxs' ed25519 keys (power = stake / 10^6, the SDK default). */
function genesisValidators(g: Json): ValidatorSetJson | undefined {
  if (Array.isArray(g.validators) && g.validators.length > 0) return { validators: g.validators as ValidatorJson[] };
  const app = isRecord(g.app_state) ? g.app_state : undefined;
  const gentxs = app && isRecord(app.genutil) && Array.isArray(app.genutil.gen_txs) ? (app.genutil.gen_txs as Json[]) : [];
  const validators: ValidatorJson[] = [];
  for (const tx of gentxs) {
    const msgs = isRecord(tx.body) && Array.isArray(tx.body.messages) ? (tx.body.messages as Json[]) : [];
    for (const m of msgs) {
      if (m['@type'] !== '/cosmos.staking.v1beta1.MsgCreateValidator' || !isRecord(m.pubkey) || !isRecord(m.value)) continue;
      const power = BigInt(String(m.value.amount)) / 1_000_000n;
      validators.push({ address: '', pub_key: { type: String(m.pubkey['@type']), value: String(m.pubkey.key) }, voting_power: power.toString() });
    }
  }
  return validators.length > 0 ? { validators } : undefined;
}

/** A validator set for this chain and height from sibling answers, found by content. */
function siblingValidators(path: string, fs: VectorFs, chainId: string, height: string): ValidatorSetJson[] {
  const dir = dirname(path);
  const found: ValidatorSetJson[] = [];
  for (const e of fs.list(dir)) {
    if (e.dir) continue;
    const p = join(dir, e.name);
    if (p === path) continue;
    const j = parseJson(fs.read(p));
    const kind = rpcKind(j);
    if (!isRecord(j) || !isRecord(j.result)) continue;
    if (kind === 'validators' && String(j.result.block_height) === height) found.push({ validators: j.result.validators as ValidatorJson[] });
    if (kind === 'genesis' && isRecord(j.result.genesis) && j.result.genesis.chain_id === chainId) {
      const v = genesisValidators(j.result.genesis);
      if (v) found.push(v);
    }
  }
  return found;
}

function runCommit(path: string, fs: VectorFs, j: Json): VectorCase[] {
  const sh = (j.result as Json).signed_header as SignedHeaderJson;
  const header: Json = isRecord(sh.header) ? sh.header : {};
  const sets = siblingValidators(path, fs, String(header.chain_id), String(header.height));
  if (sets.length === 0) {
    // Without a validator set only the header/commit binding can be checked.
    const r = guard<object>(() => {
      const parsed = parseSignedHeader(sh);
      return detectCodec(parsed) ? ok() : failure('header_hash_mismatch', 'header does not hash to the commit block id');
    });
    return [line(`${path}#header-only (no validator set found next to it)`, null, r)];
  }
  // The set whose hash the header carries is the one to use; a wrong candidate fails on validators_hash.
  let r: ReturnType<typeof verifyCommitLight> = { ok: false, reason: 'validator_set_mismatch', detail: 'no candidate set' };
  for (const vs of sets) {
    r = verifyCommitLight(sh, vs);
    if (r.ok || r.reason !== 'validator_set_mismatch') break;
  }
  return [line(path, null, r)];
}

function runBlock(path: string, j: Json): VectorCase[] {
  const r = guard<object>(() => {
    const res = j.result as Json;
    const block = res.block as Json;
    const header = parseHeader(block.header, 'block.header');
    const blockId = parseBlockId(res.block_id, 'block_id');
    const lc = isRecord(block.last_commit) ? block.last_commit : undefined;
    const sh = { header, commit: { height: header.height, round: 0n, blockId, signatures: [] } };
    const d = detectCodec(sh);
    if (!d) return failure('header_hash_mismatch', 'header does not hash to block_id.hash');
    const txs = isRecord(block.data) && Array.isArray(block.data.txs) ? (block.data.txs as unknown[]) : [];
    const dataHash = merkleRoot(txs.map((t, i) => sha256(parseBase64(t, `block.data.txs[${i}]`))));
    if (!bytesEqual(dataHash, header.dataHash) && !(txs.length === 0 && header.dataHash.length === 0)) {
      return failure('header_malformed', 'data_hash is not the Merkle root of the block txs');
    }
    if (lc && header.height > 1n) {
      const lcId = parseBlockId(lc.block_id, 'block.last_commit.block_id');
      if (!bytesEqual(lcId.hash, header.lastBlockId.hash)) return failure('tendermint_commit_mismatch', 'last_commit is not for last_block_id');
    }
    return ok();
  });
  return [line(path, null, r)];
}

function runBlockchain(path: string, j: Json): VectorCase[] {
  const r = guard<object>(() => {
    const metas = (j.result as Json).block_metas as Json[];
    const byHeight = new Map<bigint, { hash: Uint8Array; last: Uint8Array }>();
    for (const [i, m] of metas.entries()) {
      const header = parseHeader(m.header, `block_metas[${i}].header`);
      const blockId = parseBlockId(m.block_id, `block_metas[${i}].block_id`);
      if (!detectCodec({ header, commit: { height: header.height, round: 0n, blockId, signatures: [] } })) {
        return failure('header_hash_mismatch', `block_metas[${i}]: header does not hash to block_id.hash`);
      }
      byHeight.set(header.height, { hash: blockId.hash, last: header.lastBlockId.hash });
    }
    for (const [h, v] of byHeight) {
      const prev = byHeight.get(h - 1n);
      if (prev && !bytesEqual(prev.hash, v.last)) return failure('untrusted_header', `height ${h}: last_block_id is not the hash of height ${h - 1n}`);
    }
    return ok();
  });
  return [line(path, null, r)];
}

function runTxSearch(path: string, j: Json): VectorCase[] {
  const txs = ((j.result as Json).txs as Json[]).filter((t) => isRecord(t.proof));
  return txs.map((t, i) =>
    line(`${path}#tx${i}@${String(t.height)}`, null, guard<object>(() => {
      const proof = t.proof as Json;
      const inner = proof.proof as Json;
      const tx = parseBase64(proof.data, 'proof.data');
      if (t.tx !== undefined && !bytesEqual(parseBase64(t.tx, 'tx'), tx)) return failure('proof_malformed', 'proof is for another tx');
      const leaf = leafHash(sha256(tx));
      if (!bytesEqual(leaf, parseBase64(inner.leaf_hash, 'proof.proof.leaf_hash'))) return failure('proof_malformed', 'leaf_hash is not the hash of the tx');
      const aunts = (Array.isArray(inner.aunts) ? inner.aunts : []).map((a, k) => parseBase64(a, `proof.proof.aunts[${k}]`));
      const root = rootFromAunts(Number(inner.index), Number(inner.total), leaf, aunts);
      if (!root || !bytesEqual(root, parseHex(proof.root_hash, 'proof.root_hash'))) return failure('header_malformed', 'proof does not lead to root_hash');
      return ok();
    })),
  );
}

const rpc: VectorFormat = {
  name: 'tendermint-rpc',
  claimFile: (_p, content) => {
    const kind = rpcKind(parseJson(content));
    if (!kind) return false;
    return kind === 'commit' || kind === 'block' || kind === 'blockchain' || kind === 'tx_search' ? 'case' : 'helper';
  },
  run(path, fs) {
    const j = readJson(fs, path);
    switch (rpcKind(j)) {
      case 'commit':
        return runCommit(path, fs, j);
      case 'block':
        return runBlock(path, j);
      case 'blockchain':
        return runBlockchain(path, j);
      case 'tx_search':
        return runTxSearch(path, j);
      default:
        return [];
    }
  },
};

// ---------- bare headers ----------

const isHeader = (j: Json) => typeof j.chain_id === 'string' && j.height !== undefined && isRecord(j.version) && typeof j.validators_hash === 'string' && typeof j.proposer_address === 'string';

const header: VectorFormat = {
  name: 'tendermint-header',
  claimFile: (_p, content) => {
    const j = parseJson(content);
    return isRecord(j) && isHeader(j) ? 'case' : false;
  },
  run(path, fs) {
    const r = guard<object>(() => {
      parseHeader(readJson(fs, path));
      return ok();
    });
    return [line(path, null, r)];
  },
};

/** tendermint vector formats for `qiao proof verify`. */
export const FORMATS: VectorFormat[] = [modelStep, bisection, votingPower, rpc, header];
