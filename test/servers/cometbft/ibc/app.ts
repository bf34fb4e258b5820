import type { Order, Packet } from 'cosmjs-types/ibc/core/channel/v1/channel';
import type { TxContext } from '../node/module.ts';

/**
 * The IBC application callbacks (ibc-go porttypes.IBCModule) a port's owner implements; the model
 * routes a port id to one of these as ibc-go's router does. Throwing ModuleError refuses the step.
 */
export interface IbcApp {
  onChanOpenInit(ctx: TxContext, a: { portId: string; channelId: string; order: Order; connectionId: string; counterpartyPortId: string; version: string }): string;
  onChanOpenAck(ctx: TxContext, a: { portId: string; channelId: string; counterpartyChannelId: string; counterpartyVersion: string }): void;
  /** returns the acknowledgement bytes (written synchronously) */
  onRecvPacket(ctx: TxContext, packet: Packet, relayer: string): Uint8Array;
  onAcknowledgementPacket(ctx: TxContext, packet: Packet, acknowledgement: Uint8Array, relayer: string): void;
  onTimeoutPacket(ctx: TxContext, packet: Packet, relayer: string): void;
}

/** What an application may call on the core (ibc-go ICS4Wrapper.SendPacket). */
export interface PacketSender {
  sendPacket(
    ctx: TxContext,
    a: { sourcePort: string; sourceChannel: string; timeoutHeight: { revisionNumber: bigint; revisionHeight: bigint }; timeoutTimestamp: bigint; data: Uint8Array },
  ): bigint;
}
