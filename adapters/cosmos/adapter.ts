import { z } from 'zod';
import type { AdapterContext, ChainAdapter, ChainHeads, CommitmentProver, MessageWatcher, ObservedMessage, SourceProof } from '../../src/domain/adapter.ts';
import type { ChainId } from '../../src/domain/caip.ts';
import type { ChainRegistration } from '../../src/domain/chain.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { ConfigError, ValidationError } from '../../src/errors.ts';
import { cometChainIdOf, cosmosPortBytes, parseCosmosPort } from './chain-id.ts';
import { contractOfPort, queryLaneNonce } from './contract.ts';
import { createCosmosDeliverer, type CosmosLink } from './deliver.ts';
import { proveAt } from './prove.ts';
import { connectComet, disconnectComet, rawSignedHeader, rawValidators, rpc, type CometEndpoint } from './rpc.ts';
import { blockHashOf, itemsIn, latestHeightOf, type ChannelScope } from './watch.ts';

/** What the relayer's CometBFT light client reads through the adapter (nothing it returns is trusted). */
export interface CometBlocks {
  latestHeight(endpoint?: number): Promise<bigint>;
  /** /commit + /validators at height (all pages), as the RPC serves them (raw JSON: not trusted). */
  lightBlock(height: bigint, endpoint?: number): Promise<{ signedHeader: unknown; validators: unknown }>;
  endpointCount(): number;
}

export interface CosmosAdapter extends ChainAdapter {
  readonly family: 'cosmos';
  readonly comet: CometBlocks;
  /** The Qiao contract (bech32) and its channel, for tools and tests that send through it. */
  readonly contract: string;
  readonly scope: ChannelScope;
}

/** The adapter's context; `attestation` lets the deliverer check a batch's signatures before the solo machine signs. */
export type CosmosAdapterContext = AdapterContext;

const Ident = z.string().regex(/^[a-zA-Z0-9._+\-#[\]<>]{2,128}$/);
/** Only the parts of the trust root the adapter needs; the light client (relayer) decodes and checks the rest. */
const TrustRootLink = z.object({
  chainId: z.string().optional(),
  ibcVersion: z.enum(['v8', 'v9']).optional(),
  link: z.object({
    soloClientId: Ident,
    connectionId: Ident,
    counterpartyConnectionId: Ident,
    hubPort: Ident,
    hubChannel: Ident,
    ibcVersion: z.enum(['v8', 'v9']).optional(),
  }),
});

export function decodeTrustRootLink(trustRoot: Hex, field = 'trustRoot'): { link: CosmosLink; ibcVersion: 'v8' | 'v9'; chainId?: string } {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(trustRoot.replace(/^0x/, ''), 'hex').toString('utf8'));
  } catch (cause) {
    throw new ValidationError(field, 'is not the UTF-8 JSON of a CometBFT trust root', { cause });
  }
  const r = TrustRootLink.safeParse(json);
  if (!r.success) throw new ValidationError(field, `has no valid link: ${r.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`);
  const { soloClientId, connectionId, counterpartyConnectionId, hubPort, hubChannel } = r.data.link;
  return {
    link: { soloClientId, connectionId, counterpartyConnectionId, hubPort, hubChannel },
    ibcVersion: r.data.link.ibcVersion ?? r.data.ibcVersion ?? 'v8',
    ...(r.data.chainId !== undefined ? { chainId: r.data.chainId } : {}),
  };
}

/**
 * The Cosmos adapter. Source side: a Qiao message is the data of an IBC packet
 * the Qiao contract sends on its channel (`send_packet`), or the ack bytes it
 * writes answering a hub message (`write_acknowledgement`); the prover serves
 * the packet and the `ibc` store proof of its ICS-24 commitment at H, which
 * the relayer checks against the app hash of header H+1 that its light client
 * verified (through `comet`). Destination side: deliver.ts, as the hub's solo
 * machine client.
 */
