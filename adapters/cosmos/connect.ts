import type { CosmosLink } from './link.ts';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fromBech32 } from '@cosmjs/encoding';
import { DirectSecp256k1Wallet, type EncodeObject } from '@cosmjs/proto-signing';
import { SigningStargateClient, type DeliverTxResponse, type StdFee } from '@cosmjs/stargate';
import { toSeconds } from '@cosmjs/tendermint-rpc';
import { QueryParamsRequest, QueryParamsResponse } from 'cosmjs-types/cosmos/staking/v1beta1/query';
import { Any } from 'cosmjs-types/google/protobuf/any';
import { Order, State as ChannelState } from 'cosmjs-types/ibc/core/channel/v1/channel';
import { QueryChannelRequest, QueryChannelResponse } from 'cosmjs-types/ibc/core/channel/v1/query';
import { MsgChannelOpenAck, MsgChannelOpenInit } from 'cosmjs-types/ibc/core/channel/v1/tx';
import { QueryClientStateRequest, QueryClientStateResponse } from 'cosmjs-types/ibc/core/client/v1/query';
import { MsgCreateClient } from 'cosmjs-types/ibc/core/client/v1/tx';
import { State as ConnectionState } from 'cosmjs-types/ibc/core/connection/v1/connection';
import { QueryConnectionRequest, QueryConnectionResponse } from 'cosmjs-types/ibc/core/connection/v1/query';
import { MsgConnectionOpenAck, MsgConnectionOpenInit } from 'cosmjs-types/ibc/core/connection/v1/tx';
import { ClientState as SoloClientState, ConsensusState as SoloConsensusState } from 'cosmjs-types/ibc/lightclients/solomachine/v3/solomachine';
import { z } from 'zod';
import type { Hex } from '../../src/domain/hex.ts';
import { QiaoError, RpcError, ValidationError } from '../../src/errors.ts';
import type { Logger } from '../../src/logging.ts';
import { revisionNumberOf } from './chain-id.ts';
import { connectComet, disconnectComet, grpcQuery, rawValidators, rpc, toHex, type CometEndpoint } from './rpc.ts';
import {
  CHAIN_PREFIX, CONNECTION_VERSION, HUB_CHANNEL_ID, HUB_CONNECTION_ID, HUB_PORT, HUB_TENDERMINT_CLIENT_ID, QIAO_CHANNEL_VERSION,
  hubChannelTryOpen, hubConnectionTryOpen, selfTendermintClientState, selfTendermintConsensusState,
} from './solo/hub-ends.ts';
import { privateKeyBytes, soloPublicKey } from './solo/keys.ts';
import { openSoloSequencer, QIAO_DIVERSIFIER } from './solo/open.ts';
import { qiaoCosmosRegistry } from './solo/registry.ts';
import { SoloSequenceStuckError, type SoloClientView, type SoloMachineSequencer } from './solo/sequencer.ts';
import type { IbcVersion } from './solo/sign-bytes.ts';

/** A tx of the handshake was refused by the chain. */
export class CosmosTxError extends QiaoError {
  constructor(readonly step: string, readonly txCode: number, log: string, readonly txHash: string) {
    super('cosmos_tx_failed', `${step}: tx ${txHash} failed with code ${txCode}: ${log}`, { data: { step, txCode, txHash } });
  }
}

export type { CosmosLink } from './link.ts';

export interface ConnectResult {
  /** CAIP-2 `cosmos:<chain-id>`. */
  chainId: string;
  cometChainId: string;
  genesisHash: Hex;
  /** hex of utf8 "wasm.<contract>/<channel>". */
  port: Hex;
  channelId: string;
  /** hex of the UTF-8 trust root JSON (link included). */
  trustRoot: Hex;
  trustRootJson: Record<string, unknown>;
  link: CosmosLink;
}

const DEFAULT_FEE: StdFee = { amount: [{ denom: 'stake', amount: '5000' }], gas: '2000000' };
const DEFAULT_UNBONDING_SECONDS = 21n * 24n * 3600n;

