import { getBytes, hexlify, toUtf8Bytes, toUtf8String } from 'ethers';
import { z } from 'zod';
import { MalformedInput, parseValidatorSet } from '../../proofs/tendermint/parse.ts';
import type { ValidatorJson } from '../../proofs/tendermint/types.ts';
import type { CosmosLink as BaseCosmosLink } from '../../adapters/cosmos/link.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { ConfigError } from '../../src/errors.ts';

/** The link `qiao cosmos connect` established (the adapter delivers through it; the light client only carries it), and the chain's ibc-go major version (absent: v8). */
export type CosmosLink = BaseCosmosLink & { ibcVersion?: 'v8' | 'v9' };

/**
 * The trust root a CometBFT chain registers: a header the consortium trusts
 * by hash and the validator set that signed it (as `/validators` serves it),
 * with the light-client parameters. Stored in the registry as the UTF-8
 * bytes of this JSON. Once the newest verified header is older than the
 * trusting period, nothing new can be verified: governance must re-anchor
 * with a fresh trust root.
 */
export interface CometTrustRoot {
  /** The CometBFT chain id (without the `cosmos:` CAIP-2 prefix). */
  chainId: string;
  height: bigint;
  /** Header hash at `height`, 0x lower-case. */
  hash: Hex;
  validators: ValidatorJson[];
  trustingPeriodSeconds: number;
  trustLevel: { numerator: number; denominator: number };
  maxClockDriftSeconds: number;
  link: CosmosLink;
  /** As `link.ibcVersion` (either place is accepted; the adapter reads it). */
  ibcVersion?: 'v8' | 'v9';
}

const H256 = z.string().regex(/^0x[0-9a-fA-F]{64}$/);
const Ident = z.string().regex(/^[a-zA-Z0-9._+\-#[\]<>]{2,128}$/);
const IbcVersion = z.enum(['v8', 'v9']);

const Schema = z
  .object({
    chainId: z.string().min(1).max(50),
    height: z.union([z.number().int().positive(), z.string().regex(/^[1-9]\d{0,18}$/)]),
    hash: H256,
    validators: z.array(z.unknown()).min(1).max(10_000),
    trustingPeriodSeconds: z.number().positive().finite(),
    trustLevel: z.object({ numerator: z.number().int().positive(), denominator: z.number().int().positive() }).strict(),
    maxClockDriftSeconds: z.number().nonnegative().finite(),
    link: z.object({ soloClientId: Ident, connectionId: Ident, counterpartyConnectionId: Ident, hubPort: Ident, hubChannel: Ident, ibcVersion: IbcVersion.optional() }).strict(),
    ibcVersion: IbcVersion.optional(),
  })
  .strict();

export function encodeCometTrustRoot(t: CometTrustRoot): Hex {
  const json = {
    chainId: t.chainId,
    height: Number(t.height),
    hash: t.hash.toLowerCase(),
    validators: t.validators,
    trustingPeriodSeconds: t.trustingPeriodSeconds,
    trustLevel: t.trustLevel,
    maxClockDriftSeconds: t.maxClockDriftSeconds,
    link: t.link,
    ...(t.ibcVersion ? { ibcVersion: t.ibcVersion } : {}),
  };
  return hexlify(toUtf8Bytes(JSON.stringify(json))) as Hex;
}

export function decodeCometTrustRoot(bytes: Hex, chainId: string): CometTrustRoot {
  const field = `chains.${chainId}.trustRoot`;
  let raw: unknown;
  try {
    raw = JSON.parse(toUtf8String(getBytes(bytes)));
  } catch (cause) {
    throw new ConfigError(field, 'a CometBFT trust root is the UTF-8 JSON {chainId, height, hash, validators, trustingPeriodSeconds, trustLevel, maxClockDriftSeconds, link}', { cause });
  }
  const r = Schema.safeParse(raw);
  if (!r.success) throw new ConfigError(`${field}.${r.error.issues[0]!.path.join('.')}`, r.error.issues[0]!.message, { cause: r.error });
  const d = r.data;
  const { numerator, denominator } = d.trustLevel;
  // CometBFT accepts [1/3, 1]: below 1/3 a skipped header could be signed by faulty validators alone.
  if (numerator * 3 < denominator || numerator > denominator) throw new ConfigError(`${field}.trustLevel`, 'must be within [1/3, 1]');
  try {
    parseValidatorSet({ validators: d.validators }, 'validators');
  } catch (cause) {
    if (cause instanceof MalformedInput) throw new ConfigError(`${field}.validators`, cause.message, { cause });
    throw cause;
  }
  // The registered id is `cosmos:<chain-id>`: a trust root for another chain is a registration error.
  if (chainId.startsWith('cosmos:') && chainId.slice('cosmos:'.length) !== d.chainId) throw new ConfigError(`${field}.chainId`, `names ${d.chainId}, the chain is registered as ${chainId}`);
  return {
    chainId: d.chainId,
    height: BigInt(d.height),
    hash: d.hash.toLowerCase() as Hex,
    validators: d.validators as ValidatorJson[],
    trustingPeriodSeconds: d.trustingPeriodSeconds,
    trustLevel: { numerator, denominator },
    maxClockDriftSeconds: d.maxClockDriftSeconds,
    link: d.link,
    ...(d.ibcVersion ? { ibcVersion: d.ibcVersion } : {}),
  };
}
