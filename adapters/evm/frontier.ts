import { WsProvider } from '@polkadot/api';
import { blake2AsU8a } from '@polkadot/util-crypto';
import { getBytes, toUtf8String } from 'ethers';
import { z } from 'zod';
import type { ChainRegistration } from '../../src/domain/chain.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { ConfigError, RpcError, ValidationError } from '../../src/errors.ts';
import { withTimeout } from '../../src/timeout.ts';
import { COMMITMENTS_SLOT } from './artifacts.ts';
import { mappingSlot } from './slots.ts';

/*
 * Frontier (pallet-evm + pallet-ethereum on a GRANDPA chain) serves no
 * eth_getProof: the Solidity port's storage is proven as the Substrate state
 * item `EVM::AccountStorages(port, slot)`, read with `state_getReadProof` at
 * the Substrate block whose number is the message's eth block number.
 */

/** twox128("EVM") ++ twox128("AccountStorages"): pallet-evm's StorageDoubleMap<Blake2_128Concat H160, Blake2_128Concat H256, H256>. */
export const EVM_ACCOUNT_STORAGES_PREFIX: Hex = '0x1da53b775b270400e7e61ed5cbc5a146ab1160471b1418779239ba8e2b847e42';

const blake2_128Concat = (k: Uint8Array) => Buffer.concat([blake2AsU8a(k, 128), k]).toString('hex');

/** The Substrate key of `EVM::AccountStorages(address, slot)`. */
export function accountStoragesKey(address: Hex, slot: Hex): Hex {
  const a = getBytes(address);
  const s = getBytes(slot);
  if (a.length !== 20) throw new ValidationError('address', 'must be 20 bytes');
  if (s.length !== 32) throw new ValidationError('slot', 'must be 32 bytes');
  return `${EVM_ACCOUNT_STORAGES_PREFIX}${blake2_128Concat(a)}${blake2_128Concat(s)}` as Hex;
}

/** The port's `commitments[id]` slot (QiaoPort keeps `commitments` at slot 0: part of the proof format). */
export const commitmentStorageSlot = (id: Hex): Hex => mappingSlot(id, COMMITMENTS_SLOT);

/**
 * What the Frontier prover serves for the messages of one block: the Substrate
 * block hash at the message's height (the light client decides whether it is
 * final), the port, the asked-for ids and a read proof of their
 * `AccountStorages` keys at that block. Nothing in it is trusted.
 */
export interface FrontierStorageProof {
  kind: 'frontier-storage';
  height: string;
  blockHash: Hex;
  address: Hex;
  ids: Hex[];
  readProof: Hex[];
  [k: string]: unknown;
}

const H256 = z.string().regex(/^0x[0-9a-fA-F]{64}$/);
const Bytes = z.string().regex(/^0x(?:[0-9a-fA-F]{2})*$/);

export const FrontierStorageProofSchema = z.object({
  kind: z.literal('frontier-storage'),
  height: z.string().regex(/^\d{1,10}$/),
  blockHash: H256,
  address: z.string().regex(/^0x[0-9a-fA-F]{40}$/),
  ids: z.array(H256).min(1).max(4096),
  readProof: z.array(Bytes).max(4096),
});

/** The Substrate endpoints a Frontier registration's trust root names (the relayer's light client validates the rest of it). */
export function frontierSubstrateEndpoints(reg: ChainRegistration): string[] {
  const field = `chains.${reg.chainId}.trustRoot.substrateEndpoints`;
  let raw: unknown;
  try {
    raw = JSON.parse(toUtf8String(getBytes(reg.trustRoot)));
  } catch (cause) {
    throw new ConfigError(field, 'a Frontier trust root is UTF-8 JSON naming its substrateEndpoints', { cause });
  }
  const r = z.object({ substrateEndpoints: z.array(z.string().regex(/^wss?:\/\/[^\s]+$/)).min(1).max(16) }).safeParse(raw);
  if (!r.success) throw new ConfigError(field, 'must be 1-16 ws:// or wss:// URLs', { cause: r.error });
  return r.data.substrateEndpoints;
}