const OptionsSchema = z.object({
  rpcUrl: z.string().url().refine((u) => /^https?:\/\//.test(u), 'must be an http(s) URL'),
  signer: z.object({ key: z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'a secp256k1 private key: 0x and 64 hex digits') }),
  attestorKeys: z.array(z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'a secp256k1 private key: 0x and 64 hex digits')).min(1),
  threshold: z.number().int().min(1),
  contract: z.string().min(1),
  ibcVersion: z.enum(['v8', 'v9']),
  dataDir: z.string().min(1),
  trustingPeriodSeconds: z.number().int().positive().optional(),
  unbondingPeriodSeconds: z.number().int().positive().optional(),
});

function validate(o: unknown): z.infer<typeof OptionsSchema> {
  const r = OptionsSchema.safeParse(o);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new ValidationError(issue.path.join('.') || 'options', issue.message);
  }
  if (r.data.threshold > r.data.attestorKeys.length) throw new ValidationError('threshold', `${r.data.threshold} of ${r.data.attestorKeys.length} attestor keys`);
  try {
    const { data } = fromBech32(r.data.contract, 128);
    if (data.length !== 20 && data.length !== 32) throw new Error(`${data.length}-byte address`);
  } catch (cause) {
    throw new ValidationError('contract', `"${r.data.contract}" is not a bech32 contract address`, { cause });
  }
  return r.data;
}

/** What `connect` has done on this chain, so an interrupted run resumes instead of opening a second client. */
interface Progress {
  contract: string;
  ibcVersion: IbcVersion;
  clientId?: string;
  connectionId?: string;
  channelId?: string;
}

function readProgress(file: string): Progress | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Progress;
  } catch {
    return undefined;
  }
}

function saveProgress(file: string, p: Progress): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(`${file}.tmp`, JSON.stringify(p, null, 2));
  renameSync(`${file}.tmp`, file);
}

function attr(r: DeliverTxResponse, type: string, key: string): string | undefined {
  for (const e of r.events) if (e.type === type) for (const a of e.attributes) if (a.key === key) return a.value;
  return undefined;
}

/**
 * Connects a Cosmos chain to the hub over IBC, the chain initiating: creates the hub's solo machine
 * client on it (the attestors' k-of-n key), opens a connection and a channel from the Qiao contract's
 * port to the hub's port `qiao`, every proof signed through the solo machine sequencer. Returns what
 * `qiao chains register` needs. Resumable: progress is kept in the data folder.
 */
