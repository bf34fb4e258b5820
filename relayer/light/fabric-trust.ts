import { getBytes, hexlify, toUtf8Bytes, toUtf8String } from 'ethers';
import { z } from 'zod';
import { configFromBlock, decodeBlock, type ChannelConfig, type FabricBlock } from '../../proofs/fabric/index.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { ConfigError } from '../../src/errors.ts';

/**
 * The trust root a Fabric chain registers: a config block the consortium
 * trusts (the channel's genesis block or a later config block) — its orderer
 * and application MSPs and policies are where verification starts — with the
 * channel, the port chaincode and k, the number of organisations whose peers
 * must sign that a transaction is valid (validation flags are outside the
 * block hash). Stored in the registry as the UTF-8 bytes of this JSON, the
 * block base64.
 */
export interface FabricTrustRoot {
  channel: string;
  chaincode: string;
  organisations: number;
  /** The serialized common.Block. */
  configBlock: Uint8Array;
  /** The config block's number. */
  height: bigint;
}

/** Fabric channel names: lower-case, starting with a letter (configtxgen's rule). */
const Channel = z.string().regex(/^[a-z][a-z0-9.-]{0,248}$/);
/** Chaincode names as the lifecycle accepts them. */
const Chaincode = z.string().regex(/^[a-zA-Z0-9]+([-_][a-zA-Z0-9]+)*$/).max(128);

const Schema = z
  .object({
    channel: Channel,
    chaincode: Chaincode,
    organisations: z.number().int().min(1).max(256),
    configBlock: z.string().regex(/^[A-Za-z0-9+/]+={0,2}$/).max(16 << 20),
    height: z.union([z.number().int().nonnegative(), z.string().regex(/^\d{1,19}$/)]),
  })
  .strict();

export function encodeFabricTrustRoot(t: FabricTrustRoot): Hex {
  const json = {
    channel: t.channel,
    chaincode: t.chaincode,
    organisations: t.organisations,
    configBlock: Buffer.from(t.configBlock).toString('base64'),
    height: Number(t.height),
  };
  return hexlify(toUtf8Bytes(JSON.stringify(json))) as Hex;
}

/** A decoded trust root with its block parsed: what the light client starts from. */
export interface FabricTrustState {
  trust: FabricTrustRoot;
  block: FabricBlock;
  config: ChannelConfig;
}

/**
 * Decodes and checks a registered trust root: the block decodes, carries the
 * stated number, holds a config for the stated channel, and that channel is
 * the one the CAIP-2 id names (`fabric:<network>_<channel>`).
 */
export function decodeFabricTrustRoot(bytes: Hex, chainId: string): FabricTrustState {
  const field = `chains.${chainId}.trustRoot`;
  let raw: unknown;
  try {
    raw = JSON.parse(toUtf8String(getBytes(bytes)));
  } catch (cause) {
    throw new ConfigError(field, 'a Fabric trust root is the UTF-8 JSON {channel, chaincode, organisations, configBlock (base64), height}', { cause });
  }
  const r = Schema.safeParse(raw);
  if (!r.success) throw new ConfigError(`${field}.${r.error.issues[0]!.path.join('.')}`, r.error.issues[0]!.message, { cause: r.error });
  const d = r.data;
  const trust: FabricTrustRoot = { channel: d.channel, chaincode: d.chaincode, organisations: d.organisations, configBlock: new Uint8Array(Buffer.from(d.configBlock, 'base64')), height: BigInt(d.height) };
  let block: FabricBlock;
  let config: ChannelConfig;
  try {
    block = decodeBlock(trust.configBlock);
    config = configFromBlock(block);
  } catch (cause) {
    throw new ConfigError(`${field}.configBlock`, `is not a Fabric config block: ${(cause as Error).message}`, { cause });
  }
  if (block.number !== trust.height) throw new ConfigError(`${field}.height`, `the config block is block ${block.number}, not ${trust.height}`);
  if (config.channelId !== trust.channel) throw new ConfigError(`${field}.channel`, `the config block is for channel ${config.channelId}, not ${trust.channel}`);
  // The CAIP-2 reference is `<network>_<channel>`: a trust root for another channel is a registration error.
  if (chainId.startsWith('fabric:') && !chainId.endsWith(`_${trust.channel}`)) throw new ConfigError(`${field}.channel`, `names channel ${trust.channel}, the chain is registered as ${chainId}`);
  return { trust, block, config };
}
