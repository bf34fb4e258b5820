import { getAddress, type JsonRpcProvider } from 'ethers';
import { hexToU8a } from '@polkadot/util';
import { WebSocket } from 'ws';
import { startAnvil, type AnvilProcess } from '../../../src/governance/anvil.ts';
import { makeProvider } from '../../../src/evm/provider.ts';
import { startSubstrateTestServer, type SubstrateTestServer } from '../substrate/index.ts';
import { ACCOUNT_STORAGES_PREFIX, COMMITMENTS_SLOT, LANE_NONCE_SLOT, MESSAGE_SENT_TOPIC, accountStoragesKey, solidityMappingSlot } from './storage.ts';

/**
 * A Frontier (pallet-evm + pallet-ethereum) chain stand-in: anvil executes the
 * EVM and serves the eth JSON-RPC; a Substrate test server makes block n when
 * anvil's block n appears (1:1, as pallet-ethereum does), finalizes it with
 * GRANDPA and holds `EVM::AccountStorages(address, slot)` for the slots of the
 * mirrored contracts that each block wrote. See README.md in this folder.
 */
export interface FrontierTestServerOptions {
  /** the EVM chain id */
  chainId: number;
  /** seeds the GRANDPA authorities (and so the Substrate genesis); default 'frontier-<chainId>' */
  seed?: string;
  /** GRANDPA authorities; default 3 */
  authorities?: number;
  /** Substrate blocks between head and finalized head; default 0 (anvil mines on demand, so a lag would hold the last block back) */
  finalityLag?: number;
  /** how often anvil's head is polled; default 50 ms */
  pollMs?: number;
}

export interface FrontierTestServer {
  /** anvil's eth JSON-RPC */
  ethUrl: string;
  /** the Substrate node's WebSocket JSON-RPC */
  substrateUrl: string;
  chainId: number;
  anvil: AnvilProcess;
  substrate: SubstrateTestServer;
  /** eth block 0's hash (what an EVM registration's genesisHash names) */
  ethGenesisHash: string;
  /** mirror this contract's commitment and lane-nonce slots into EVM::AccountStorages from its next MessageSent on */
  mirror(address: string): void;
  faults: {
    /** read proofs of mirrored AccountStorages keys come from a forged state: absent commitments present, present ones altered */
    forgeStorage: boolean;
  };
  /** resolves once the Substrate chain has made (and mirrored) anvil's block n (default: anvil's current head) */
  synced(n?: number): Promise<void>;
  /** `state_getStorage(key)` at Substrate block n, read from the node over its RPC (null: absent) */
  substrateStorage(key: string, n: number): Promise<string | null>;
  /** a GRANDPA anchor at the Substrate finalized head: {height, hash, setId, authorities} */
  anchor(): { height: number; hash: `0x${string}`; setId: bigint; authorities: { key: `0x${string}`; weight: bigint }[] };
  close(): Promise<void>;
}

export async function startFrontierTestServer(o: FrontierTestServerOptions): Promise<FrontierTestServer> {
  const anvil = await startAnvil({ chainId: o.chainId });
  let substrate: SubstrateTestServer;
  let eth: JsonRpcProvider;
  try {
    substrate = await startSubstrateTestServer({ blockTimeMs: 0, finalityLag: o.finalityLag ?? 0, authorities: o.authorities ?? 3, seed: o.seed ?? `frontier-${o.chainId}`, chainName: `Qiao Frontier Test ${o.chainId}` });
    eth = makeProvider(anvil.url, BigInt(o.chainId), { pollingMs: 100 });
  } catch (e) {
    await anvil.stop();
    throw e;
  }
  const genesis = await eth.getBlock(0);
  const mirrored = new Set<string>();
  const faults = { forgeStorage: false };

  substrate.overrideReadProofs((state, keys) => {
    if (!faults.forgeStorage) return null;
    const hit = keys.filter((k) => k.startsWith(ACCOUNT_STORAGES_PREFIX));
    if (hit.length === 0) return null;
    const forged = new Map(state);
    for (const k of hit) {
      const real = state.get(k);
      // Never written: claim it was (block 1); written: a different value. Either way not the block's state root.
      const v = real ? Uint8Array.from(real) : new Uint8Array(32);
      v[31] = real ? v[31]! ^ 0xff : 1;
      forged.set(k, v);
    }
    return forged;
  });

  /** Makes Substrate block n from anvil block n: the AccountStorages slots its MessageSent logs wrote, then the block. */
  async function makeBlock(n: number): Promise<void> {
    if (mirrored.size > 0) {
      const logs = await eth.getLogs({ address: [...mirrored], topics: [MESSAGE_SENT_TOPIC], fromBlock: n, toBlock: n });
      for (const log of logs) {
        for (const slot of [solidityMappingSlot(log.topics[1]!, COMMITMENTS_SLOT), solidityMappingSlot(log.topics[2]!, LANE_NONCE_SLOT)]) {
          const value = await eth.getStorage(log.address, slot, n);
          substrate.setNextStorage(accountStoragesKey(log.address, slot), hexToU8a(value));
        }
      }
    }
    await substrate.produceBlock();
  }

  let closed = false;
  let failure: unknown = null;
  const waiters = new Set<() => void>();
  // One loop, one block at a time: Substrate block n always follows anvil block n, never overtakes it.
  const loop = (async () => {
    while (!closed) {
      try {
        const head = await eth.getBlockNumber();
        while (!closed && substrate.head() < head) await makeBlock(substrate.head() + 1);
        for (const w of waiters) w();
      } catch (e) {
        if (!closed) failure = e;
      }
      await new Promise((r) => setTimeout(r, o.pollMs ?? 50));
    }
  })();

  return {
    ethUrl: anvil.url,
    substrateUrl: substrate.url,
    chainId: o.chainId,
    anvil,
    substrate,
    ethGenesisHash: genesis!.hash!,
    mirror: (address) => void mirrored.add(getAddress(address)),
    faults,
    async synced(n) {
      const target = n ?? (await eth.getBlockNumber());
      while (substrate.head() < target) {
        if (failure) throw failure;
        await new Promise<void>((resolve) => {
          const w = () => {
            waiters.delete(w);
            resolve();
          };
          waiters.add(w);
        });
      }
    },
    async substrateStorage(key, n) {
      const ws = new WebSocket(substrate.url);
      try {
        await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
        const reply = new Promise<{ result?: string | null; error?: unknown }>((resolve) => ws.once('message', (d) => resolve(JSON.parse(String(d)) as { result?: string | null })));
        ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'state_getStorage', params: [key, substrate.blockHash(n)] }));
        const r = await reply;
        if (r.error) throw new Error(`state_getStorage: ${JSON.stringify(r.error)}`);
        return r.result ?? null;
      } finally {
        ws.close();
      }
    },
    anchor() {
      const set = substrate.authoritySet();
      const height = substrate.finalized();
      return { height, hash: substrate.blockHash(height)!, setId: set.setId, authorities: set.authorities.map((a) => ({ key: a.publicKey, weight: a.weight })) };
    },
    async close() {
      closed = true;
      await loop;
      eth.destroy();
      await substrate.close();
      await anvil.stop();
    },
  };
}
