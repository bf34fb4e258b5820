import { routeFabricSdkLogs } from './sdk-logs.ts';
import { z } from 'zod';
import type { AdapterContext, ChainAdapter, ChainHeads, CommitmentProver, MessageWatcher, ObservedMessage, SourceProof } from '../../src/domain/adapter.ts';
import type { ChainId } from '../../src/domain/caip.ts';
import type { ChainRegistration } from '../../src/domain/chain.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { ConfigError, ValidationError } from '../../src/errors.ts';
import { fabricPortBytes, parseFabricChainId, parseFabricPort } from './chain-id.ts';
import { createFabricDeliverer } from './deliver.ts';
import { parseFabricEndpoints, peerOrganisations, type FabricEndpoints } from './endpoints.ts';
import { connectGateway, PeerClient, type FabricGateway } from './gateway.ts';
import { readFabricIdentity, type FabricClientIdentity } from './identity.ts';
import { proveAt, validationAnswersOf } from './prove.ts';
import { decodeBlock, latestBlock, mapRange, messagesOfBlock, rawBlock, type PortScope } from './watch.ts';

/** What the relayer's Fabric light client reads through the adapter (nothing it returns is trusted). */
export interface FabricBlocks {
  /** the ledger height - 1 (number of the last committed block) as endpoint i's peer says (qscc GetChainInfo) */
  latest(endpoint?: number): Promise<bigint>;
  /** raw common.Block bytes of [from, to] from the endpoint's peer (qscc GetBlockByNumber) — untrusted */
  blocks(from: bigint, to: bigint, endpoint?: number): Promise<Uint8Array[]>;
  /** every peer endpoint's signed answer to qscc GetTransactionByID(txId): serialized ProposalResponse bytes, untrusted */
  validationAnswers(txId: string): Promise<{ endpoint: number; mspId: string; response: Uint8Array }[]>;
  endpointCount(): number;
}

export interface FabricAdapter extends ChainAdapter {
  readonly family: 'fabric';
  readonly fabric: FabricBlocks;
  /** The port chaincode's channel and name, for tools and tests. */
  readonly scope: PortScope;
}

/** The adapter's context (`attestation`: the deliverer checks a batch's signatures against it before a transaction is endorsed). */
export type FabricAdapterContext = AdapterContext & {
  /** The hub's client identity, instead of `<dataDir>/fabric/<chain>/identity.json` (tests, tools). Never logged. */
  identity?: FabricClientIdentity;
};

/** Only the parts of the trust root the adapter needs; the light client (relayer/light/fabric-trust.ts) decodes and checks the rest. */
const TrustRootScope = z.object({ channel: z.string().min(1), chaincode: z.string().min(1) }).passthrough();

export function decodeTrustRootScope(trustRoot: Hex, field = 'trustRoot'): { channel: string; chaincode: string } {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(trustRoot.replace(/^0x/, ''), 'hex').toString('utf8'));
  } catch (cause) {
    throw new ValidationError(field, 'is not the UTF-8 JSON of a Fabric trust root', { cause });
  }
  const r = TrustRootScope.safeParse(json);
  if (!r.success) throw new ValidationError(field, `has no channel/chaincode: ${r.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`);
  return { channel: r.data.channel, chaincode: r.data.chaincode };
}

interface Checked {
  scope: PortScope;
  endpoints: FabricEndpoints;
  organisations: number;
}

/** Everything about a registration that can be checked without the network. */
export function checkFabricRegistration(reg: ChainRegistration): Checked {
  const chainId = reg.chainId as ChainId;
  const f = (k: string) => `chains.${chainId}.${k}`;
  if (reg.family !== 'fabric') throw new ConfigError(f('family'), `the Fabric adapter cannot serve a ${reg.family} chain`);
  if (reg.lightClient !== 'fabric') throw new ConfigError(f('lightClient'), `Fabric chains are verified by the fabric light client, not "${reg.lightClient}"`);
  if (reg.finality.kind !== 'fabric-validated') throw new ConfigError(f('finality'), `Fabric finality is {kind:"fabric-validated", organisations: k}, not "${reg.finality.kind}"`);
  if (!/^0x[0-9a-fA-F]{64}$/.test(reg.genesisHash)) throw new ConfigError(f('genesisHash'), 'must be the 32-byte header hash of block 0');
  try {
    const { channel } = parseFabricChainId(chainId, f('chainId'));
    const port = parseFabricPort(reg.port, f('port'));
    const trust = decodeTrustRootScope(reg.trustRoot, f('trustRoot'));
    const endpoints = parseFabricEndpoints(reg.endpoints, f('endpoints'));
    if (port.channel !== channel) throw new ValidationError(f('port'), `names channel ${port.channel}, the chain id names ${channel}`);
    if (trust.channel !== channel) throw new ValidationError(f('trustRoot'), `is for channel ${trust.channel}, the chain id names ${channel}`);
    if (trust.chaincode !== port.chaincode) throw new ValidationError(f('trustRoot'), `names chaincode ${trust.chaincode}, the port is ${port.chaincode}`);
    const k = reg.finality.organisations;
    const orgs = peerOrganisations(endpoints).length;
    if (!Number.isInteger(k) || k < 1) throw new ValidationError(f('finality'), `organisations must be a whole number >= 1, not ${k}`);
    if (k > orgs) throw new ValidationError(f('finality'), `needs ${k} organisations' answers, the endpoints list peers of ${orgs}`);
    return { scope: { chainId, channel, chaincode: port.chaincode, portBytes: fabricPortBytes(port).toLowerCase() as Hex }, endpoints, organisations: k };
  } catch (cause) {
    if (cause instanceof ValidationError) throw new ConfigError(cause.field, cause.message, { cause });
    throw cause;
  }
}