export async function connectCosmosChain(input: {
  rpcUrl: string;
  signer: { key: Hex };
  attestorKeys: Hex[];
  threshold: number;
  contract: string;
  ibcVersion: IbcVersion;
  dataDir: string;
  logger: Logger;
  trustingPeriodSeconds?: number;
  /** The chain's staking unbonding time; read from the chain when not given. */
  unbondingPeriodSeconds?: number;
  fee?: StdFee;
}): Promise<ConnectResult> {
  const o = validate({ ...input, logger: undefined });
  const log = input.logger.child({ component: 'cosmos-connect' });
  const fee = input.fee ?? DEFAULT_FEE;
  const attestorKeys = o.attestorKeys as Hex[];
  const wallet = await DirectSecp256k1Wallet.fromKey(privateKeyBytes(o.signer.key as Hex, 'signer'), 'cosmos');
  const [account] = await wallet.getAccounts();
  const sender = account!.address;
  const endpoint = await connectComet(o.rpcUrl);
  try {
    const client = SigningStargateClient.createWithSigner(endpoint.client, wallet, { registry: qiaoCosmosRegistry(), broadcastPollIntervalMs: 500 });
    const status = await rpc(o.rpcUrl, 'status', () => endpoint.client.status());
    const cometChainId = status.nodeInfo.network;
    const revision = revisionNumberOf(cometChainId);
    const progressFile = join(o.dataDir, 'cosmos', 'connect', `${cometChainId.replace(/[^A-Za-z0-9._-]/g, '_')}.json`);
    let progress = readProgress(progressFile);
    if (!progress || progress.contract !== o.contract || progress.ibcVersion !== o.ibcVersion) progress = { contract: o.contract, ibcVersion: o.ibcVersion };
    const chainPort = `wasm.${o.contract}`;

    const send = async (step: string, msgs: EncodeObject[]): Promise<DeliverTxResponse> => {
      const r = await rpc(o.rpcUrl, step, () => client.signAndBroadcast(sender, msgs, fee));
      if (r.code !== 0) throw new CosmosTxError(step, r.code, r.rawLog ?? '', r.transactionHash);
      log.info({ step, height: r.height, tx: r.transactionHash }, 'cosmos connect step landed');
      return r;
    };

    // 1. The hub's solo machine client on the chain.
    if (!progress.clientId) {
      const consensusState = SoloConsensusState.fromPartial({ publicKey: soloPublicKey(attestorKeys, o.threshold), diversifier: QIAO_DIVERSIFIER, timestamp: BigInt(Date.now()) * 1_000_000n });
      const msg = MsgCreateClient.fromPartial({
        clientState: Any.fromPartial({ typeUrl: '/ibc.lightclients.solomachine.v3.ClientState', value: SoloClientState.encode({ sequence: 1n, isFrozen: false, consensusState }).finish() }),
        consensusState: Any.fromPartial({ typeUrl: '/ibc.lightclients.solomachine.v3.ConsensusState', value: SoloConsensusState.encode(consensusState).finish() }),
        signer: sender,
      });
      const r = await send('create solo machine client', [{ typeUrl: '/ibc.core.client.v1.MsgCreateClient', value: msg }]);
      const clientId = attr(r, 'create_client', 'client_id');
      if (!clientId) throw new RpcError(o.rpcUrl, 'create_client event without client_id');
      progress = { ...progress, clientId };
      saveProgress(progressFile, progress);
    }
    const clientId = progress.clientId!;

    const solo = openSoloSequencer({ dataDir: o.dataDir, cometChainId, clientId, attestorKeys, threshold: o.threshold, ibcVersion: o.ibcVersion, logger: log });
    try {
      const current = () => soloClientView(endpoint, clientId);
      // 2. Connection: Init, then Ack with the solo machine's proof of the hub's TRYOPEN end.
      if (!progress.connectionId) {
        const msg = MsgConnectionOpenInit.fromPartial({
          clientId,
          counterparty: { clientId: HUB_TENDERMINT_CLIENT_ID, connectionId: '', prefix: { keyPrefix: new TextEncoder().encode(CHAIN_PREFIX) } },
          version: CONNECTION_VERSION,
          delayPeriod: 0n,
          signer: sender,
        });
        const r = await send('connection open init', [{ typeUrl: '/ibc.core.connection.v1.MsgConnectionOpenInit', value: msg }]);
        const connectionId = attr(r, 'connection_open_init', 'connection_id');
        if (!connectionId) throw new RpcError(o.rpcUrl, 'connection_open_init event without connection_id');
        progress = { ...progress, connectionId };
        saveProgress(progressFile, progress);
      }
      const connectionId = progress.connectionId!;
      if ((await connectionState(endpoint, connectionId)) !== ConnectionState.STATE_OPEN) {
        await connectionOpenAck({ endpoint, sequencer: solo.sequencer, current, clientId, connectionId, sender, ibcVersion: o.ibcVersion, revision, chainId: cometChainId, send, unbonding: o.unbondingPeriodSeconds, trusting: o.trustingPeriodSeconds, log });
      }

      // 3. Channel: Init from the contract's port, then Ack with the proof of the hub's TRYOPEN channel.
      if (!progress.channelId) {
        const msg = MsgChannelOpenInit.fromPartial({
          portId: chainPort,
          channel: { state: ChannelState.STATE_INIT, ordering: Order.ORDER_UNORDERED, counterparty: { portId: HUB_PORT, channelId: '' }, connectionHops: [connectionId], version: QIAO_CHANNEL_VERSION },
          signer: sender,
        });
        const r = await send('channel open init', [{ typeUrl: '/ibc.core.channel.v1.MsgChannelOpenInit', value: msg }]);
        const channelId = attr(r, 'channel_open_init', 'channel_id');
        if (!channelId) throw new RpcError(o.rpcUrl, 'channel_open_init event without channel_id');
        progress = { ...progress, channelId };
        saveProgress(progressFile, progress);
      }
      const channelId = progress.channelId!;
      if ((await channelState(endpoint, chainPort, channelId)) !== ChannelState.STATE_OPEN) {
        await solo.sequencer.run({
          current,
          paths: [{ path: `channelEnds/ports/${HUB_PORT}/channels/${HUB_CHANNEL_ID}`, value: hubChannelTryOpen({ chainPortId: chainPort, chainChannelId: channelId }) }],
          build: (proofs) => [{
            typeUrl: '/ibc.core.channel.v1.MsgChannelOpenAck',
            value: MsgChannelOpenAck.fromPartial({ portId: chainPort, channelId, counterpartyChannelId: HUB_CHANNEL_ID, counterpartyVersion: QIAO_CHANNEL_VERSION, proofTry: proofs[0]!.proof, proofHeight: proofs[0]!.proofHeight, signer: sender }),
          }],
          submit: (msgs) => send('channel open ack', msgs),
        });
      }

      // 4. What the hub registers: genesis hash, port, and a trust root at the current height.
      const genesis = await rpc(o.rpcUrl, 'block 1', () => endpoint.client.block(1));
      const latest = await rpc(o.rpcUrl, 'status', () => endpoint.client.status());
      const height = BigInt(latest.syncInfo.latestBlockHeight);
      const head = await rpc(o.rpcUrl, `block ${height}`, () => endpoint.client.block(Number(height)));
      const { validators } = await rawValidators(o.rpcUrl, height);
      const unbonding = await unbondingSeconds(endpoint, o.unbondingPeriodSeconds, log);
      const trusting = o.trustingPeriodSeconds !== undefined ? BigInt(o.trustingPeriodSeconds) : (unbonding * 2n) / 3n;
      const link: CosmosLink = { soloClientId: clientId, connectionId, counterpartyConnectionId: HUB_CONNECTION_ID, hubPort: HUB_PORT, hubChannel: HUB_CHANNEL_ID };
      const trustRootJson = {
        chainId: cometChainId,
        height: Number(height),
        hash: toHex(head.blockId.hash),
        validators,
        trustingPeriodSeconds: Number(trusting),
        trustLevel: { numerator: 1, denominator: 3 },
        maxClockDriftSeconds: 10,
        link,
      };
      return {
        chainId: `cosmos:${cometChainId}`,
        cometChainId,
        genesisHash: toHex(genesis.blockId.hash),
        port: toHex(new TextEncoder().encode(`${chainPort}/${channelId}`)),
        channelId,
        trustRoot: toHex(new TextEncoder().encode(JSON.stringify(trustRootJson))),
        trustRootJson,
        link,
      };
    } catch (err) {
      if (err instanceof SoloSequenceStuckError) {
        // Its signatures may be public (a failed tx is on chain): this client cannot sign anything else there.
        throw new QiaoError('cosmos_connect_stuck', `solo machine client ${clientId} cannot go on (${err.message}); remove ${progressFile} to start over with a new client`, { cause: err, data: { clientId, progressFile } });
      }
      throw err;
    } finally {
      solo.close();
    }
  } finally {
    disconnectComet(endpoint);
  }
}