const HeaderNumber = z.object({ number: z.string().regex(/^0x[0-9a-fA-F]{1,8}$/) });
const ReadProofJson = z.object({ at: H256, proof: z.array(Bytes).max(4096) });
const CONNECT_TIMEOUT_MS = 10_000;
const CALL_TIMEOUT_MS = 20_000;

/**
 * The Frontier chain's Substrate side, raw JSON-RPC (no metadata: nothing is
 * decoded): where GRANDPA finality is, and read proofs of the port's storage.
 * Answers are shape-checked; the relayer's light client and verifier decide
 * what they are worth. Connects on first use.
 */
export class FrontierSubstrateRpc {
  private readonly providers: (WsProvider | null)[];
  private closed = false;

  constructor(readonly endpoints: readonly string[]) {
    this.providers = endpoints.map(() => null);
  }

  /** The GRANDPA-finalized height the first endpoint that answers reports. */
  async finalizedHeight(): Promise<bigint> {
    let last: unknown = null;
    for (let ep = 0; ep < this.endpoints.length; ep++) {
      try {
        return await this.call(ep, 'chain_getFinalizedHead', async () => {
          const hash = H256.parse(await this.send(ep, 'chain_getFinalizedHead', []));
          return BigInt(HeaderNumber.parse(await this.send(ep, 'chain_getHeader', [hash])).number);
        });
      } catch (err) {
        last = err;
      }
    }
    throw last ?? new RpcError('frontier', 'no Substrate endpoint');
  }

  /** The proof of `ids`' commitment slots of `port` at Substrate block `height`, from one endpoint. */
  async prove(height: bigint, port: Hex, ids: readonly Hex[], endpoint: number): Promise<FrontierStorageProof> {
    if (!this.endpoints[endpoint]) throw new ValidationError('endpoint', `no Substrate endpoint #${endpoint}`);
    if (height < 0n || height > 0xffffffffn) throw new ValidationError('height', `${height} is not a u32 block number`);
    const keys = ids.map((id) => accountStoragesKey(port, commitmentStorageSlot(id)));
    return this.call(endpoint, 'state_getReadProof', async () => {
      const hash = await this.send(endpoint, 'chain_getBlockHash', [Number(height)]);
      if (typeof hash !== 'string' || !H256.safeParse(hash).success) throw new RpcError(this.endpoints[endpoint]!, `no Substrate block #${height}`);
      const r = ReadProofJson.parse(await this.send(endpoint, 'state_getReadProof', [keys, hash]));
      return {
        kind: 'frontier-storage',
        height: height.toString(),
        blockHash: hash.toLowerCase() as Hex,
        address: port.toLowerCase() as Hex,
        ids: ids.map((id) => id.toLowerCase() as Hex),
        readProof: r.proof.map((p) => p.toLowerCase() as Hex),
      };
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.providers.map((p) => p?.disconnect().catch(() => undefined)));
    this.providers.fill(null);
  }

  private async call<T>(endpoint: number, what: string, f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (cause) {
      if (cause instanceof RpcError) throw cause;
      // A shape the node never returns (zod) or a failed call: the endpoint is at fault, not the chain.
      throw new RpcError(this.endpoints[endpoint]!, `${what} failed`, { cause });
    }
  }

  private async send(endpoint: number, method: string, params: unknown[]): Promise<unknown> {
    if (this.closed) throw new RpcError(this.endpoints[endpoint]!, 'the Frontier Substrate connection is closed');
    let p = this.providers[endpoint];
    if (!p) this.providers[endpoint] = p = new WsProvider(this.endpoints[endpoint]!, 1000, {}, CALL_TIMEOUT_MS);
    if (!p.isConnected) await withTimeout(p.isReady, CONNECT_TIMEOUT_MS, 'connect');
    return p.send(method, params, false);
  }
}
