/** ICS-24 host paths, as ibc-go's 24-host package spells them (they are the raw IBC store keys). */

export const clientStatePath = (clientId: string): string => `clients/${clientId}/clientState`;
export const consensusStatePath = (clientId: string, revision: bigint, height: bigint): string =>
  `clients/${clientId}/consensusStates/${revision}-${height}`;
export const clientConnectionsPath = (clientId: string): string => `clients/${clientId}/connections`;
export const connectionPath = (connectionId: string): string => `connections/${connectionId}`;
export const channelPath = (port: string, channel: string): string => `channelEnds/ports/${port}/channels/${channel}`;
export const nextSequenceSendPath = (port: string, channel: string): string => `nextSequenceSend/ports/${port}/channels/${channel}`;
export const nextSequenceRecvPath = (port: string, channel: string): string => `nextSequenceRecv/ports/${port}/channels/${channel}`;
export const nextSequenceAckPath = (port: string, channel: string): string => `nextSequenceAck/ports/${port}/channels/${channel}`;
export const packetCommitmentPath = (port: string, channel: string, seq: bigint): string =>
  `commitments/ports/${port}/channels/${channel}/sequences/${seq}`;
export const packetReceiptPath = (port: string, channel: string, seq: bigint): string =>
  `receipts/ports/${port}/channels/${channel}/sequences/${seq}`;
export const packetAckPath = (port: string, channel: string, seq: bigint): string =>
  `acks/ports/${port}/channels/${channel}/sequences/${seq}`;

export const NEXT_CLIENT_SEQUENCE = 'nextClientSequence';
export const NEXT_CONNECTION_SEQUENCE = 'nextConnectionSequence';
export const NEXT_CHANNEL_SEQUENCE = 'nextChannelSequence';

/** The solo machine header sign-bytes path (ibc-go SentinelHeaderPath). */
export const SENTINEL_HEADER_PATH = 'solomachine:header';
