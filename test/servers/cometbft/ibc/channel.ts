import {
  Channel,
  Order,
  orderToJSON,
  type Packet,
  State as ChanState,
  stateToJSON as chanStateToJSON,
} from 'cosmjs-types/ibc/core/channel/v1/channel';
import {
  MsgAcknowledgement,
  MsgAcknowledgementResponse,
  MsgChannelOpenAck,
  MsgChannelOpenInit,
  MsgRecvPacket,
  MsgRecvPacketResponse,
  MsgTimeout,
  MsgTimeoutResponse,
  ResponseResultType,
} from 'cosmjs-types/ibc/core/channel/v1/tx';
import { State as ConnState, stateToJSON as connStateToJSON } from 'cosmjs-types/ibc/core/connection/v1/connection';
import type { TxContext } from '../node/module.ts';
import type { IbcApp } from './app.ts';
import { cacheContext } from './cache.ts';
import { commitAcknowledgement, commitPacket, RECEIPT_VALUE } from './commitment.ts';
import { loadConnection } from './connection.ts';
import { type Env, type IbcConfig, envFor, nowNanos, revisionOf } from './env.ts';
import { ibcError, wrap } from './errors.ts';
import { heightString, packetAttrs } from './events.ts';
import {
  channelPath,
  NEXT_CHANNEL_SEQUENCE,
  nextSequenceAckPath,
  nextSequenceRecvPath,
  nextSequenceSendPath,
  packetAckPath,
  packetCommitmentPath,
  packetReceiptPath,
} from './paths.ts';
import { loadClientState, soloTimestamp, verifySoloProof } from './solomachine.ts';

export type Router = (portId: string) => IbcApp | undefined;

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b));

function route(router: Router, portId: string): IbcApp {
  const app = router(portId);
  if (!app) throw ibcError('routeNotFound', `route not found to module for port ${portId}`);
  return app;
}

export function loadChannel(env: Env, port: string, channel: string): Channel {
  const raw = env.store.get(channelPath(port, channel));
  if (!raw) throw ibcError('channelNotFound', `port-id: ${port}, channel-id: ${channel}`);
  return Channel.decode(raw);
}

function requireActiveClient(env: Env, clientId: string): void {
  if (loadClientState(env.store, clientId).isFrozen) throw ibcError('clientNotActive', `client (${clientId}) status is Frozen`);
}

function openConnectionOf(env: Env, ch: Channel): { connectionId: string; clientId: string } {
  const connectionId = ch.connectionHops[0] ?? '';
  const conn = loadConnection(env, connectionId);
  if (conn.state !== ConnState.STATE_OPEN) {
    throw ibcError('invalidConnectionState', `connection state is not OPEN (got ${connStateToJSON(conn.state)})`);
  }
  return { connectionId, clientId: conn.clientId };
}

/** Timeout.Elapsed of ibc-go: height (if set) reached, or timestamp (if set) reached. */
function elapsed(p: Packet, height: { revisionNumber: bigint; revisionHeight: bigint }, timestamp: bigint): boolean {
  const th = p.timeoutHeight;
  const heightSet = th.revisionNumber !== 0n || th.revisionHeight !== 0n;
  const heightElapsed =
    heightSet &&
    (height.revisionNumber > th.revisionNumber || (height.revisionNumber === th.revisionNumber && height.revisionHeight >= th.revisionHeight));
  const timeElapsed = p.timeoutTimestamp !== 0n && timestamp >= p.timeoutTimestamp;
  return heightElapsed || timeElapsed;
}

/** Packet.ValidateBasic. */
function validatePacket(p: Packet | undefined): Packet {
  if (!p) throw ibcError('invalidPacket', 'packet cannot be nil');
  if (p.sequence === 0n) throw ibcError('invalidPacket', 'packet sequence cannot be 0');
  if (!p.sourcePort || !p.sourceChannel || !p.destinationPort || !p.destinationChannel) throw ibcError('invalidPacket', 'invalid packet identifiers');
  const th = p.timeoutHeight;
  if (th.revisionNumber === 0n && th.revisionHeight === 0n && p.timeoutTimestamp === 0n) {
    throw ibcError('invalidPacket', 'packet timeout height and packet timeout timestamp cannot both be 0');
  }
  if (p.data.length === 0) throw ibcError('invalidPacket', 'packet data bytes cannot be empty');
  return p;
}

