import { sha256 } from '@noble/hashes/sha2.js';
import type { Logger } from 'pino';
import { z } from 'zod';
import { withContractFaults, type ContractFaults } from './contract/faults.ts';
import { bech32Address, isAddress } from './node/address.ts';
import { Chain, type Block } from './node/chain.ts';
import { makeBlockId, signCommit, type Header } from './node/consensus.ts';
import { validatorJson } from './node/json.ts';
import type { Coin, Module } from './node/module.ts';
import { toTime } from './node/proto.ts';
import { RpcServer } from './node/rpc.ts';

/**
 * A CometBFT v0.38 node + Cosmos SDK app stand-in for tests: real RPC JSON, header hashing, ed25519
 * commits, IAVL/ICS-23 proofs, SIGN_MODE_DIRECT txs. See README.md in this folder.
 */
export interface CometTestServerOptions {
  /** default 'qiaotest-1' */
  chainId?: string;
  /** default 4 */
  validators?: number;
  /** default 200; 0 = manual (produceBlock()) */
  blockTimeMs?: number;
  /** genesis balances (bech32 'cosmos' addresses) */
  accounts?: { address: string; coins: Coin[] }[];
  /** default: createIbcModules() from ./ibc (the ibc core + Qiao contract model) */
  modules?: Module[];
  /** default 'v8' */
  ibcVersion?: 'v8' | 'v9';
  /** seeds the validator keys; default 'qiao' */
  seed?: string;
  /** 0 = any free port */
  port?: number;
  /** default: the model contract's fixed address (32 bytes, as a wasm contract's) */
  contractAddress?: string;
  /** default: the model receiver's fixed address (20 bytes) */
  receiverAddress?: string;
  /** receives end-block hook failures; default silent */
  logger?: Logger;
  /** how long broadcast_tx_commit waits for inclusion; default 10 s as CometBFT */
  broadcastCommitTimeoutMs?: number;
}

export type Hex = `0x${string}`;

/** A served header that differs from the chain's: re-signed by the validators (a conflicting header) or not. */
export interface HeaderForgery {
  appHash?: Uint8Array;
  time?: Date;
  dataHash?: Uint8Array;
  /** true (default): validators sign the forged header (valid commit, misbehaviour); false: commit of the real one */
  resign?: boolean;
}

/** Fault controls of one RPC endpoint. */
export interface CometEndpointFaults {
  /** serve commit `height` with signature `which` (default 0) or all of them flipped */
  corruptCommitSignature(height: number, which?: number | 'all'): void;
  /** serve the precommits of these validators (indexes in the set) as absent at `height` */
  withholdCommitSignatures(height: number, validatorIndexes: number[]): void;
  /** serve a different header (and its block id / commit) at `height` from this endpoint */
  forgeHeader(height: number, forgery: HeaderForgery): void;
  /** serve the truth again */
  clearFaults(): void;
}

export interface CometEndpoint extends CometEndpointFaults {
  url: string;
  wsUrl: string;
  close(): Promise<void>;
}

export interface CometTestServer extends CometEndpointFaults {
  url: string;
  wsUrl: string;
  chainId: string;
  contractAddress: string;
  receiverAddress: string;
  stop(): Promise<void>;
  height(): number;
  /** 0x header hash of block 1 (the registration's genesisHash) */
  genesisBlockHash(): Hex;
  blockHash(height: number): Hex | null;
  /** app hash in header `height` (= multistore root after height-1) */
  appHash(height: number): Hex | null;
  /** the /validators result's "validators" array at `height` (default latest), as served */
  validatorsJson(height?: number): unknown[];
  /** make one block now (works while paused) and return its height */
  produceBlock(): Promise<number>;
  pause(): void;
  resume(): void;
  /** another RPC endpoint on the same chain with its own faults (e.g. a lying witness) */
  addEndpoint(): Promise<CometEndpoint>;
  /** the model itself, for assertions */
  chain: Chain;
  /** switches of the built-in Qiao contract (default modules only), e.g. `faults.refuseRecv = true` */
  faults: ContractFaults;
}

const hex = (b: Uint8Array): Hex => `0x${Buffer.from(b).toString('hex')}`;

export const DEFAULT_CONTRACT_ADDRESS = bech32Address(sha256(new TextEncoder().encode('qiao/contract')));
export const DEFAULT_RECEIVER_ADDRESS = bech32Address(sha256(new TextEncoder().encode('qiao/receiver')).slice(0, 20));

