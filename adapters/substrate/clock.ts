import type { PortClock } from '../../src/domain/adapter.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { TIMESTAMP_NOW_KEY } from '../../src/domain/substrate-storage.ts';
import { RpcError } from '../../src/errors.ts';
import { rpc, type SubstrateEndpoint } from './rpc.ts';

/**
 * A Substrate chain's clock at one block: its number and pallet-timestamp's
 * `Timestamp::Now` (u64 ms, SCALE little-endian) in seconds, read raw at that
 * block's hash (the api's cache must not answer for the endpoint). A block
 * without the value (genesis) reads 0, as FRAME's ValueQuery default: nothing
 * times out by time there.
 */
export async function clockAt(e: SubstrateEndpoint, at: 'finalized' | 'head'): Promise<PortClock> {
  let hash: Hex;
  let height: number;
  if (at === 'finalized') {
    hash = (await rpc(e.url, 'chain_getFinalizedHead', () => e.api.rpc.chain.getFinalizedHead())).toHex() as Hex;
    height = (await rpc(e.url, 'chain_getHeader', () => e.api.rpc.chain.getHeader(hash))).number.toNumber();
  } else {
    const h = await rpc(e.url, 'chain_getHeader', () => e.api.rpc.chain.getHeader());
    hash = h.hash.toHex() as Hex;
    height = h.number.toNumber();
  }
  const raw = await rpc(e.url, 'state_getStorage', () => e.provider.send<string | null>('state_getStorage', [TIMESTAMP_NOW_KEY, hash], false));
  return { height: BigInt(height), time: decodeNow(e.url, raw) / 1000n };
}

function decodeNow(url: string, raw: unknown): bigint {
  if (raw === null || raw === undefined) return 0n;
  if (typeof raw !== 'string' || !/^0x[0-9a-fA-F]{16}$/.test(raw)) throw new RpcError(url, `Timestamp::Now is not a u64: ${String(raw).slice(0, 40)}`);
  return Buffer.from(raw.slice(2), 'hex').readBigUInt64LE(0);
}
