import { WsProvider } from '@polkadot/api';
import { z } from 'zod';
import { asBytes, concatBytes, encodeCompact } from '../../proofs/substrate/bytes.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { RpcError } from '../../src/errors.ts';
import { withTimeout } from '../../src/timeout.ts';
import type { GrandpaBlockSource } from './grandpa-client.ts';

const H256 = z.string().regex(/^0x[0-9a-fA-F]{64}$/);
const Bytes = z.string().regex(/^0x(?:[0-9a-fA-F]{2})*$/);
const HeaderJson = z.object({
  parentHash: H256,
  number: z.string().regex(/^0x[0-9a-fA-F]{1,8}$/),
  stateRoot: H256,
  extrinsicsRoot: H256,
  digest: z.object({ logs: z.array(Bytes).max(1024) }),
});
const SignedBlockJson = z.object({
  block: z.object({ header: HeaderJson }),
  justifications: z.array(z.tuple([z.string(), Bytes])).nullable().optional(),
});
const ReadProofJson = z.object({ at: H256, proof: z.array(Bytes).max(4096) });

/** GRANDPA's engine id in `justifications` ("FRNK"). */
const GRANDPA_ENGINE = '0x46524e4b';
const CONNECT_TIMEOUT_MS = 10_000;
const CALL_TIMEOUT_MS = 20_000;

/**
 * A Substrate node's JSON-RPC, raw (no metadata, no decoding api), for a light
 * client that opens its own connections: a parachain client's relay-chain
 * endpoints. Every answer is shape-checked here and verified by the light
 * client; nothing is trusted. Calls go to the first endpoint that answers;
 * read proofs are asked of one endpoint at a time, so the caller can fall
 * back when one serves a proof that does not verify. Connects on first use.
 */
export class SubstrateRpcSource implements GrandpaBlockSource {
  private readonly providers: (WsProvider | null)[];
  private closed = false;

  constructor(readonly endpoints: readonly string[]) {
    this.providers = endpoints.map(() => null);
  }

  endpointCount(): number {
    return this.endpoints.length;
  }

  async finalizedHeight(): Promise<number> {
    return this.any(async (ep) => {
      const hash = H256.parse(await this.send(ep, 'chain_getFinalizedHead', []));
      return Number.parseInt(HeaderJson.parse(await this.send(ep, 'chain_getHeader', [hash])).number, 16);
    });
  }

  async blockAt(height: number): Promise<{ header: Uint8Array; justification: Uint8Array | null }> {
    return this.any(async (ep) => {
      const hash = await this.send(ep, 'chain_getBlockHash', [height]);
      if (typeof hash !== 'string' || !H256.safeParse(hash).success) throw new RpcError(this.endpoints[ep]!, `no block #${height}`);
      const b = SignedBlockJson.parse(await this.send(ep, 'chain_getBlock', [hash]));
      const j = (b.justifications ?? []).find(([engine]) => engine.toLowerCase() === GRANDPA_ENGINE);
      return { header: encodeHeader(b.block.header), justification: j ? asBytes(j[1])! : null };
    });
  }

  async metadataAt(hash: Hex): Promise<Uint8Array> {
    return this.any(async (ep) => asBytes(Bytes.parse(await this.send(ep, 'state_getMetadata', [hash])))!);
  }

  /** `state_getReadProof(keys, at)` from one endpoint: the trie nodes, unverified. */
  async readProof(keys: readonly Hex[], at: Hex, endpoint: number): Promise<Hex[]> {
    if (!this.endpoints[endpoint]) throw new RpcError(`endpoint #${endpoint}`, 'no such relay endpoint');
    const r = await this.call(endpoint, async () => ReadProofJson.parse(await this.send(endpoint, 'state_getReadProof', [keys, at])));
    return r.proof.map((p) => p.toLowerCase() as Hex);
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.providers.map((p) => p?.disconnect().catch(() => undefined)));
    this.providers.fill(null);
  }

  /** The first endpoint's answer; the next one is asked while they are down or answer nonsense. */
  private async any<T>(f: (endpoint: number) => Promise<T>): Promise<T> {
    let last: unknown = null;
    for (let ep = 0; ep < this.endpoints.length; ep++) {
      try {
        return await this.call(ep, () => f(ep));
      } catch (err) {
        last = err;
      }
    }
    throw last ?? new RpcError('relay', 'no endpoint');
  }

  private async call<T>(endpoint: number, f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (cause) {
      if (cause instanceof RpcError) throw cause;
      // A shape the node never returns (zod) or a failed call: the endpoint is at fault, not the chain.
      throw new RpcError(this.endpoints[endpoint]!, 'relay-chain call failed', { cause });
    }
  }

  private async send(endpoint: number, method: string, params: unknown[]): Promise<unknown> {
    const p = await this.provider(endpoint);
    return p.send(method, params, false);
  }

  private async provider(endpoint: number): Promise<WsProvider> {
    if (this.closed) throw new RpcError(this.endpoints[endpoint]!, 'the relay-chain source is closed');
    let p = this.providers[endpoint];
    if (!p) this.providers[endpoint] = p = new WsProvider(this.endpoints[endpoint]!, 1000, {}, CALL_TIMEOUT_MS);
    if (!p.isConnected) await withTimeout(p.isReady, CONNECT_TIMEOUT_MS, 'connect');
    return p;
  }
}

/** SCALE header from the node's JSON (digest logs are already SCALE `DigestItem`s): what the block hash covers. */
export function encodeHeader(h: z.infer<typeof HeaderJson>): Uint8Array {
  return concatBytes(
    asBytes(h.parentHash)!,
    encodeCompact(Number.parseInt(h.number, 16)),
    asBytes(h.stateRoot)!,
    asBytes(h.extrinsicsRoot)!,
    encodeCompact(h.digest.logs.length),
    ...h.digest.logs.map((l) => asBytes(l)!),
  );
}
