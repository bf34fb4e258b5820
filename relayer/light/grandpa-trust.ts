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

const H256 = z.string().regex(/^0x[0-9a-fA-F]{64}$/);
const U64 = z.union([z.string().regex(/^\d{1,20}$/), z.number().int().nonnegative()]);

const Schema = z
  .object({
    height: z.number().int().nonnegative().max(0xffffffff),
    hash: H256,
    setId: U64,
    authorities: z.array(z.object({ key: H256, weight: U64 }).strict()).min(1).max(1024),
    runtime: z
      .object({
        specVersion: z.number().int().nonnegative().max(0xffffffff),
        metadataHash: H256,
        systemPallet: z.number().int().min(0).max(255),
        remarkedEvent: z.number().int().min(0).max(255),
      })
      .strict(),
  })
  .strict();

export function encodeGrandpaTrustRoot(t: GrandpaTrustRoot): Hex {
  const json = {
    height: t.height,
    hash: t.hash.toLowerCase(),
    setId: t.setId.toString(),
    authorities: t.authorities.map((a) => ({ key: a.key.toLowerCase(), weight: a.weight.toString() })),
    runtime: { ...t.runtime, metadataHash: t.runtime.metadataHash.toLowerCase() },
  };
  return hexlify(toUtf8Bytes(JSON.stringify(json))) as Hex;
}

export function decodeGrandpaTrustRoot(bytes: Hex, chainId: string): GrandpaTrustRoot {
  let raw: unknown;
  try {
    raw = JSON.parse(toUtf8String(getBytes(bytes)));
  } catch (cause) {
    throw new ConfigError(`chains.${chainId}.trustRoot`, 'a GRANDPA trust root is the UTF-8 JSON {height, hash, setId, authorities, runtime}', { cause });
  }
  const r = Schema.safeParse(raw);
  if (!r.success) throw new ConfigError(`chains.${chainId}.trustRoot.${r.error.issues[0]!.path.join('.')}`, r.error.issues[0]!.message, { cause: r.error });
  const d = r.data;
  const setId = BigInt(d.setId);
  if (setId >= 1n << 64n) throw new ConfigError(`chains.${chainId}.trustRoot.setId`, 'must fit in u64');
  const keys = new Set<string>();
  const authorities = d.authorities.map((a, i) => {
    const key = a.key.toLowerCase() as Hex;
    const weight = BigInt(a.weight);
    if (weight === 0n || weight >= 1n << 64n) throw new ConfigError(`chains.${chainId}.trustRoot.authorities.${i}.weight`, 'must be in 1..2^64-1');
    if (keys.has(key)) throw new ConfigError(`chains.${chainId}.trustRoot.authorities.${i}.key`, 'repeats a key');
    keys.add(key);
    return { key, weight };
  });
  return {
    height: d.height,
    hash: d.hash.toLowerCase() as Hex,
    setId,
    authorities,
    runtime: { ...d.runtime, metadataHash: d.runtime.metadataHash.toLowerCase() as Hex },
  };
}