export class ChannelKeeper {
  constructor(
    private readonly cfg: IbcConfig,
    private readonly router: Router,
  ) {}

  chanOpenInit(env: Env, bytes: Uint8Array): void {
    const msg = MsgChannelOpenInit.decode(bytes);
    const ch = msg.channel;
    if (ch.state !== ChanState.STATE_INIT) throw ibcError('invalidChannelState', `channel state must be INIT in MsgChannelOpenInit. expected: INIT, got: ${chanStateToJSON(ch.state)}`);
    if (ch.counterparty.channelId !== '') throw ibcError('invalidChannelCounterparty', 'counterparty channel identifier must be empty');
    if (ch.connectionHops.length !== 1) throw ibcError('tooManyConnectionHops', 'current IBC version only supports one connection hop');
    if (ch.ordering !== Order.ORDER_UNORDERED && ch.ordering !== Order.ORDER_ORDERED) throw ibcError('invalidChannelOrdering', 'channel order must be set');
    const connectionId = ch.connectionHops[0] ?? '';
    const conn = loadConnection(env, connectionId);
    if (conn.versions.length !== 1) throw ibcError('invalidConnectionVersion', 'single version must be negotiated on connection before opening channel');
    if (!conn.versions[0]?.features.includes(orderToJSON(ch.ordering))) {
      throw ibcError('invalidConnectionVersion', `connection version does not support channel ordering: ${orderToJSON(ch.ordering)}`);
    }
    requireActiveClient(env, conn.clientId);
    const app = route(this.router, msg.portId);
    const n = env.store.getU64(NEXT_CHANNEL_SEQUENCE) ?? 0n;
    const channelId = `channel-${n}`;
    env.store.setU64(NEXT_CHANNEL_SEQUENCE, n + 1n);
    const version = app.onChanOpenInit(env.ctx, {
      portId: msg.portId,
      channelId,
      order: ch.ordering,
      connectionId,
      counterpartyPortId: ch.counterparty.portId,
      version: ch.version,
    });
    const stored: Channel = { ...ch, state: ChanState.STATE_INIT, version };
    env.store.set(channelPath(msg.portId, channelId), Channel.encode(stored).finish());
    env.store.setU64(nextSequenceSendPath(msg.portId, channelId), 1n);
    env.store.setU64(nextSequenceRecvPath(msg.portId, channelId), 1n);
    env.store.setU64(nextSequenceAckPath(msg.portId, channelId), 1n);
    env.ctx.emit('channel_open_init', [
      ['port_id', msg.portId],
      ['channel_id', channelId],
      ['counterparty_port_id', ch.counterparty.portId],
      ['connection_id', connectionId],
      ['version', version],
    ]);
    env.ctx.emit('message', [['module', 'ibc_channel']]);
  }

  chanOpenAck(env: Env, bytes: Uint8Array): void {
    const msg = MsgChannelOpenAck.decode(bytes);
    if (msg.proofTry.length === 0) throw ibcError('commitmentInvalidProof', 'cannot submit an empty proof');
    const ch = loadChannel(env, msg.portId, msg.channelId);
    if (ch.state !== ChanState.STATE_INIT) throw ibcError('invalidChannelState', `channel state should be INIT (got ${chanStateToJSON(ch.state)})`);
    const connectionId = ch.connectionHops[0] ?? '';
    const conn = loadConnection(env, connectionId);
    if (conn.state !== ConnState.STATE_OPEN) throw ibcError('invalidConnectionState', `connection state is not OPEN (got ${connStateToJSON(conn.state)})`);
    const expected = Channel.encode({
      state: ChanState.STATE_TRYOPEN,
      ordering: ch.ordering,
      counterparty: { portId: msg.portId, channelId: msg.channelId },
      connectionHops: [conn.counterparty.connectionId],
      version: msg.counterpartyVersion,
    }).finish();
    try {
      verifySoloProof(env.store, conn.clientId, msg.proofTry, channelPath(ch.counterparty.portId, msg.counterpartyChannelId), expected);
    } catch (e) {
      throw wrap(e, `failed channel state verification for client (${conn.clientId})`);
    }
    route(this.router, msg.portId).onChanOpenAck(env.ctx, {
      portId: msg.portId,
      channelId: msg.channelId,
      counterpartyChannelId: msg.counterpartyChannelId,
      counterpartyVersion: msg.counterpartyVersion,
    });
    const open: Channel = {
      ...ch,
      state: ChanState.STATE_OPEN,
      version: msg.counterpartyVersion,
      counterparty: { ...ch.counterparty, channelId: msg.counterpartyChannelId },
    };
    env.store.set(channelPath(msg.portId, msg.channelId), Channel.encode(open).finish());
    env.ctx.emit('channel_open_ack', [
      ['port_id', msg.portId],
      ['channel_id', msg.channelId],
      ['counterparty_port_id', ch.counterparty.portId],
      ['counterparty_channel_id', msg.counterpartyChannelId],
      ['connection_id', connectionId],
    ]);
    env.ctx.emit('message', [['module', 'ibc_channel']]);
  }

