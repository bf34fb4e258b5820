import { ApiPromise, WsProvider } from '@polkadot/api';
import { withTimeout } from '../../src/timeout.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { RpcError } from '../../src/errors.ts';

/** One endpoint: the decoding api and the raw provider (for bytes the api would re-encode, e.g. metadata). */
export interface SubstrateEndpoint {
  url: string;
  api: ApiPromise;
  provider: WsProvider;
}

/** GRANDPA's engine id in `justifications` ("FRNK"). */
export const GRANDPA_ENGINE = '0x46524e4b';

const CONNECT_TIMEOUT_MS = 20_000;

export async function rpc<T>(url: string, what: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (cause) {
    throw new RpcError(url, `${what} failed`, { cause });
  }
}

/** Connects one endpoint; throws RpcError when it does not answer in time (it is retried at the next registry sync). */
export async function connectEndpoint(url: string): Promise<SubstrateEndpoint> {
  const provider = new WsProvider(url, 1000, {}, CONNECT_TIMEOUT_MS);
  try {
    const api = await withTimeout(ApiPromise.create({ provider, throwOnConnect: true, noInitWarn: true }), CONNECT_TIMEOUT_MS, 'connect');
    return { url, api, provider };
  } catch (cause) {
    await provider.disconnect().catch(() => undefined);
    throw new RpcError(url, 'connect failed', { cause });
  }
}

export async function disconnectEndpoint(e: SubstrateEndpoint): Promise<void> {
  await e.api.disconnect().catch(() => undefined);
}

/** The block hash at a height, or null when the endpoint has no such block. */
export async function hashAt(e: SubstrateEndpoint, height: number): Promise<Hex | null> {
  const raw = await rpc(e.url, 'chain_getBlockHash', () => e.provider.send<string | null>('chain_getBlockHash', [height], false));
  return typeof raw === 'string' && /^0x[0-9a-fA-F]{64}$/.test(raw) && !/^0x0{64}$/.test(raw) ? (raw.toLowerCase() as Hex) : null;
}

/**
 * A block's SCALE header, its extrinsics (SCALE) and its GRANDPA justification,
 * as the endpoint serves them now: read with a raw `chain_getBlock`, because
 * the api's rpc layer may answer block-hash-pinned calls from its cache, and a
 * light client must see what the endpoint serves.
 */
export async function blockBytes(e: SubstrateEndpoint, hash: Hex): Promise<{ header: Uint8Array; extrinsics: Hex[]; justification: Uint8Array | null } | null> {
  const raw = await rpc(e.url, 'chain_getBlock', () => e.provider.send<RawSignedBlock | null>('chain_getBlock', [hash], false));
  if (!raw || typeof raw !== 'object' || !raw.block) return null;
  let header: Uint8Array;
  try {
    header = e.api.registry.createType('Header', raw.block.header).toU8a();
  } catch (cause) {
    throw new RpcError(e.url, `block ${hash}: header does not decode`, { cause });
  }
  const extrinsics = Array.isArray(raw.block.extrinsics) ? raw.block.extrinsics.map((x) => String(x).toLowerCase() as Hex) : [];
  let justification: Uint8Array | null = null;
  for (const j of Array.isArray(raw.justifications) ? raw.justifications : []) {
    if (Array.isArray(j) && String(j[0]).toLowerCase() === GRANDPA_ENGINE && typeof j[1] === 'string' && /^0x([0-9a-fA-F]{2})*$/.test(j[1])) {
      justification = Uint8Array.from(Buffer.from(j[1].slice(2), 'hex'));
    }
  }
  return { header, extrinsics, justification };
}

interface RawSignedBlock {
  block?: { header: Record<string, unknown>; extrinsics?: unknown[] };
  justifications?: unknown[] | null;
}
