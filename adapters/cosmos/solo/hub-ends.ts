import { Channel, Order, State as ChannelState } from 'cosmjs-types/ibc/core/channel/v1/channel';
import { ConnectionEnd, State as ConnectionState, type Version } from 'cosmjs-types/ibc/core/connection/v1/connection';
import { ProofSpec, HashOp, LengthOp } from 'cosmjs-types/cosmos/ics23/v1/proofs';
import { Any } from 'cosmjs-types/google/protobuf/any';
import { ClientState as TmClientState, ConsensusState as TmConsensusState } from 'cosmjs-types/ibc/lightclients/tendermint/v1/tendermint';

/**
 * What the hub's side of the link looks like to the chain. The hub is not an ibc-go chain: the
 * solo machine (the attestors) signs these values as the hub's state, and the chain checks them
 * against what ibc-go expects the counterparty to have written at its Try step.
 */
export const HUB_PORT = 'qiao';
export const HUB_CONNECTION_ID = 'connection-0';
export const HUB_CHANNEL_ID = 'channel-0';
/** The hub's (notional) tendermint client of the chain, which the chain's connection names as counterparty client. */
export const HUB_TENDERMINT_CLIENT_ID = '07-tendermint-0';
export const CHAIN_PREFIX = 'ibc';
export const QIAO_CHANNEL_VERSION = 'qiao-1';
/** ibc-go's default connection version (GetCompatibleVersions()[0]). */
export const CONNECTION_VERSION: Version = { identifier: '1', features: ['ORDER_ORDERED', 'ORDER_UNORDERED'] };

const enc = new TextEncoder();

/** The hub's ConnectionEnd after its Try step (what ConnOpenAck's proof_try proves). */
export function hubConnectionTryOpen(o: { chainClientId: string; chainConnectionId: string; version?: Version; delayPeriod?: bigint }): Uint8Array {
  return ConnectionEnd.encode({
    clientId: HUB_TENDERMINT_CLIENT_ID,
    versions: [o.version ?? CONNECTION_VERSION],
    state: ConnectionState.STATE_TRYOPEN,
    counterparty: { clientId: o.chainClientId, connectionId: o.chainConnectionId, prefix: { keyPrefix: enc.encode(CHAIN_PREFIX) } },
    delayPeriod: o.delayPeriod ?? 0n,
  }).finish();
}

/** The hub's ChannelEnd after its Try step (what ChanOpenAck's proof_try proves). */
export function hubChannelTryOpen(o: { chainPortId: string; chainChannelId: string }): Uint8Array {
  return Channel.encode({
    state: ChannelState.STATE_TRYOPEN,
    ordering: Order.ORDER_UNORDERED,
    counterparty: { portId: o.chainPortId, channelId: o.chainChannelId },
    connectionHops: [HUB_CONNECTION_ID],
    version: QIAO_CHANNEL_VERSION,
  }).finish();
}

/** ibc-go's SDK proof specs (commitmenttypes.GetSDKSpecs(): ics23 IavlSpec, TendermintSpec). */
export function sdkProofSpecs(): ProofSpec[] {
  const leaf = { hash: HashOp.SHA256, prehashKey: HashOp.NO_HASH, prehashValue: HashOp.SHA256, length: LengthOp.VAR_PROTO, prefix: Uint8Array.of(0) };
  return [
    ProofSpec.fromPartial({ leafSpec: leaf, innerSpec: { childOrder: [0, 1], childSize: 33, minPrefixLength: 4, maxPrefixLength: 12, emptyChild: new Uint8Array(), hash: HashOp.SHA256 }, maxDepth: 0, minDepth: 0 }),
    ProofSpec.fromPartial({ leafSpec: leaf, innerSpec: { childOrder: [0, 1], childSize: 32, minPrefixLength: 1, maxPrefixLength: 1, emptyChild: new Uint8Array(), hash: HashOp.SHA256 }, maxDepth: 0, minDepth: 0 }),
  ];
}

/**
 * The tendermint ClientState of the chain "as the hub holds it" (v8 ConnOpenAck's client_state and
 * proof_client): it must pass the chain's ValidateSelfClient.
 */
export function selfTendermintClientState(o: { chainId: string; revisionNumber: bigint; height: bigint; trustingPeriodSeconds: bigint; unbondingPeriodSeconds: bigint; maxClockDriftSeconds?: bigint }): Any {
  const cs = TmClientState.fromPartial({
    chainId: o.chainId,
    trustLevel: { numerator: 1n, denominator: 3n },
    trustingPeriod: { seconds: o.trustingPeriodSeconds, nanos: 0 },
    unbondingPeriod: { seconds: o.unbondingPeriodSeconds, nanos: 0 },
    maxClockDrift: { seconds: o.maxClockDriftSeconds ?? 10n, nanos: 0 },
    frozenHeight: { revisionNumber: 0n, revisionHeight: 0n },
    latestHeight: { revisionNumber: o.revisionNumber, revisionHeight: o.height },
    proofSpecs: sdkProofSpecs(),
    upgradePath: ['upgrade', 'upgradedIBCState'],
    allowUpdateAfterExpiry: false,
    allowUpdateAfterMisbehaviour: false,
  });
  return Any.fromPartial({ typeUrl: '/ibc.lightclients.tendermint.v1.ClientState', value: TmClientState.encode(cs).finish() });
}

/** The chain's own consensus state at a height as ibc-go's GetSelfConsensusState builds it from that header. */
export function selfTendermintConsensusState(o: { timestamp: { seconds: bigint; nanos: number }; appHash: Uint8Array; nextValidatorsHash: Uint8Array }): Any {
  const value = TmConsensusState.encode({ timestamp: o.timestamp, root: { hash: o.appHash }, nextValidatorsHash: o.nextValidatorsHash }).finish();
  return Any.fromPartial({ typeUrl: '/ibc.lightclients.tendermint.v1.ConsensusState', value });
}
