import type { ChainId } from '../../src/domain/caip.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { ValidationError } from '../../src/errors.ts';

/** Fabric channel names: lower case, start with a letter, no `_` (so `fabric:<network>_<channel>` splits at its last `_`). */
const CHANNEL = /^[a-z][a-z0-9.-]{0,248}$/;
const NETWORK = /^[A-Za-z0-9-]+(?:_[A-Za-z0-9-]+)*$/;
/** Chaincode names as the peer accepts them. */
const CHAINCODE = /^[A-Za-z0-9_.+-]{1,64}$/;

export interface FabricChainName {
  network: string;
  channel: string;
}

/** `fabric:<network>_<channel>` → its parts. */
export function parseFabricChainId(chainId: string, field = 'chainId'): FabricChainName {
  const m = /^fabric:(.+)_([^_]+)$/.exec(chainId);
  if (!m || !NETWORK.test(m[1]!) || !CHANNEL.test(m[2]!)) throw new ValidationError(field, `"${chainId}" is not fabric:<network>_<channel>`);
  return { network: m[1]!, channel: m[2]! };
}

export interface FabricPort {
  channel: string;
  chaincode: string;
}

/** The registration's `port`: hex of UTF-8 `"<channel>/<chaincode>"` (also the Qiao srcPort/dstPort bytes). */
export function parseFabricPort(port: Hex, field = 'port'): FabricPort {
  if (!/^0x([0-9a-fA-F]{2})+$/.test(port)) throw new ValidationError(field, 'must be the hex of UTF-8 "<channel>/<chaincode>"');
  const text = Buffer.from(port.slice(2), 'hex').toString('utf8');
  const [channel, chaincode, ...rest] = text.split('/');
  if (rest.length > 0 || !channel || !chaincode || !CHANNEL.test(channel) || !CHAINCODE.test(chaincode)) {
    throw new ValidationError(field, `"${text}" is not "<channel>/<chaincode>"`);
  }
  return { channel, chaincode };
}

export function fabricPortBytes(p: FabricPort): Hex {
  return `0x${Buffer.from(`${p.channel}/${p.chaincode}`, 'utf8').toString('hex')}` as Hex;
}

/** The chain's folder name under `<dataDir>/fabric/` (`:` is not portable in file names). */
export function chainFolderName(chainId: ChainId | string): string {
  return chainId.replace(/:/g, '_');
}
