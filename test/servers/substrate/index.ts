import { hexToU8a, u8aToHex } from '@polkadot/util';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { Chain } from './chain.ts';
import { keyHex } from './grandpa.ts';
import { RpcServer } from './rpc.ts';
import { loadRuntime } from './runtime.ts';
import { attachParachain, paraHeadIn, parasHeadsKey } from './parachain.ts';
import type { ReceiverRecord } from './receiver.ts';
import type { TrieLayout } from './trie.ts';

/**
 * A Substrate node stand-in for tests: real JSON-RPC, SCALE, headers, state
 * trie, read proofs and GRANDPA justifications, with a kitchensink runtime
 * (static metadata) that executes system.remark/remarkWithEvent,
 * utility.batch/batchAll and multisig calls. See README.md in this folder.
 */
export interface SubstrateTestServerOptions {
  /** default 500; 0 = manual (produceBlock()) */
  blockTimeMs?: number;
  /** blocks between head and finalized head; default 1 */
  finalityLag?: number;
  /** number of GRANDPA authorities; default 3 */
  authorities?: number;
  /** seeds the authority keys (and so the genesis); default 'qiao' */
  seed?: string;
  /** state trie layout served; default 'v0' (runtime stateVersion 0) */
  trieLayout?: TrieLayout;
  /** system_chain; default 'Qiao Substrate Test' */
  chainName?: string;
  /** 0 = any free port */
  port?: number;
  /** 32-byte addresses of modelled receiver contracts (contracts.call; see receiver.ts) */
  receivers?: `0x${string}`[];
  /** a parachain of `relay` (see parachain.ts): no GRANDPA of its own, final when a finalized relay block holds its head; default seed `para-<paraId>` */
  parachain?: { relay: SubstrateTestServer; paraId: number };
}

export interface SubstrateTestServer {
  url: string;
  genesisHash: `0x${string}`;
  chainName: string;
  specVersion(): number;
  metadataHex(): `0x${string}`;
  /** the set that signs the next block to be finalized (what a light client anchored at finalized() trusts) */
  authoritySet(): { setId: bigint; authorities: { publicKey: `0x${string}`; weight: bigint }[] };
  head(): number;
  finalized(): number;
  /** hash of block n on the (single) chain, null beyond the head */
  blockHash(n: number): `0x${string}` | null;
  produceBlock(): Promise<void>;
  scheduleAuthorityChange(next: { publicKey: `0x${string}`; weight: bigint }[] | 'rotate', delay: number): void;
  forceAuthorityChange(next: 'rotate', delay: number): void;
  upgradeRuntime(specVersion: number): void;
  /** Moves the chain's clock (Timestamp::Now of blocks produced from now on) forward by `ms`. */
  advanceTime(ms: number): void;
  /** Timestamp::Now (ms) of block n (default: the head). */
  timestamp(n?: number): bigint;
  faults: { forgeJustification: boolean; forgeReadProof: boolean; relabelRemarked: boolean; forgeParaHead: boolean };
  /** (relay) Paras::Heads(paraId) = this header from the next block on */
  setParaHead(paraId: number, header: Uint8Array): void;
  /** (relay) the para header bytes Paras::Heads(paraId) holds at block `at` (default: the head), or null */
  paraHead(paraId: number, at?: number): Uint8Array | null;
  /** raw storage `key` = `value` (e.g. the Frontier model's EVM::AccountStorages) from the next block on */
  setNextStorage(key: `0x${string}`, value: Uint8Array): void;
  /** serve read proofs from the trie of the state `forge` returns (null: the real state); a mirroring server's faults */
  overrideReadProofs(forge: ((state: ReadonlyMap<string, Uint8Array>, keys: string[]) => Map<string, Uint8Array> | null) | null): void;
  /** calls `listener(n)` for every block n finalized from now on; returns the unsubscribe */
  onFinalized(listener: (n: number) => void): () => void;
  /** what a modelled receiver contract recorded (null: no receiver at that address) */
  receiver(address: `0x${string}`): ReceiverRecord | null;
  close(): Promise<void>;
}

/**
 * sr25519 public keys of the dev accounts (Keyring URIs //Alice ... //Ferdie),
 * endowed at genesis. Written out because deriving them costs ~250 ms of
 * server start; the test signs with the keyring, so a wrong key would show.
 */
