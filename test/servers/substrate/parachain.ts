import { compactToU8a, u8aConcat, u8aToHex } from '@polkadot/util';
import { blake2AsU8a } from '@polkadot/util-crypto';
import type { Block, Chain } from './chain.ts';
import { u32le } from './grandpa.ts';
import { twox64Concat, valueKey } from './storage.ts';
import { buildTrie, type StateTrie } from './trie.ts';

/**
 * Relay chain and parachain, as far as finality goes (polkadot-runtime-
 * parachains `paras` pallet): the relay keeps each para's newest included head
 * in `Paras::Heads(ParaId)` (Twox64Concat(u32), value HeadData = Vec<u8> of the
 * para header's SCALE bytes); a para block is final once a finalized relay
 * block holds it or a descendant. Modelled: every para block is included in
 * the relay's next block (no backing, availability, or candidate receipts;
 * when the para is faster than the relay, the newest head wins and its
 * ancestors are final with it).
 */
export const PARAS_HEADS_PREFIX = u8aToHex(valueKey('Paras', 'Heads'));

export function parasHeadsKey(paraId: number): `0x${string}` {
  return u8aToHex(u8aConcat(valueKey('Paras', 'Heads'), twox64Concat(u32le(paraId))));
}

/** The relay side a para server needs (a SubstrateTestServer started without `parachain`). */
export interface RelayHandle {
  setParaHead(paraId: number, header: Uint8Array): void;
  paraHead(paraId: number, at?: number): Uint8Array | null;
  finalized(): number;
  onFinalized(listener: (n: number) => void): () => void;
}

/** HeadData's header bytes in a relay block, or null. */
export function paraHeadIn(b: Block, paraId: number): Uint8Array | null {
  const v = b.state.get(parasHeadsKey(paraId));
  if (!v) return null;
  // the Compact length prefix (1, 2 or 4 bytes: a header is far below 2^30 bytes)
  const mode = v[0]! & 3;
  if (mode === 3) throw new Error('HeadData longer than 2^30 bytes');
  return v.subarray(mode === 0 ? 1 : mode === 1 ? 2 : 4);
}

/**
 * Makes `para` a parachain of `relay`: its genesis and every block it imports
 * are pushed to the relay (effective in the relay's next block), and whenever
 * the relay finalizes a block, the para finalizes the block that relay block
 * holds. Returns the detach function.
 */
export function attachParachain(para: Chain, relay: RelayHandle, paraId: number): () => void {
  relay.setParaHead(paraId, para.genesis.header);
  const listener = { imported: (b: Block) => relay.setParaHead(paraId, b.header), finalized: () => undefined, tx: () => undefined };
  para.listeners.add(listener);
  const follow = (n: number) => {
    const head = relay.paraHead(paraId, n);
    if (!head) return;
    const b = para.block(u8aToHex(blake2AsU8a(head, 256)));
    if (b) para.finalizeTo(b.number);
  };
  const off = relay.onFinalized(follow);
  follow(relay.finalized());
  return () => {
    para.listeners.delete(listener);
    off();
  };
}

/**
 * The forgeParaHead fault: the relay's state with every asked-for
 * Paras::Heads value replaced by the head of a para block that was never
 * produced (number + 1 on top of the real head, made-up roots). Its trie root
 * is not the block's state root, so the proof cannot verify.
 */
export function forgedParaHeadsTrie(chain: Chain, b: Block, keys: string[]): StateTrie | null {
  const hit = keys.filter((k) => k.startsWith(PARAS_HEADS_PREFIX) && b.state.has(k));
  if (hit.length === 0) return null;
  const state = new Map(b.state);
  for (const k of hit) {
    const real = blake2AsU8a(state.get(k)!, 256);
    const fake = u8aConcat(real, compactToU8a(1_000_000), blake2AsU8a(u8aConcat(real, Uint8Array.of(1)), 256), new Uint8Array(32), compactToU8a(0));
    state.set(k, u8aConcat(compactToU8a(fake.length), fake));
  }
  return buildTrie(state, chain.layout);
}