/** The solo client's {sequence, consensus timestamp, frozen} as the chain holds it now: the sequencer's `current()`. */
export async function soloClientView(e: CometEndpoint, clientId: string): Promise<SoloClientView> {
  const res = QueryClientStateResponse.decode(await grpcQuery(e, '/ibc.core.client.v1.Query/ClientState', QueryClientStateRequest.encode({ clientId }).finish()));
  const any = res.clientState;
  if (any?.typeUrl !== '/ibc.lightclients.solomachine.v3.ClientState') throw new RpcError(e.url, `client ${clientId} is not a solo machine (${any?.typeUrl ?? 'none'})`);
  const cs = SoloClientState.decode(any.value);
  return { sequence: cs.sequence, timestamp: cs.consensusState?.timestamp ?? 0n, frozen: cs.isFrozen };
}

async function connectionState(e: CometEndpoint, connectionId: string): Promise<ConnectionState | undefined> {
  const res = QueryConnectionResponse.decode(await grpcQuery(e, '/ibc.core.connection.v1.Query/Connection', QueryConnectionRequest.encode({ connectionId }).finish()));
  return res.connection?.state;
}

async function channelState(e: CometEndpoint, portId: string, channelId: string): Promise<ChannelState | undefined> {
  const res = QueryChannelResponse.decode(await grpcQuery(e, '/ibc.core.channel.v1.Query/Channel', QueryChannelRequest.encode({ portId, channelId }).finish()));
  return res.channel?.state;
}