function faultControls(rpc: RpcServer, chain: Chain): CometEndpointFaults {
  const block = (height: number): Block => {
    const b = chain.block(BigInt(height));
    if (!b) throw new RangeError(`no block at height ${height}`);
    return b;
  };
  return {
    // Applied when a commit is served, so a height not produced yet can be set up ahead of the block.
    corruptCommitSignature(height, which = 0) {
      rpc.faults.corruptSignatures.set(BigInt(height), which);
    },
    withholdCommitSignatures(height, validatorIndexes) {
      rpc.faults.absentSignatures.set(BigInt(height), [...validatorIndexes]);
    },
    forgeHeader(height, f) {
      const b = block(height);
      const header: Header = {
        ...b.header,
        ...(f.appHash ? { appHash: f.appHash } : {}),
        ...(f.dataHash ? { dataHash: f.dataHash } : {}),
        ...(f.time ? { time: toTime(f.time) } : {}),
      };
      const blockId = makeBlockId(header, b.txs);
      const commit = f.resign === false ? b.commit : signCommit(chain.chainId, b.header.height, blockId, chain.validators, f.time ?? b.time);
      rpc.faults.forged.set(BigInt(height), { header, blockId, commit });
    },
    clearFaults() {
      rpc.faults.corruptSignatures.clear();
      rpc.faults.absentSignatures.clear();
      rpc.faults.forged.clear();
    },
  };
}

const coin = z.object({ denom: z.string().regex(/^[a-zA-Z][a-zA-Z0-9/:._-]{2,127}$/), amount: z.string().regex(/^\d+$/) });
const address = z.string().refine((a) => isAddress(a), 'not a cosmos1 bech32 address');
const optionsSchema = z
  .object({
    chainId: z.string().regex(/^[a-zA-Z0-9_.-]{1,50}$/),
    validators: z.number().int().min(1).max(100),
    blockTimeMs: z.number().int().min(0),
    accounts: z.array(z.object({ address, coins: z.array(coin) })),
    ibcVersion: z.enum(['v8', 'v9']),
    port: z.number().int().min(0).max(65535),
    contractAddress: address,
    receiverAddress: address,
  })
  .partial()
  .passthrough();

export async function startCometTestServer(options: CometTestServerOptions = {}): Promise<CometTestServer> {
  optionsSchema.parse(options);
  const opts = options;
  const {
    chainId = 'qiaotest-1',
    validators = 4,
    blockTimeMs = 200,
    accounts = [],
    ibcVersion = 'v8',
    seed = 'qiao',
    port = 0,
    contractAddress = DEFAULT_CONTRACT_ADDRESS,
    receiverAddress = DEFAULT_RECEIVER_ADDRESS,
    broadcastCommitTimeoutMs,
    logger,
  } = opts;
  // late-bound: the ibc module asks for this chain's own consensus states (v8 ConnOpenAck)
  const ref: { chain?: Chain } = {};
  const faults: ContractFaults = { refuseRecv: false };
  const modules =
    opts.modules ??
    withContractFaults(
      (await import('./ibc/index.ts')).createIbcModules({
        ibcVersion,
        chainId,
        contractAddress,
        receiverAddress,
        selfConsensusState: (h) => {
          const b = ref.chain?.block(h);
          return b ? { timestamp: toTime(b.time), appHash: b.header.appHash, nextValidatorsHash: b.header.nextValidatorsHash } : undefined;
        },
      }),
      contractAddress,
      faults,
    );
  const chain = new Chain({
    chainId,
    seed,
    validators,
    accounts,
    modules,
    onHookError: (err) => logger?.warn({ err }, 'end-block hook failed; its writes were dropped'),
  });
  ref.chain = chain;
  chain.produceBlock();
  const rpc = new RpcServer(chain, { broadcastCommitTimeoutMs });
  const { url, wsUrl } = await rpc.listen(port);
  const extra: RpcServer[] = [];

  let paused = blockTimeMs <= 0;
  const timer = blockTimeMs > 0 ? setInterval(() => !paused && chain.produceBlock(), blockTimeMs) : undefined;

  return {
    url,
    wsUrl,
    chainId,
    contractAddress,
    receiverAddress,
    chain,
    faults,
    ...faultControls(rpc, chain),
    async stop() {
      if (timer) clearInterval(timer);
      await Promise.all([rpc.close(), ...extra.map((r) => r.close())]);
    },
    height: () => Number(chain.height()),
    genesisBlockHash: () => hex(chain.block(1n)!.blockId.hash),
    blockHash: (h) => {
      const b = chain.block(BigInt(h));
      return b ? hex(b.blockId.hash) : null;
    },
    appHash: (h) => {
      const b = chain.block(BigInt(h));
      return b ? hex(b.header.appHash) : null;
    },
    validatorsJson: () => chain.validators.map(validatorJson),
    async produceBlock() {
      return Number(chain.produceBlock().header.height);
    },
    pause() {
      paused = true;
    },
    resume() {
      if (blockTimeMs > 0) paused = false;
    },
    async addEndpoint() {
      const r = new RpcServer(chain, { broadcastCommitTimeoutMs });
      extra.push(r);
      const ep = await r.listen(0);
      return { ...ep, ...faultControls(r, chain), close: () => r.close() };
    },
  };
}

export type { Coin, Module } from './node/module.ts';
export type { ContractFaults } from './contract/faults.ts';
export { ModuleError } from './node/module.ts';
export { moduleAddress, secp256k1Address, addressBytes, bech32Address } from './node/address.ts';