  /** ICS4Wrapper.SendPacket, called by the application that owns the port. */
  sendPacket(
    ctx: TxContext,
    a: { sourcePort: string; sourceChannel: string; timeoutHeight: { revisionNumber: bigint; revisionHeight: bigint }; timeoutTimestamp: bigint; data: Uint8Array },
  ): bigint {
    const env = envFor(ctx, this.cfg);
    const ch = loadChannel(env, a.sourcePort, a.sourceChannel);
    if (ch.state !== ChanState.STATE_OPEN) throw ibcError('invalidChannelState', `channel is not OPEN (got ${chanStateToJSON(ch.state)})`);
    const seq = env.store.getU64(nextSequenceSendPath(a.sourcePort, a.sourceChannel));
    if (seq === undefined) throw ibcError('sequenceSendNotFound', `source port: ${a.sourcePort}, source channel: ${a.sourceChannel}`);
    const packet: Packet = {
      sequence: seq,
      sourcePort: a.sourcePort,
      sourceChannel: a.sourceChannel,
      destinationPort: ch.counterparty.portId,
      destinationChannel: ch.counterparty.channelId,
      data: a.data,
      timeoutHeight: a.timeoutHeight,
      timeoutTimestamp: a.timeoutTimestamp,
    };
    try {
      validatePacket(packet);
    } catch (e) {
      throw wrap(e, 'constructed packet failed basic validation');
    }
    const connectionId = ch.connectionHops[0] ?? '';
    const conn = loadConnection(env, connectionId);
    const cs = loadClientState(env.store, conn.clientId);
    if (cs.isFrozen) throw ibcError('clientNotActive', `client (${conn.clientId}) status is Frozen`);
    const latest = { revisionNumber: 0n, revisionHeight: cs.sequence };
    const latestTs = cs.consensusState?.timestamp ?? 0n;
    if (elapsed(packet, latest, latestTs)) {
      throw ibcError('timeoutElapsed', `latest height ${heightString(latest)} or latest timestamp ${latestTs} is past the packet timeout: invalid packet timeout`);
    }
    env.store.set(packetCommitmentPath(a.sourcePort, a.sourceChannel, seq), commitPacket(packet));
    env.store.setU64(nextSequenceSendPath(a.sourcePort, a.sourceChannel), seq + 1n);
    env.ctx.emit('send_packet', packetAttrs(packet, { version: this.cfg.ibcVersion, ordering: orderToJSON(ch.ordering), connectionId, data: true }));
    env.ctx.emit('message', [['module', 'ibc_channel']]);
    return seq;
  }