/**
 * The Fabric adapter. Source side: a Qiao message is a `MessageSent` event (alone or in a `QiaoEvents` batch) of
 * a transaction that writes the message's commitment key in the port's namespace; the prover serves the block and
 * each organisation's signed validation answer for those transactions, which the relayer checks against the
 * blocks its light client verified (through `fabric`). Destination side: deliver.ts, as the hub's client identity.
 */
export async function createFabricAdapter(reg: ChainRegistration, ctx: FabricAdapterContext): Promise<FabricAdapter> {
  const { scope, endpoints, organisations } = checkFabricRegistration(reg);
  const { chainId, channel } = scope;
  const f = (k: string) => `chains.${chainId}.${k}`;
  let identity = ctx.identity;
  if (!identity) {
    if (!ctx.dataDir) throw new ConfigError(f('identity'), 'a Fabric chain needs the hub client identity: give the adapter a data folder holding fabric/<chain>/identity.json');
    identity = await readFabricIdentity(ctx.dataDir, chainId);
  }
  const logger = ctx.logger.child({ chain: chainId });
  const genesisHash = reg.genesisHash.toLowerCase();

  const peers = endpoints.peers.map((e) => new PeerClient(e, identity));
  let gw: FabricGateway | null = null;
  try {
    // The registry binds the chain id to its genesis: a peer of another channel or network is refused at connect.
    for (const p of peers) {
      const g = decodeBlock(await rawBlock(p, channel, 0n), scope.chaincode, p.endpoint.url);
      if (g.hash !== genesisHash) throw new ConfigError(f('genesisHash'), `${p.endpoint.url} serves block 0 ${g.hash}, registry says ${reg.genesisHash}`);
    }
    routeFabricSdkLogs(logger);
    gw = await connectGateway(endpoints, channel, identity);
  } catch (err) {
    peers.forEach((p) => p.close());
    throw err;
  }
  const primary = peers[0]!;
  const peerAt = (i = 0): PeerClient => {
    const p = peers[i];
    if (!p) throw new ValidationError('endpoint', `chain ${chainId} has no peer endpoint #${i}`);
    return p;
  };

  const watcher: MessageWatcher = {
    async heads(): Promise<ChainHeads> {
      // Ordered and committed is final (no forks); validation is the verifier's k answers, not the heads'.
      const head = await latestBlock(primary, channel);
      return { head, finalized: head };
    },
    async blockHashAt(height: bigint): Promise<Hex | null> {
      if (height < 0n || height > (await latestBlock(primary, channel))) return null;
      return decodeBlock(await rawBlock(primary, channel, height), scope.chaincode, primary.endpoint.url).hash;
    },
    async messagesIn(from: bigint, to: bigint): Promise<ObservedMessage[]> {
      if (to < from) return [];
      const blocks = await mapRange(from, to, async (n) => decodeBlock(await rawBlock(primary, channel, n), scope.chaincode, primary.endpoint.url));
      return blocks.flatMap((b) => messagesOfBlock(b, scope).map(({ txId: _txId, ...m }) => m));
    },
  };

  const prover: CommitmentProver = {
    endpointCount: () => peers.length,
    async proveCommitments(height: bigint, ids: readonly Hex[], endpoint = 0): Promise<SourceProof> {
      return proveAt({ peer: peerAt(endpoint), peers, scope, logger, organisations }, height, ids);
    },
  };

  const fabric: FabricBlocks = {
    endpointCount: () => peers.length,
    latest: async (endpoint = 0) => latestBlock(peerAt(endpoint), channel),
    async blocks(from: bigint, to: bigint, endpoint = 0) {
      const p = peerAt(endpoint);
      if (from < 0n || to < from) throw new ValidationError('range', `[${from}, ${to}] is not a block range`);
      return mapRange(from, to, (n) => rawBlock(p, channel, n));
    },
    async validationAnswers(txId: string) {
      if (!/^[0-9a-fA-F]{64}$/.test(txId)) throw new ValidationError('txId', `"${txId}" is not a Fabric transaction id`);
      return validationAnswersOf(peers, channel, txId, logger);
    },
  };

  const deliverer = createFabricDeliverer({ chainId, scope, contract: gw.network.getContract(scope.chaincode), peer: primary, attestation: ctx.attestation, logger, ...(ctx.cancelOrders ? { cancelOrders: ctx.cancelOrders } : {}) });

  logger.debug({ channel, chaincode: scope.chaincode, peers: peers.length, orderers: endpoints.orderers.length }, 'fabric adapter connected');
  const gateway = gw.gateway;
  return {
    chainId,
    family: 'fabric',
    watcher,
    prover,
    deliverer,
    fabric,
    scope,
    async close() {
      gateway.disconnect();
      peers.forEach((p) => p.close());
    },
  };
}