export const DEV_ACCOUNTS: Record<string, `0x${string}`> = {
  '//Alice': '0xd43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d',
  '//Bob': '0x8eaf04151687736326c9fea17e25fc5287613693c912909cb226aa4794f26a48',
  '//Charlie': '0x90b5ab205c6974c9ea841be688864633dc9ca8a357843eeacf2314649965fe22',
  '//Dave': '0x306721211d5404bd9da88e0204360a1a9ab8b87c66c1bc2fcdd37f3c2222cc20',
  '//Eve': '0xe659a7a1628cdd93febc04a4e0646ea20e9f5f0ce097d9a05290d4a9e054df4e',
  '//Ferdie': '0x1cbd2d43530a44705ad088af313e18f80b53ef16b36177cd4b77b846f2a5f07c',
};

export async function startSubstrateTestServer(o: SubstrateTestServerOptions = {}): Promise<SubstrateTestServer> {
  await cryptoWaitReady();
  const runtime = loadRuntime();
  const chain = new Chain(runtime, {
    seed: o.seed ?? (o.parachain ? `para-${o.parachain.paraId}` : 'qiao'),
    authorities: o.authorities ?? 3,
    finalityLag: o.finalityLag ?? 1,
    layout: o.trieLayout ?? 'v0',
    endowed: Object.values(DEV_ACCOUNTS).map((k) => hexToU8a(k)),
    receivers: o.receivers ?? [],
    externalFinality: o.parachain !== undefined,
  });
  const chainName = o.chainName ?? 'Qiao Substrate Test';
  const rpc = new RpcServer({ chain, chainName, parachain: o.parachain !== undefined }, o.port ?? 0);
  const port = await rpc.listening();

  const detach = o.parachain ? attachParachain(chain, o.parachain.relay, o.parachain.paraId) : null;

  const blockTime = o.blockTimeMs ?? 500;
  let timer: NodeJS.Timeout | null = null;
  if (blockTime > 0) {
    timer = setInterval(() => {
      try {
        chain.produceBlock();
      } catch (e) {
        // a failed block must not kill the test process; it is reported and the next tick retries
        console.error('substrate test server: block production failed', e);
      }
    }, blockTime);
  }

  return {
    url: `ws://127.0.0.1:${port}`,
    genesisHash: chain.genesis.hashHex,
    chainName,
    specVersion: () => chain.head.specVersion,
    metadataHex: () => runtime.metadataHex,
    authoritySet: () => {
      const s = chain.currentSet();
      return { setId: s.setId, authorities: s.keys.map((k) => ({ publicKey: keyHex(k), weight: k.weight })) };
    },
    head: () => chain.head.number,
    finalized: () => chain.finalizedNumber,
    blockHash: (n) => (chain.block(n) ? u8aToHex(chain.block(n)!.hash) : null),
    produceBlock: async () => {
      chain.produceBlock();
      await Promise.resolve();
    },
    scheduleAuthorityChange: (next, delay) =>
      chain.scheduleChange(next === 'rotate' ? 'rotate' : next.map((k) => ({ publicKey: Buffer.from(k.publicKey.slice(2), 'hex'), weight: k.weight, secret: null })), delay, false),
    forceAuthorityChange: (next, delay) => chain.scheduleChange(next, delay, true),
    upgradeRuntime: (v) => chain.upgradeRuntime(v),
    advanceTime: (ms) => chain.advanceTime(ms),
    timestamp: (n) => {
      const b = n === undefined ? chain.head : chain.block(n);
      if (!b) throw new Error(`no block ${n}`);
      return chain.timestampOf(b);
    },
    faults: chain.faults,
    receiver: (a) => chain.receivers.record(a),
    setParaHead: (paraId, header) => chain.setParaHead(parasHeadsKey(paraId), header),
    paraHead: (paraId, at) => {
      const b = at === undefined ? chain.head : chain.block(at);
      return b ? paraHeadIn(b, paraId) : null;
    },
    setNextStorage: (key, value) => chain.setNextStorage(key, value),
    overrideReadProofs: (forge) => {
      chain.readProofState = forge ? (b, keys) => forge(b.state, keys) : null;
    },
    onFinalized: (listener) => {
      const l = { imported: () => undefined, finalized: (b: { number: number }) => listener(b.number), tx: () => undefined };
      chain.listeners.add(l);
      return () => void chain.listeners.delete(l);
    },
    close: async () => {
      detach?.();
      if (timer) clearInterval(timer);
      await rpc.close();
    },
  };
}
export type { ReceiverRecord } from './receiver.ts';