  /** MsgRecvPacket: verification and replay protection in a cache; a redundant relay is a NOOP success. */
  recvPacket(outer: TxContext, bytes: Uint8Array): Uint8Array {
    const msg = MsgRecvPacket.decode(bytes);
    const packet = validatePacket(msg.packet);
    if (msg.proofCommitment.length === 0) throw ibcError('commitmentInvalidProof', 'cannot submit an empty proof');
    const cache = cacheContext(outer);
    const env = envFor(cache.ctx, this.cfg);
    const ch = loadChannel(env, packet.destinationPort, packet.destinationChannel);
    if (ch.state !== ChanState.STATE_OPEN) throw wrap(ibcError('invalidChannelState', `channel state is not OPEN (got ${chanStateToJSON(ch.state)})`), 'receive packet verification failed');
    if (packet.sourcePort !== ch.counterparty.portId) {
      throw ibcError('invalidPacket', `packet source port doesn't match the counterparty's port (${packet.sourcePort} ≠ ${ch.counterparty.portId})`);
    }
    if (packet.sourceChannel !== ch.counterparty.channelId) {
      throw ibcError('invalidPacket', `packet source channel doesn't match the counterparty's channel (${packet.sourceChannel} ≠ ${ch.counterparty.channelId})`);
    }
    const { connectionId, clientId } = openConnectionOf(env, ch);
    const self = { revisionNumber: revisionOf(this.cfg.chainId), revisionHeight: outer.height };
    if (elapsed(packet, self, nowNanos(outer))) {
      throw wrap(ibcError('timeoutElapsed', `block height >= packet timeout height or block timestamp >= packet timeout timestamp`), 'receive packet verification failed');
    }
    try {
      verifySoloProof(env.store, clientId, msg.proofCommitment, packetCommitmentPath(packet.sourcePort, packet.sourceChannel, packet.sequence), commitPacket(packet));
    } catch (e) {
      throw wrap(wrap(e, `failed packet commitment verification for client (${clientId})`), "couldn't verify counterparty packet commitment");
    }
    // applyReplayProtection (unordered): a receipt means the packet was relayed already.
    const receiptKey = packetReceiptPath(packet.destinationPort, packet.destinationChannel, packet.sequence);
    if (env.store.get(receiptKey)) return MsgRecvPacketResponse.encode({ result: ResponseResultType.RESPONSE_RESULT_TYPE_NOOP }).finish();
    env.store.set(receiptKey, RECEIPT_VALUE);
    const ordering = orderToJSON(ch.ordering);
    env.ctx.emit('recv_packet', packetAttrs(packet, { version: this.cfg.ibcVersion, ordering, connectionId, data: true }));
    env.ctx.emit('message', [['module', 'ibc_channel']]);
    cache.commit();

    const app = route(this.router, packet.destinationPort);
    const ack = app.onRecvPacket(outer, packet, msg.signer);
    // WriteAcknowledgement (synchronous acks only in the model).
    const outerEnv = envFor(outer, this.cfg);
    const ackKey = packetAckPath(packet.destinationPort, packet.destinationChannel, packet.sequence);
    if (ack.length === 0) throw ibcError('invalidAcknowledgement', 'acknowledgement cannot be empty');
    if (outerEnv.store.get(ackKey)) throw ibcError('acknowledgementExists', `acknowledgement for packet already exists with sequence: ${packet.sequence}`);
    outerEnv.store.set(ackKey, commitAcknowledgement(ack));
    outer.emit('write_acknowledgement', packetAttrs(packet, { version: this.cfg.ibcVersion, ordering, connectionId, data: true, ack }));
    outer.emit('message', [['module', 'ibc_channel']]);
    return MsgRecvPacketResponse.encode({ result: ResponseResultType.RESPONSE_RESULT_TYPE_SUCCESS }).finish();
  }

  /** Commitment lookup shared by acknowledgement and timeout: missing commitment = already relayed. */
  private sentPacket(env: Env, packet: Packet): { ch: Channel; connectionId: string; clientId: string } {
    const ch = loadChannel(env, packet.sourcePort, packet.sourceChannel);
    if (ch.state !== ChanState.STATE_OPEN) throw ibcError('invalidChannelState', `packets cannot be acknowledged on channel with state (${chanStateToJSON(ch.state)})`);
    if (packet.destinationPort !== ch.counterparty.portId) {
      throw ibcError('invalidPacket', `packet destination port doesn't match the counterparty's port (${packet.destinationPort} ≠ ${ch.counterparty.portId})`);
    }
    if (packet.destinationChannel !== ch.counterparty.channelId) {
      throw ibcError('invalidPacket', `packet destination channel doesn't match the counterparty's channel (${packet.destinationChannel} ≠ ${ch.counterparty.channelId})`);
    }
    const { connectionId, clientId } = openConnectionOf(env, ch);
    return { ch, connectionId, clientId };
  }

  private checkCommitment(env: Env, packet: Packet): 'noop' | 'ok' {
    const stored = env.store.get(packetCommitmentPath(packet.sourcePort, packet.sourceChannel, packet.sequence));
    if (!stored || stored.length === 0) return 'noop';
    if (!sameBytes(stored, commitPacket(packet))) throw ibcError('invalidPacket', 'commitment bytes are not equal');
    return 'ok';
  }

