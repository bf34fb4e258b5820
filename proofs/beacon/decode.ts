/**
 * Decoding light-client objects: SSZ bytes of a given fork (consensus-spec-tests,
 * p2p) and beacon-API JSON (`{version, data}`). Everything comes out in the
 * fork-independent shape of types.ts. Throws on malformed input; callers at a
 * boundary wrap it (see decodeOrFail).
 */
import { fail, ok, type VerifyResult } from '../result.ts';
import { FORK_ORDER, type ForkName, type Preset } from './config.ts';
import { lightClientTypes } from './ssz.ts';
import { emptyExecutionHeader, zeroBranch, type LightClientBootstrap, type LightClientFinalityUpdate, type LightClientHeader, type LightClientOptimisticUpdate, type LightClientUpdate } from './types.ts';

type Raw = Record<string, unknown>;

function normHeader(h: Raw): LightClientHeader {
  const beacon = h.beacon as LightClientHeader['beacon'];
  if (!('execution' in h)) return { beacon, execution: emptyExecutionHeader(), execution_branch: zeroBranch(4) };
  const e = h.execution as Partial<LightClientHeader['execution']>;
  return {
    beacon,
    execution: { ...(e as LightClientHeader['execution']), blob_gas_used: e.blob_gas_used ?? 0, excess_blob_gas: e.excess_blob_gas ?? 0 },
    execution_branch: h.execution_branch as Uint8Array[],
  };
}

function normalize<T>(v: Raw, headerKeys: readonly string[]): T {
  const out: Raw = { ...v };
  for (const k of headerKeys) if (k in v) out[k] = normHeader(v[k] as Raw);
  return out as T;
}

export type LightClientKind = 'bootstrap' | 'update' | 'finalityUpdate' | 'optimisticUpdate';

interface KindMap {
  bootstrap: LightClientBootstrap;
  update: LightClientUpdate;
  finalityUpdate: LightClientFinalityUpdate;
  optimisticUpdate: LightClientOptimisticUpdate;
}

const HEADER_KEYS = ['header', 'attested_header', 'finalized_header'] as const;

export function decodeSsz<K extends LightClientKind>(kind: K, bytes: Uint8Array, preset: Preset, fork: ForkName): KindMap[K] {
  const t = lightClientTypes(preset, fork)[kind];
  return normalize<KindMap[K]>(t.deserialize(bytes) as unknown as Raw, HEADER_KEYS);
}

export function parseForkName(v: unknown): ForkName {
  if (typeof v !== 'string' || !(FORK_ORDER as readonly string[]).includes(v.toLowerCase())) throw new TypeError(`unknown fork version name ${JSON.stringify(v)}`);
  return v.toLowerCase() as ForkName;
}

/** Beacon-API JSON: `{version, data}` (the version names the containers) or bare data with a fork given. */
export function decodeJson<K extends LightClientKind>(kind: K, json: unknown, preset: Preset, fork?: ForkName): KindMap[K] {
  const j = json as Raw;
  const wrapped = j !== null && typeof j === 'object' && 'data' in j;
  const f = fork ?? parseForkName(wrapped ? j.version : undefined);
  const t = lightClientTypes(preset, f)[kind];
  return normalize<KindMap[K]>(t.fromJson(wrapped ? j.data : j) as unknown as Raw, HEADER_KEYS);
}

/** decodeSsz/decodeJson as a result: malformed input is `proof_malformed`. */
export function decodeOrFail<T>(what: string, f: () => T): VerifyResult<{ value: T }> {
  try {
    return ok({ value: f() });
  } catch (err) {
    return fail('proof_malformed', `${what}: ${err instanceof Error ? err.message : String(err)}`);
  }
}
