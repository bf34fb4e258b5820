import { getAddress, hexlify, toUtf8Bytes, toUtf8String, getBytes } from 'ethers';
import { z } from 'zod';
import type { Hex } from '../../src/domain/hex.ts';
import { ConfigError } from '../../src/errors.ts';

/**
 * The trust root a QBFT/IBFT 2.0 chain registers: a block the consortium
 * trusts by hash, and the validator set that block names for its children.
 * Stored in the registry as the UTF-8 bytes of this JSON.
 */
export interface BftTrustRoot {
  height: bigint;
  hash: Hex;
  validators: string[];
}

const Schema = z
  .object({
    height: z.union([z.string().regex(/^\d{1,20}$/), z.number().int().nonnegative()]),
    hash: z.string().regex(/^0x[0-9a-fA-F]{64}$/),
    validators: z.array(z.string().regex(/^0x[0-9a-fA-F]{40}$/)).min(1).max(256),
  })
  .strict();

export function encodeBftTrustRoot(t: BftTrustRoot): Hex {
  return hexlify(toUtf8Bytes(JSON.stringify({ height: t.height.toString(), hash: t.hash.toLowerCase(), validators: t.validators.map((v) => v.toLowerCase()) }))) as Hex;
}

export function decodeBftTrustRoot(bytes: Hex, chainId: string): BftTrustRoot {
  let raw: unknown;
  try {
    raw = JSON.parse(toUtf8String(getBytes(bytes)));
  } catch (cause) {
    throw new ConfigError(`chains.${chainId}.trustRoot`, 'a QBFT/IBFT 2.0 trust root is the UTF-8 JSON {height, hash, validators}', { cause });
  }
  const r = Schema.safeParse(raw);
  if (!r.success) throw new ConfigError(`chains.${chainId}.trustRoot.${r.error.issues[0]!.path.join('.')}`, r.error.issues[0]!.message, { cause: r.error });
  return { height: BigInt(r.data.height), hash: r.data.hash.toLowerCase() as Hex, validators: r.data.validators.map((v) => getAddress(v).toLowerCase()) };
}
