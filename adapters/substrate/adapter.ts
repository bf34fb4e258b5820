import type { Call } from '@polkadot/types/interfaces';
import type { Codec } from '@polkadot/types/types';
import { hexToU8a, u8aToHex } from '@polkadot/util';
import { blake2AsHex, decodeAddress } from '@polkadot/util-crypto';
import type {
  AdapterContext,
  ChainAdapter,
  ChainHeads,
  CommitmentProver,
  MessageWatcher,
  ObservedMessage,
  SourceProof,
} from '../../src/domain/adapter.ts';
import type { ChainId } from '../../src/domain/caip.ts';
import type { ChainRegistration } from '../../src/domain/chain.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { decodeMessage, messageId } from '../../src/domain/message.ts';
import { ConfigError, QiaoError, RpcError, ValidationError } from '../../src/errors.ts';
import { LAST_RUNTIME_UPGRADE_KEY, SYSTEM_EVENTS_KEY } from '../../src/domain/substrate-storage.ts';
import { nestedRemarks } from './calls.ts';
import { substrateChainId } from './chain-id.ts';
import { createSubstrateDeliverer, type SubstrateDeliverer } from './deliver.ts';
import { blockBytes, connectEndpoint, disconnectEndpoint, hashAt, rpc, type SubstrateEndpoint } from './rpc.ts';
import type { SubstrateRemarksProof } from './proof.ts';

/** What the GRANDPA light client reads through the adapter (the primary endpoint; nothing it returns is trusted). */
export interface GrandpaBlocks {
  finalizedHeight(): Promise<number>;
  blockAt(height: number): Promise<{ header: Uint8Array; justification: Uint8Array | null }>;
  metadataAt(hash: Hex): Promise<Uint8Array>;
}

export interface SubstrateAdapter extends ChainAdapter {
  readonly family: 'substrate';
  /** For the relayer's GRANDPA light client. */
  readonly grandpa: GrandpaBlocks;
  /** The primary endpoint's api (tests and tools send remarks through it). */
  readonly endpoints: readonly SubstrateEndpoint[];
}

/**
 * The Substrate adapter, source side: a Qiao message is the remark of a
 * `system.remarkWithEvent` signed by the message's sender; the runtime emits
 * `System.Remarked { sender, hash: blake2_256(remark) }`. The watcher finds
 * such extrinsics in GRANDPA-finalized blocks (it is not trusted: the verify
 * stage checks the Remarked event against the light client's state root); the
 * prover serves the header, the block's justification and a read proof of
 * `System::Events` and `System::LastRuntimeUpgrade`. Delivery to Substrate:
 * the attestors' multisig account dispatches utility.batchAll (deliver.ts).
 */
