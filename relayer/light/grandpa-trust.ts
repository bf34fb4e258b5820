import { getBytes, hexlify, toUtf8Bytes, toUtf8String } from 'ethers';
import { z } from 'zod';
import type { Hex } from '../../src/domain/hex.ts';
import { ConfigError } from '../../src/errors.ts';
import type { RuntimePins } from '../../proofs/substrate/remarks.ts';

/**
 * The trust root a Substrate chain registers: a finalized block the consortium
 * trusts by hash, the GRANDPA authority set that finalizes its descendants,
 * and the runtime pins (spec version, metadata hash, where System.Remarked
 * sits). Stored in the registry as the UTF-8 bytes of this JSON. A runtime
 * upgrade needs a new trust root (governance `reanchor`) with new pins.
 */
export interface GrandpaTrustRoot {
  height: number;
  hash: Hex;
  setId: bigint;
  authorities: { key: Hex; weight: bigint }[];
  runtime: RuntimePins;
}

/**
 * What a GRANDPA light client starts from. A relay chain's anchor carries no
 * runtime pins: nothing is decoded from its events (only `Paras::Heads` is
 * read, whose layout does not change with the runtime).
 */
export type GrandpaAnchor = Omit<GrandpaTrustRoot, 'runtime'> & { runtime?: RuntimePins };

/**
 * The trust root of a parachain, which has no GRANDPA of its own: its blocks
 * are final once a relay-chain block GRANDPA finalized holds its head in
 * `Paras::Heads(paraId)`. So the root anchors the relay chain (the light client
 * opens its own connection to the relay `endpoints`) and pins the parachain's
 * runtime, which decodes the parachain's events.
 */
export interface ParachainTrustRoot {
  relay: Omit<GrandpaTrustRoot, 'runtime'> & { endpoints: string[] };
  paraId: number;
  runtime: RuntimePins;
}

/**
 * The trust root of a Frontier chain (an EVM pallet on a GRANDPA chain, using
 * the Solidity port): GRANDPA anchors the chain's Substrate blocks, whose state
 * holds the port's storage in `EVM::AccountStorages`. No runtime is pinned:
 * no event is decoded, only that storage map is read, whose layout does not
 * change with the runtime. The light client opens its own connection to the
 * `substrateEndpoints` (the registration's endpoints are the eth RPCs).
 */
export type FrontierTrustRoot = Omit<GrandpaTrustRoot, 'runtime'> & { substrateEndpoints: string[] };

export type SubstrateTrustRoot = { kind: 'solo'; root: GrandpaTrustRoot } | { kind: 'para'; root: ParachainTrustRoot } | { kind: 'frontier'; root: FrontierTrustRoot };

const H256 = z.string().regex(/^0x[0-9a-fA-F]{64}$/);
const U64 = z.union([z.string().regex(/^\d{1,20}$/), z.number().int().nonnegative()]);

const Anchor = {
  height: z.number().int().nonnegative().max(0xffffffff),
  hash: H256,
  setId: U64,
  authorities: z.array(z.object({ key: H256, weight: U64 }).strict()).min(1).max(1024),
};

const Runtime = z
  .object({
    specVersion: z.number().int().nonnegative().max(0xffffffff),
    metadataHash: H256,
    systemPallet: z.number().int().min(0).max(255),
    remarkedEvent: z.number().int().min(0).max(255),
  })
  .strict();

const WsEndpoints = z
  .array(z.string().regex(/^wss?:\/\/[^\s]+$/, 'must be a ws:// or wss:// URL'))
  .min(1)
  .max(16);

const FrontierSchema = z.object({ ...Anchor, substrateEndpoints: WsEndpoints }).strict();

const SoloSchema = z.object({ ...Anchor, runtime: Runtime }).strict();

const ParaSchema = z
  .object({
    relay: z
      .object({
        ...Anchor,
        endpoints: WsEndpoints,
      })
      .strict(),
    paraId: z.number().int().nonnegative().max(0xffffffff),
    runtime: Runtime,
  })
  .strict();

type AnchorJson = z.infer<z.ZodObject<typeof Anchor>>;

function encodeAnchor(t: Omit<GrandpaTrustRoot, 'runtime'>) {
  return {
    height: t.height,
    hash: t.hash.toLowerCase(),
    setId: t.setId.toString(),
    authorities: t.authorities.map((a) => ({ key: a.key.toLowerCase(), weight: a.weight.toString() })),
  };
}

const encodeRuntime = (r: RuntimePins) => ({ ...r, metadataHash: r.metadataHash.toLowerCase() });

export function encodeGrandpaTrustRoot(t: GrandpaTrustRoot): Hex {
  return hexlify(toUtf8Bytes(JSON.stringify({ ...encodeAnchor(t), runtime: encodeRuntime(t.runtime) }))) as Hex;
}