  acknowledgePacket(outer: TxContext, bytes: Uint8Array): Uint8Array {
    const msg = MsgAcknowledgement.decode(bytes);
    const packet = validatePacket(msg.packet);
    if (msg.proofAcked.length === 0) throw ibcError('commitmentInvalidProof', 'cannot submit an empty proof');
    if (msg.acknowledgement.length === 0) throw ibcError('invalidAcknowledgement', 'ack bytes cannot be empty');
    const cache = cacheContext(outer);
    const env = envFor(cache.ctx, this.cfg);
    const sent = this.sentPacket(env, packet);
    if (this.checkCommitment(env, packet) === 'noop') {
      return MsgAcknowledgementResponse.encode({ result: ResponseResultType.RESPONSE_RESULT_TYPE_NOOP }).finish();
    }
    try {
      verifySoloProof(
        env.store,
        sent.clientId,
        msg.proofAcked,
        packetAckPath(packet.destinationPort, packet.destinationChannel, packet.sequence),
        commitAcknowledgement(msg.acknowledgement),
      );
    } catch (e) {
      throw wrap(e, `failed packet acknowledgement verification for client (${sent.clientId})`);
    }
    env.store.delete(packetCommitmentPath(packet.sourcePort, packet.sourceChannel, packet.sequence));
    env.ctx.emit('acknowledge_packet', packetAttrs(packet, { version: this.cfg.ibcVersion, ordering: orderToJSON(sent.ch.ordering), connectionId: sent.connectionId }));
    env.ctx.emit('message', [['module', 'ibc_channel']]);
    cache.commit();
    route(this.router, packet.sourcePort).onAcknowledgementPacket(outer, packet, msg.acknowledgement, msg.signer);
    return MsgAcknowledgementResponse.encode({ result: ResponseResultType.RESPONSE_RESULT_TYPE_SUCCESS }).finish();
  }

  timeoutPacket(outer: TxContext, bytes: Uint8Array): Uint8Array {
    const msg = MsgTimeout.decode(bytes);
    const packet = validatePacket(msg.packet);
    if (msg.proofUnreceived.length === 0) throw ibcError('commitmentInvalidProof', 'cannot submit an empty proof');
    if (msg.nextSequenceRecv === 0n) throw ibcError('invalidSequence', 'next sequence receive cannot be 0');
    const cache = cacheContext(outer);
    const env = envFor(cache.ctx, this.cfg);
    const sent = this.sentPacket(env, packet);
    // The counterparty's time is the solo machine consensus timestamp, read before verifying.
    const proofHeight = msg.proofHeight;
    const proofTs = soloTimestamp(env.store, sent.clientId);
    if (!elapsed(packet, proofHeight, proofTs)) {
      throw ibcError('timeoutNotReached', `proof height ${heightString(proofHeight)} and proof timestamp ${proofTs} have not reached the packet timeout: packet timeout not reached`);
    }
    if (this.checkCommitment(env, packet) === 'noop') {
      return MsgTimeoutResponse.encode({ result: ResponseResultType.RESPONSE_RESULT_TYPE_NOOP }).finish();
    }
    if (sent.ch.ordering !== Order.ORDER_UNORDERED) throw ibcError('invalidChannelOrdering', 'the model only supports UNORDERED channels');
    try {
      verifySoloProof(env.store, sent.clientId, msg.proofUnreceived, packetReceiptPath(packet.destinationPort, packet.destinationChannel, packet.sequence), undefined);
    } catch (e) {
      throw wrap(e, `failed packet receipt absence verification for client (${sent.clientId})`);
    }
    cache.commit();
    route(this.router, packet.sourcePort).onTimeoutPacket(outer, packet, msg.signer);
    const outerEnv = envFor(outer, this.cfg);
    outerEnv.store.delete(packetCommitmentPath(packet.sourcePort, packet.sourceChannel, packet.sequence));
    outer.emit('timeout_packet', packetAttrs(packet, { version: this.cfg.ibcVersion, ordering: orderToJSON(sent.ch.ordering), connectionId: sent.connectionId, timeout: true }));
    outer.emit('message', [['module', 'ibc_channel']]);
    return MsgTimeoutResponse.encode({ result: ResponseResultType.RESPONSE_RESULT_TYPE_SUCCESS }).finish();
  }
}