export async function createSubstrateAdapter(reg: ChainRegistration, ctx: AdapterContext): Promise<SubstrateAdapter> {
  const chainId = reg.chainId as ChainId;
  if (reg.family !== 'substrate') throw new ConfigError(`chains.${chainId}.family`, `the Substrate adapter cannot serve a ${reg.family} chain`);
  if (reg.endpoints.length === 0) throw new ConfigError(`chains.${chainId}.endpoints`, 'needs at least one RPC endpoint');
  if (reg.finality.kind !== 'grandpa') throw new ConfigError(`chains.${chainId}.finality`, `Substrate chains are final by GRANDPA ({kind:"grandpa"}), not "${reg.finality.kind}"`);
  if (!/^0x[0-9a-f]{64}$/i.test(reg.port)) throw new ConfigError(`chains.${chainId}.port`, 'a Substrate port is a 32-byte account id');
  const expectedId = substrateChainId(reg.genesisHash);
  if (expectedId !== chainId) throw new ConfigError(`chains.${chainId}.chainId`, `a Substrate chain id is ${expectedId} for genesis ${reg.genesisHash}`);
  const port = reg.port.toLowerCase() as Hex;
  const logger = ctx.logger.child({ chain: chainId });

  const endpoints: SubstrateEndpoint[] = [];
  try {
    for (const url of reg.endpoints) endpoints.push(await connectEndpoint(url));
    // The registry binds the chain id to its genesis: a wrong endpoint is refused at connect.
    for (const e of endpoints) {
      const genesis = await hashAt(e, 0);
      if (genesis !== reg.genesisHash.toLowerCase()) throw new ConfigError(`chains.${chainId}.genesisHash`, `endpoint serves genesis ${genesis ?? 'none'}, registry says ${reg.genesisHash}`);
    }
  } catch (err) {
    await Promise.all(endpoints.map(disconnectEndpoint));
    throw err;
  }
  const primary = endpoints[0]!;

  async function finalizedHeight(e: SubstrateEndpoint): Promise<number> {
    const hash = await rpc(e.url, 'chain_getFinalizedHead', () => e.api.rpc.chain.getFinalizedHead());
    const header = await rpc(e.url, 'chain_getHeader', () => e.api.rpc.chain.getHeader(hash));
    return header.number.toNumber();
  }

  function asHeight(h: bigint): number {
    if (h < 0n || h > 0xffffffffn) throw new ValidationError('height', `${h} is not a u32 block number`);
    return Number(h);
  }

  /** The Qiao messages remarked in one block, from one endpoint. */
  async function remarksAt(e: SubstrateEndpoint, height: number): Promise<ObservedMessage[]> {
    const hash = await hashAt(e, height);
    if (!hash) throw new RpcError(e.url, `block ${height} not found`);
    const signed = await rpc(e.url, 'chain_getBlock', () => e.api.rpc.chain.getBlock(hash));
    const apiAt = await rpc(e.url, 'api.at', () => e.api.at(hash));
    const events = (await rpc(e.url, 'System::Events', () => apiAt.query.system!.events!())) as unknown as EventRecordLike[];
    const succeeded = new Set<number>();
    /** extrinsic index -> multisig accounts whose call ran Ok in it */
    const executed = new Map<number, Set<string>>();
    for (const r of events) {
      if (!r.phase.isApplyExtrinsic) continue;
      const i = r.phase.asApplyExtrinsic.toNumber();
      if (r.event.section === 'system' && r.event.method === 'ExtrinsicSuccess') succeeded.add(i);
      if (r.event.section === 'multisig' && r.event.method === 'MultisigExecuted' && (r.event.data[4] as unknown as { isOk: boolean }).isOk) {
        let set = executed.get(i);
        if (!set) executed.set(i, (set = new Set()));
        set.add(r.event.data[2]!.toHex());
      }
    }
    const out: ObservedMessage[] = [];
    for (const [i, ext] of signed.block.extrinsics.entries()) {
      if (!ext.isSigned || !succeeded.has(i)) continue;
      const signer = signerOf(ext.signer);
      if (!signer) continue;
      // Top-level remarks (senders) and remarks the attestors' account ran through pallet-multisig (acks).
      for (const r of nestedRemarks(hexToU8a(signer), ext.method as unknown as Call)) {
        if (r.via === 'asMulti' && !executed.get(i)?.has(r.origin)) continue;
        const encoded = u8aToHex(r.remark) as Hex;
        try {
          const message = decodeMessage(encoded, 'remark');
          // A remark naming another chain or port, or a sender other than its origin, is not a message of this port.
          if (message.srcChain !== chainId || message.srcPort.toLowerCase() !== port) continue;
          if (message.sender.toLowerCase() !== r.origin) continue;
          out.push({ id: messageId(encoded), encoded, message, height: BigInt(height), blockHash: hash, txHash: blake2AsHex(ext.toU8a()) as Hex, logIndex: i });
        } catch (cause) {
          if (!(cause instanceof QiaoError)) throw cause;
          logger.debug({ height, extrinsic: i }, 'ignoring a remark that is not a Qiao message');
        }
      }
    }
    return out;
  }

  const watcher: MessageWatcher = {
    async heads(): Promise<ChainHeads> {
      const head = await rpc(primary.url, 'chain_getHeader', () => primary.api.rpc.chain.getHeader());
      return { head: BigInt(head.number.toNumber()), finalized: BigInt(await finalizedHeight(primary)) };
    },
    async blockHashAt(height: bigint): Promise<Hex | null> {
      return hashAt(primary, asHeight(height));
    },
    async messagesIn(from: bigint, to: bigint): Promise<ObservedMessage[]> {
      const out: ObservedMessage[] = [];
      for (let h = asHeight(from); h <= asHeight(to); h++) out.push(...(await remarksAt(primary, h)));
      return out;
    },
  };

  const prover: CommitmentProver = {
    endpointCount: () => endpoints.length,
    async proveCommitments(height: bigint, ids: readonly Hex[], endpoint = 0): Promise<SourceProof> {
      const e = endpoints[endpoint];
      if (!e) throw new ValidationError('endpoint', `chain ${chainId} has no endpoint #${endpoint}`);
      const n = asHeight(height);
      const hash = await hashAt(e, n);
      if (!hash) throw new RpcError(e.url, `block ${n} not found`);
      const block = await blockBytes(e, hash);
      if (!block) throw new RpcError(e.url, `block ${hash} not found`);
      const read = await rpc(e.url, 'state_getReadProof', () => e.provider.send<{ at: string; proof: string[] }>('state_getReadProof', [[SYSTEM_EVENTS_KEY, LAST_RUNTIME_UPGRADE_KEY], hash], false));
      const wanted = new Set(ids.map((id) => id.toLowerCase()));
      const messages = (await remarksAt(e, n)).filter((m) => wanted.has(m.id)).map((m) => m.encoded);
      const proof: SubstrateRemarksProof = {
        kind: 'substrate-remarks',
        height: height.toString(),
        blockHash: hash,
        header: toHex(block.header),
        ...(block.justification ? { justification: toHex(block.justification) } : {}),
        readProof: read.proof.map((p) => p.toLowerCase() as Hex),
        messages,
      };
      return proof;
    },
  };

  // Inbound: the attestors' account dispatches each delivery (deliver.ts); it needs the attestor keys the hub holds.
  let deliverer: SubstrateDeliverer;
  try {
    deliverer = await createSubstrateDeliverer({ chainId, port, endpoint: primary, attestorKeys: ctx.attestorKeys, logger, dataDir: ctx.dataDir });
  } catch (err) {
    await Promise.all(endpoints.map(disconnectEndpoint));
    throw err;
  }

  return {
    chainId,
    family: 'substrate',
    watcher,
    prover,
    deliverer,
    endpoints,
    grandpa: {
      finalizedHeight: () => finalizedHeight(primary),
      async blockAt(height: number) {
        const hash = await hashAt(primary, height);
        if (!hash) throw new RpcError(primary.url, `block ${height} not found`);
        const b = await blockBytes(primary, hash);
        if (!b) throw new RpcError(primary.url, `block ${hash} not found`);
        return { header: b.header, justification: b.justification };
      },
      async metadataAt(hash: Hex) {
        // The raw bytes: the api's decoded Metadata could re-encode differently from what the pinned hash covers.
        const raw = await rpc(primary.url, 'state_getMetadata', () => primary.provider.send<string>('state_getMetadata', [hash], false));
        if (typeof raw !== 'string' || !/^0x([0-9a-fA-F]{2})*$/.test(raw)) throw new RpcError(primary.url, 'state_getMetadata returned no bytes');
        return Uint8Array.from(Buffer.from(raw.slice(2), 'hex'));
      },
    },
    async close() {
      deliverer.close();
      await Promise.all(endpoints.map(disconnectEndpoint));
    },
  };
}

interface EventRecordLike {
  phase: { isApplyExtrinsic: boolean; asApplyExtrinsic: { toNumber(): number } };
  event: { section: string; method: string; data: { toHex(): string }[] };
}

function toHex(b: Uint8Array): Hex {
  return `0x${Buffer.from(b).toString('hex')}` as Hex;
}

/** The 32-byte AccountId of an extrinsic's signer (MultiAddress::Id, shown as SS58), lower-case hex; '' for other address kinds. */
function signerOf(signer: Codec): string {
  try {
    const bytes = decodeAddress(signer.toString());
    return bytes.length === 32 ? toHex(bytes) : '';
  } catch {
    return '';
  }
}
