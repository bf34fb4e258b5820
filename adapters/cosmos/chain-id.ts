import { chainId, parseChainId, type ChainId } from '../../src/domain/caip.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { ValidationError } from '../../src/errors.ts';

/** CAIP-2 for Cosmos chains: `cosmos:` and the CometBFT chain id (CAIP-2's reference charset: at most 32 of [-_a-zA-Z0-9]). */
export function cosmosChainId(cometChainId: string): ChainId {
  return chainId(`cosmos:${cometChainId}`, 'chainId');
}

/** The CometBFT chain id inside a `cosmos:` CAIP-2 id. */
export function cometChainIdOf(id: ChainId | string): string {
  const p = parseChainId(id);
  if (p.namespace !== 'cosmos') throw new ValidationError('chainId', `"${id}" is not a cosmos: chain id`);
  return p.reference;
}

/**
 * The revision number of a chain id as ibc-go's clienttypes.ParseChainID reads
 * it: the digits after the last "-" when the id ends in `-<n>` (n without a
 * leading zero), else 0. Timeout heights on the chain carry it.
 */
export function revisionNumberOf(cometChainId: string): bigint {
  const m = /^.*[^\n-]-([1-9][0-9]*)$/.exec(cometChainId);
  return m ? BigInt(m[1]!) : 0n;
}

/** The IBC port and channel a Cosmos registration's `port` names (hex of UTF-8 `<port id>/<channel id>`). */
export interface CosmosPortChannel {
  portId: string;
  channelId: string;
}

const IDENT = /^[a-zA-Z0-9._+\-#[\]<>]{2,128}$/;

export function parseCosmosPort(port: Hex | string, field = 'port'): CosmosPortChannel {
  if (!/^0x(?:[0-9a-fA-F]{2})+$/.test(port)) throw new ValidationError(field, 'must be the hex of UTF-8 "<port id>/<channel id>"');
  const text = Buffer.from(port.slice(2), 'hex').toString('utf8');
  const i = text.lastIndexOf('/');
  const portId = text.slice(0, i);
  const channelId = text.slice(i + 1);
  if (i < 0 || !IDENT.test(portId) || !/^channel-(0|[1-9][0-9]*)$/.test(channelId)) {
    throw new ValidationError(field, `"${text.slice(0, 160)}" is not "<port id>/channel-<n>"`);
  }
  return { portId, channelId };
}

/** The registration `port` (and the Qiao srcPort/dstPort) of an IBC port and channel. */
export function cosmosPortBytes(p: CosmosPortChannel): Hex {
  return `0x${Buffer.from(`${p.portId}/${p.channelId}`, 'utf8').toString('hex')}` as Hex;
}