export function encodeFrontierTrustRoot(t: FrontierTrustRoot): Hex {
  return hexlify(toUtf8Bytes(JSON.stringify({ ...encodeAnchor(t), substrateEndpoints: t.substrateEndpoints }))) as Hex;
}

export function encodeParachainTrustRoot(t: ParachainTrustRoot): Hex {
  const json = { relay: { ...encodeAnchor(t.relay), endpoints: t.relay.endpoints }, paraId: t.paraId, runtime: encodeRuntime(t.runtime) };
  return hexlify(toUtf8Bytes(JSON.stringify(json))) as Hex;
}

function parseJson(bytes: Hex, chainId: string): unknown {
  try {
    return JSON.parse(toUtf8String(getBytes(bytes)));
  } catch (cause) {
    throw new ConfigError(`chains.${chainId}.trustRoot`, 'a GRANDPA trust root is the UTF-8 JSON {height, hash, setId, authorities, runtime} (a parachain\'s: {relay, paraId, runtime}; a Frontier chain\'s: {height, hash, setId, authorities, substrateEndpoints})', { cause });
  }
}

function parse<T>(schema: z.ZodType<T>, raw: unknown, field: string): T {
  const r = schema.safeParse(raw);
  if (!r.success) throw new ConfigError(`${field}.${r.error.issues[0]!.path.join('.')}`, r.error.issues[0]!.message, { cause: r.error });
  return r.data;
}

function decodeAnchor(d: AnchorJson, field: string): Omit<GrandpaTrustRoot, 'runtime'> {
  const setId = BigInt(d.setId);
  if (setId >= 1n << 64n) throw new ConfigError(`${field}.setId`, 'must fit in u64');
  const keys = new Set<string>();
  const authorities = d.authorities.map((a, i) => {
    const key = a.key.toLowerCase() as Hex;
    const weight = BigInt(a.weight);
    if (weight === 0n || weight >= 1n << 64n) throw new ConfigError(`${field}.authorities.${i}.weight`, 'must be in 1..2^64-1');
    if (keys.has(key)) throw new ConfigError(`${field}.authorities.${i}.key`, 'repeats a key');
    keys.add(key);
    return { key, weight };
  });
  return { height: d.height, hash: d.hash.toLowerCase() as Hex, setId, authorities };
}

const decodeRuntime = (r: z.infer<typeof Runtime>): RuntimePins => ({ ...r, metadataHash: r.metadataHash.toLowerCase() as Hex });

/** A solo chain's trust root (ConfigError on anything else, a parachain's root included). */
export function decodeGrandpaTrustRoot(bytes: Hex, chainId: string): GrandpaTrustRoot {
  const field = `chains.${chainId}.trustRoot`;
  const raw = parseJson(bytes, chainId);
  if (isParachainJson(raw)) throw new ConfigError(field, 'is a parachain trust root; a solo GRANDPA chain is expected here');
  if (isFrontierJson(raw)) throw new ConfigError(field, 'is a Frontier (EVM pallet) trust root; a solo GRANDPA chain is expected here');
  const d = parse(SoloSchema, raw, field);
  return { ...decodeAnchor(d, field), runtime: decodeRuntime(d.runtime) };
}

/** A Substrate trust root of either kind: a parachain's names its relay chain (`relay`), a solo chain's does not. */
export function decodeSubstrateTrustRoot(bytes: Hex, chainId: string): SubstrateTrustRoot {
  const field = `chains.${chainId}.trustRoot`;
  const raw = parseJson(bytes, chainId);
  if (isFrontierJson(raw)) return { kind: 'frontier', root: decodeFrontierTrustRoot(bytes, chainId) };
  if (!isParachainJson(raw)) return { kind: 'solo', root: decodeGrandpaTrustRoot(bytes, chainId) };
  const d = parse(ParaSchema, raw, field);
  const { endpoints, ...anchor } = d.relay;
  return { kind: 'para', root: { relay: { ...decodeAnchor(anchor, `${field}.relay`), endpoints }, paraId: d.paraId, runtime: decodeRuntime(d.runtime) } };
}

/** A Frontier chain's trust root: {height, hash, setId, authorities, substrateEndpoints} (ConfigError on anything else). */
export function decodeFrontierTrustRoot(bytes: Hex, chainId: string): FrontierTrustRoot {
  const field = `chains.${chainId}.trustRoot`;
  const raw = parseJson(bytes, chainId);
  if (!isFrontierJson(raw)) throw new ConfigError(field, 'a Frontier (EVM pallet) trust root names its Substrate endpoints: {height, hash, setId, authorities, substrateEndpoints}');
  const { substrateEndpoints, ...anchor } = parse(FrontierSchema, raw, field);
  return { ...decodeAnchor(anchor, field), substrateEndpoints };
}

function isFrontierJson(raw: unknown): boolean {
  return typeof raw === 'object' && raw !== null && 'substrateEndpoints' in raw;
}

function isParachainJson(raw: unknown): boolean {
  return typeof raw === 'object' && raw !== null && 'relay' in raw;
}