/** The chain's staking unbonding time (v8's ValidateSelfClient compares it exactly). */
async function unbondingSeconds(e: CometEndpoint, given: number | undefined, log: Logger): Promise<bigint> {
  if (given !== undefined) return BigInt(given);
  try {
    const res = QueryParamsResponse.decode(await grpcQuery(e, '/cosmos.staking.v1beta1.Query/Params', QueryParamsRequest.encode({}).finish()));
    const t = res.params?.unbondingTime;
    if (t && t.seconds > 0n) return t.seconds;
  } catch (err) {
    log.warn({ err }, 'staking params not served; assuming the SDK default unbonding time of 21 days');
  }
  return DEFAULT_UNBONDING_SECONDS;
}

/**
 * ConnOpenAck. Both versions prove the hub's TRYOPEN ConnectionEnd; ibc-go v8 also proves (in this
 * order, one solo sequence each) the hub's tendermint ClientState of this chain and its consensus
 * state at the consensus height, which ValidateSelfClient / GetSelfConsensusState check against the
 * chain itself. v9 deprecated those fields and ignores them.
 */
async function connectionOpenAck(o: {
  endpoint: CometEndpoint;
  sequencer: SoloMachineSequencer;
  current: () => Promise<SoloClientView>;
  clientId: string;
  connectionId: string;
  sender: string;
  ibcVersion: IbcVersion;
  revision: bigint;
  chainId: string;
  send: (step: string, msgs: EncodeObject[]) => Promise<DeliverTxResponse>;
  unbonding?: number;
  trusting?: number;
  log: Logger;
}): Promise<void> {
  const tryOpen = hubConnectionTryOpen({ chainClientId: o.clientId, chainConnectionId: o.connectionId });
  const connPath = `connections/${HUB_CONNECTION_ID}`;
  if (o.ibcVersion === 'v9') {
    await o.sequencer.run({
      current: o.current,
      paths: [{ path: connPath, value: tryOpen }],
      build: (proofs) => [ack(o, proofs[0]!.proof, proofs[0]!.proofHeight)],
      submit: (msgs) => o.send('connection open ack', msgs),
    });
    return;
  }
  const e = o.endpoint;
  const status = await rpc(e.url, 'status', () => e.client.status());
  const height = BigInt(status.syncInfo.latestBlockHeight);
  const block = await rpc(e.url, `block ${height}`, () => e.client.block(Number(height)));
  const unbonding = await unbondingSeconds(e, o.unbonding, o.log);
  const trusting = o.trusting !== undefined ? BigInt(o.trusting) : (unbonding * 2n) / 3n;
  const clientState = selfTendermintClientState({ chainId: o.chainId, revisionNumber: o.revision, height, trustingPeriodSeconds: trusting, unbondingPeriodSeconds: unbonding });
  const ts = toSeconds(block.block.header.time);
  const consensusState = selfTendermintConsensusState({ timestamp: { seconds: BigInt(ts.seconds), nanos: ts.nanos }, appHash: block.block.header.appHash, nextValidatorsHash: block.block.header.nextValidatorsHash });
  const consensusHeight = { revisionNumber: o.revision, revisionHeight: height };
  await o.sequencer.run({
    current: o.current,
    paths: [
      { path: connPath, value: tryOpen },
      { path: `clients/${HUB_TENDERMINT_CLIENT_ID}/clientState`, value: Any.encode(clientState).finish() },
      { path: `clients/${HUB_TENDERMINT_CLIENT_ID}/consensusStates/${o.revision}-${height}`, value: Any.encode(consensusState).finish() },
    ],
    build: (proofs) => [ack(o, proofs[0]!.proof, proofs[0]!.proofHeight, { clientState, proofClient: proofs[1]!.proof, proofConsensus: proofs[2]!.proof, consensusHeight })],
    submit: (msgs) => o.send('connection open ack', msgs),
  });
}

function ack(
  o: { connectionId: string; sender: string },
  proofTry: Uint8Array,
  proofHeight: { revisionNumber: bigint; revisionHeight: bigint },
  v8?: { clientState: Any; proofClient: Uint8Array; proofConsensus: Uint8Array; consensusHeight: { revisionNumber: bigint; revisionHeight: bigint } },
): EncodeObject {
  return {
    typeUrl: '/ibc.core.connection.v1.MsgConnectionOpenAck',
    value: MsgConnectionOpenAck.fromPartial({
      connectionId: o.connectionId,
      counterpartyConnectionId: HUB_CONNECTION_ID,
      version: CONNECTION_VERSION,
      proofTry,
      proofHeight,
      signer: o.sender,
      ...(v8 ?? {}),
    }),
  };
}