export async function createCosmosAdapter(reg: ChainRegistration, ctx: CosmosAdapterContext): Promise<CosmosAdapter> {
  const chainId = reg.chainId as ChainId;
  const f = (k: string) => `chains.${chainId}.${k}`;
  if (reg.family !== 'cosmos') throw new ConfigError(f('family'), `the Cosmos adapter cannot serve a ${reg.family} chain`);
  if (reg.lightClient !== 'tendermint') throw new ConfigError(f('lightClient'), `Cosmos chains are verified by the tendermint light client, not "${reg.lightClient}"`);
  if (reg.finality.kind !== 'instant') throw new ConfigError(f('finality'), `CometBFT finality is instant ({kind:"instant"}), not "${reg.finality.kind}"`);
  if (reg.endpoints.length === 0) throw new ConfigError(f('endpoints'), 'needs at least one CometBFT RPC endpoint');
  if (!/^0x[0-9a-fA-F]{64}$/.test(reg.genesisHash)) throw new ConfigError(f('genesisHash'), 'must be the 32-byte header hash of block 1');
  let cometChainId: string;
  let channel;
  let contract: string;
  let trust;
  try {
    cometChainId = cometChainIdOf(chainId);
    channel = parseCosmosPort(reg.port, f('port'));
    contract = contractOfPort(channel.portId);
    trust = decodeTrustRootLink(reg.trustRoot, f('trustRoot'));
  } catch (cause) {
    if (cause instanceof ValidationError) throw new ConfigError(cause.field, cause.message, { cause });
    throw cause;
  }
  if (trust.chainId !== undefined && trust.chainId !== cometChainId) throw new ConfigError(f('trustRoot'), `trust root is for chain "${trust.chainId}", not ${cometChainId}`);
  const scope: ChannelScope = { chainId, channel, portBytes: cosmosPortBytes(channel).toLowerCase() as Hex };
  const genesisHash = reg.genesisHash.toLowerCase();
  const logger = ctx.logger.child({ chain: chainId });

  const endpoints: CometEndpoint[] = [];
  try {
    for (const url of reg.endpoints) endpoints.push(await connectComet(url));
    // The registry binds the chain id to its genesis: a wrong endpoint is refused at connect.
    for (const e of endpoints) {
      const status = await rpc(e.url, 'status', () => e.client.status());
      if (status.nodeInfo.network !== cometChainId) throw new ConfigError(f('endpoints'), `${e.url} serves chain "${status.nodeInfo.network}", not ${cometChainId}`);
      const first = await blockHashOf(e, 1n);
      if (first !== genesisHash) throw new ConfigError(f('genesisHash'), `endpoint serves block 1 ${first ?? 'none'}, registry says ${reg.genesisHash}`);
    }
  } catch (err) {
    endpoints.forEach(disconnectComet);
    throw err;
  }
  const primary = endpoints[0]!;
  const endpointAt = (i = 0): CometEndpoint => {
    const e = endpoints[i];
    if (!e) throw new ValidationError('endpoint', `chain ${chainId} has no endpoint #${i}`);
    return e;
  };

  const watcher: MessageWatcher = {
    async heads(): Promise<ChainHeads> {
      const head = await latestHeightOf(primary);
      // Instant finality, but the state of H is committed in header H+1: H is usable once H+1 exists.
      return { head, finalized: head > 0n ? head - 1n : 0n };
    },
    blockHashAt: (height: bigint) => blockHashOf(primary, height),
    async messagesIn(from: bigint, to: bigint): Promise<ObservedMessage[]> {
      return (await itemsIn(primary, from, to, scope)).map(({ id, encoded, message, height, blockHash, txHash, logIndex }) => ({ id, encoded, message, height, blockHash, txHash, logIndex }));
    },
    laneNonceAt: (dstChain: ChainId, height: bigint) => queryLaneNonce(primary, contract, dstChain, height),
  };

  const prover: CommitmentProver = {
    endpointCount: () => endpoints.length,
    async proveCommitments(height: bigint, ids: readonly Hex[], endpoint = 0): Promise<SourceProof> {
      return proveAt(endpointAt(endpoint), height, ids, scope);
    },
  };

  const comet: CometBlocks = {
    endpointCount: () => endpoints.length,
    latestHeight: (endpoint = 0) => latestHeightOf(endpointAt(endpoint)),
    async lightBlock(height: bigint, endpoint = 0) {
      const e = endpointAt(endpoint);
      if (height < 1n) throw new ValidationError('height', `${height} is not a block height`);
      const [signedHeader, validators] = await Promise.all([rawSignedHeader(e.url, height), rawValidators(e.url, height)]);
      return { signedHeader, validators };
    },
  };

  const deliverer = createCosmosDeliverer({
    chainId,
    cometChainId,
    scope,
    contract,
    endpoint: primary,
    link: trust.link,
    ibcVersion: trust.ibcVersion,
    attestorKeys: ctx.attestorKeys,
    relayerKey: ctx.relayerKey,
    attestation: ctx.attestation,
    dataDir: ctx.dataDir,
    logger,
  });

  logger.debug({ contract, channel: channel.channelId, endpoints: endpoints.length }, 'cosmos adapter connected');
  return {
    chainId,
    family: 'cosmos',
    watcher,
    prover,
    deliverer,
    comet,
    contract,
    scope,
    async close() {
      await deliverer.close();
      endpoints.forEach(disconnectComet);
    },
  };
}
