/**
 * Beacon light-client vectors for `qiao proof verify`:
 * - `beacon-spec-sync`: a consensus-spec-tests `light_client/sync` case folder
 *   (meta.yaml, config.yaml, bootstrap.ssz_snappy, steps.yaml, update_*.ssz_snappy;
 *   SSZ in the raw snappy block format, not the framing format). Every step is run and
 *   every check compared. One case per folder.
 * - `beacon-api-lc`: a folder of beacon-API JSON objects (`{version, data}`):
 *   a bootstrap, updates (single or arrays), finality and optimistic updates,
 *   recognised by their fields. Run in order: bootstrap, updates by signature
 *   slot, finality updates, optimistic updates; each at its own signature slot.
 *   The trusted block root comes from `--trust` (`{"beacon": {"trustedBlockRoot": "0x…"}}`);
 *   without it the bootstrap's own root is trusted (the branches and signatures
 *   are still all checked). Always the mainnet config (MAINNET_CONFIG).
 */
import { parse as parseYaml } from 'yaml';
import { join } from 'node:path';
import { configFromSpecYaml, MAINNET_CONFIG, type BeaconChainConfig } from '../../../proofs/beacon/config.ts';
import { decodeJson, decodeSsz, type LightClientKind } from '../../../proofs/beacon/decode.ts';
import { executionAnchor } from '../../../proofs/beacon/execution.ts';
import { beaconRoot, executionRoot } from '../../../proofs/beacon/header.ts';
import { forceUpdate, initializeStore, processFinalityUpdate, processOptimisticUpdate, processUpdate } from '../../../proofs/beacon/lightclient.ts';
import { forkOfDigest } from '../../../proofs/beacon/signing.ts';
import { snappyUncompress } from '../../../proofs/beacon/snappy.ts';
import type { LightClientStore } from '../../../proofs/beacon/store.ts';
import type { LightClientHeader } from '../../../proofs/beacon/types.ts';
import type { RunOptions, VectorCase, VectorFormat, VectorFs } from './types.ts';

type Obj = Record<string, unknown>;

const hexToBytes = (s: unknown, field: string): Uint8Array => {
  if (typeof s !== 'string' || !/^0x([0-9a-fA-F]{2})*$/.test(s)) throw new TypeError(`${field}: expected 0x-hex`);
  return Uint8Array.from(Buffer.from(s.slice(2), 'hex'));
};
const toHex = (b: Uint8Array) => `0x${Buffer.from(b).toString('hex')}`;

function readYaml(fs: VectorFs, path: string): unknown {
  return parseYaml(fs.read(path).toString('utf8'));
}

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function looksLikeSpecSync(dir: string, fs: VectorFs): boolean {
  for (const f of ['meta.yaml', 'steps.yaml', 'config.yaml', 'bootstrap.ssz_snappy']) if (!fs.exists(join(dir, f))) return false;
  try {
    const meta = readYaml(fs, join(dir, 'meta.yaml'));
    const steps = readYaml(fs, join(dir, 'steps.yaml'));
    return isObj(meta) && typeof meta.trusted_block_root === 'string' && typeof meta.genesis_validators_root === 'string' && Array.isArray(steps);
  } catch {
    return false;
  }
}

interface HeaderCheck {
  slot?: number;
  beacon_root?: string;
  execution_root?: string;
}

function compareHeader(cfg: BeaconChainConfig, name: string, h: LightClientHeader, c: HeaderCheck): string | null {
  if (c.slot !== undefined && Number(c.slot) !== h.beacon.slot) return `${name}.slot ${h.beacon.slot} != ${c.slot}`;
  if (c.beacon_root !== undefined && toHex(beaconRoot(h)) !== c.beacon_root.toLowerCase()) return `${name}.beacon_root ${toHex(beaconRoot(h))} != ${c.beacon_root}`;
  if (c.execution_root !== undefined && toHex(executionRoot(cfg, h)) !== c.execution_root.toLowerCase()) return `${name}.execution_root differs`;
  return null;
}

function compareChecks(cfg: BeaconChainConfig, store: LightClientStore, checks: unknown): string | null {
  if (!isObj(checks)) return null;
  if (isObj(checks.finalized_header)) {
    const e = compareHeader(cfg, 'finalized_header', store.finalizedHeader, checks.finalized_header as HeaderCheck);
    if (e) return e;
  }
  if (isObj(checks.optimistic_header)) {
    const e = compareHeader(cfg, 'optimistic_header', store.optimisticHeader, checks.optimistic_header as HeaderCheck);
    if (e) return e;
  }
  return null;
}

export interface StepOutcome {
  ok: boolean;
  reason: string | null;
  detail: string;
  steps: number;
}

/** Runs a consensus-spec-tests light_client/sync case folder: every step, every check. */
export function runSpecSyncFolder(dir: string, fs: VectorFs): StepOutcome {
  const meta = readYaml(fs, join(dir, 'meta.yaml')) as Obj;
  const cfgYaml = readYaml(fs, join(dir, 'config.yaml'));
  if (!isObj(cfgYaml)) throw new TypeError('config.yaml: expected a mapping');
  const cfg = configFromSpecYaml(cfgYaml, hexToBytes(meta.genesis_validators_root, 'genesis_validators_root'));
  const forkOf = (digest: unknown, field: string) => {
    const f = forkOfDigest(cfg, hexToBytes(digest, field));
    if (!f) throw new TypeError(`${field}: fork digest ${String(digest)} matches no fork of config.yaml`);
    return f;
  };
  const ssz = (name: string) => snappyUncompress(new Uint8Array(fs.read(join(dir, `${name}.ssz_snappy`))));
  const bootstrap = decodeSsz('bootstrap', ssz('bootstrap'), cfg.preset, forkOf(meta.bootstrap_fork_digest ?? meta.store_fork_digest, 'bootstrap_fork_digest'));
  const init = initializeStore(cfg, bootstrap, hexToBytes(meta.trusted_block_root, 'trusted_block_root'));
  if (!init.ok) return { ok: false, reason: init.reason, detail: `bootstrap: ${init.detail}`, steps: 0 };
  let store = init.store;
  const steps = readYaml(fs, join(dir, 'steps.yaml')) as unknown[];
  let n = 0;
  for (const raw of steps) {
    n++;
    if (!isObj(raw)) throw new TypeError(`steps.yaml step ${n}: expected a mapping`);
    let checks: unknown;
    if (isObj(raw.process_update)) {
      const s = raw.process_update;
      const update = decodeSsz('update', ssz(String(s.update)), cfg.preset, forkOf(s.update_fork_digest ?? meta.store_fork_digest, 'update_fork_digest'));
      const r = processUpdate(store, update, Number(s.current_slot), cfg);
      if (!r.ok) return { ok: false, reason: r.reason, detail: `step ${n} (${String(s.update)}): ${r.detail}`, steps: n };
      store = r.store;
      checks = s.checks;
    } else if (isObj(raw.force_update)) {
      const s = raw.force_update;
      const r = forceUpdate(store, Number(s.current_slot), cfg);
      if (!r.ok) return { ok: false, reason: r.reason, detail: `step ${n} (force_update): ${r.detail}`, steps: n };
      store = r.store;
      checks = s.checks;
    } else {
      return { ok: false, reason: 'beacon_step_unsupported', detail: `step ${n}: ${Object.keys(raw).join(',')} is not supported`, steps: n };
    }
    const mismatch = compareChecks(cfg, store, checks);
    if (mismatch) return { ok: false, reason: 'check_mismatch', detail: `step ${n}: ${mismatch}`, steps: n };
  }
  return { ok: true, reason: null, detail: `${n} steps`, steps: n };
}

type ApiKind = LightClientKind;

/** What a beacon-API light-client object is, by its fields. */
export function apiKindOf(v: unknown): ApiKind | null {
  if (!isObj(v) || !isObj(v.data) || typeof v.version !== 'string') return null;
  const d = v.data;
  if ('current_sync_committee_branch' in d && 'header' in d) return 'bootstrap';
  if ('next_sync_committee_branch' in d && 'finality_branch' in d) return 'update';
  if ('finality_branch' in d && 'finalized_header' in d) return 'finalityUpdate';
  if ('attested_header' in d && 'sync_aggregate' in d) return 'optimisticUpdate';
  return null;
}

function readJson(fs: VectorFs, path: string): unknown {
  try {
    return JSON.parse(fs.read(path).toString('utf8'));
  } catch {
    return undefined;
  }
}

function apiObjectsOf(fs: VectorFs, dir: string): { kind: ApiKind; value: unknown; file: string }[] {
  const out: { kind: ApiKind; value: unknown; file: string }[] = [];
  for (const e of fs.list(dir)) {
    if (e.dir) continue;
    const p = join(dir, e.name);
    const head = fs.read(p).subarray(0, 1).toString('utf8');
    if (head !== '{' && head !== '[' && !/\s/.test(head)) continue;
    const v = readJson(fs, p);
    for (const item of Array.isArray(v) ? v : [v]) {
      const kind = apiKindOf(item);
      if (kind) out.push({ kind, value: item, file: e.name });
    }
  }
  return out;
}

function trustedRootFrom(trust: unknown): Uint8Array | null {
  if (!isObj(trust) || !isObj(trust.beacon) || typeof trust.beacon.trustedBlockRoot !== 'string') return null;
  return hexToBytes(trust.beacon.trustedBlockRoot, 'trust.beacon.trustedBlockRoot');
}

/** Runs a folder of beacon-API light-client JSON objects (mainnet config). */
export function runApiFolder(dir: string, fs: VectorFs, opts: { trust?: unknown } = {}, cfg: BeaconChainConfig = MAINNET_CONFIG): StepOutcome {
  const objs = apiObjectsOf(fs, dir);
  const boots = objs.filter((o) => o.kind === 'bootstrap');
  if (boots.length !== 1) throw new TypeError(`expected one bootstrap, found ${boots.length}`);
  const bootstrap = decodeJson('bootstrap', boots[0]!.value, cfg.preset);
  const init = initializeStore(cfg, bootstrap, trustedRootFrom(opts.trust) ?? beaconRoot(bootstrap.header));
  if (!init.ok) return { ok: false, reason: init.reason, detail: `bootstrap: ${init.detail}`, steps: 0 };
  let store = init.store;
  const order: ApiKind[] = ['update', 'finalityUpdate', 'optimisticUpdate'];
  let n = 0;
  for (const kind of order) {
    const items = objs
      .filter((o) => o.kind === kind)
      .map((o) => ({ file: o.file, u: decodeJson(kind, o.value, cfg.preset) as { signature_slot: number } }))
      .sort((a, b) => a.u.signature_slot - b.u.signature_slot);
    for (const { file, u } of items) {
      n++;
      const slot = u.signature_slot;
      const r =
        kind === 'update'
          ? processUpdate(store, u as never, slot, cfg)
          : kind === 'finalityUpdate'
            ? processFinalityUpdate(store, u as never, slot, cfg)
            : processOptimisticUpdate(store, u as never, slot, cfg);
      if (!r.ok) return { ok: false, reason: r.reason, detail: `${file} (${kind} signed at slot ${slot}): ${r.detail}`, steps: n };
      store = r.store;
    }
  }
  const anchor = executionAnchor(store.finalizedHeader, cfg);
  if (!anchor.ok) return { ok: false, reason: anchor.reason, detail: `finalized execution header: ${anchor.detail}`, steps: n };
  return { ok: true, reason: null, detail: `${n} updates; finalized slot ${store.finalizedHeader.beacon.slot}, execution block ${anchor.anchor.blockNumber}`, steps: n };
}

function looksLikeApiFolder(dir: string, fs: VectorFs): boolean {
  try {
    const kinds = apiObjectsOf(fs, dir).map((o) => o.kind);
    return kinds.filter((k) => k === 'bootstrap').length === 1 && kinds.length > 1;
  } catch {
    return false;
  }
}

/**
 * A file that belongs to one of these folder cases, seen on its own (e.g. under
 * `--format`): a beacon-API light-client object, or a spec-test meta/steps file.
 * It is a helper, never a case: the case is its folder.
 */
function claimBeaconFile(_path: string, content: Buffer): 'helper' | false {
  const text = content.toString('utf8');
  if (/"(current_sync_committee_branch|next_sync_committee_branch|finality_branch|sync_aggregate)"/.test(text)) return 'helper';
  if (/^\{?\s*genesis_validators_root:|trusted_block_root:/m.test(text) || /^- (process_update|force_update):/m.test(text)) return 'helper';
  return false;
}

function toCase(path: string, r: StepOutcome): VectorCase {
  return { case: path, expected: null, verdict: r.ok ? 'valid' : 'invalid', reason: r.ok ? null : r.reason };
}

const specSync: VectorFormat = {
  name: 'beacon-spec-sync',
  claimDir: looksLikeSpecSync,
  claimFile: claimBeaconFile,
  run: (path, fs) => [toCase(path, runSpecSyncFolder(path, fs))],
};

const apiFolder: VectorFormat = {
  name: 'beacon-api-lc',
  claimDir: looksLikeApiFolder,
  claimFile: claimBeaconFile,
  run: (path, fs, opts: RunOptions) => [toCase(path, runApiFolder(path, fs, { trust: opts.trust }))],
};

/** beacon vector formats for `qiao proof verify`. */
export const FORMATS: VectorFormat[] = [specSync, apiFolder];
