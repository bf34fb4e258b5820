import type { Packet } from 'cosmjs-types/ibc/core/channel/v1/channel';
import type { Height } from 'cosmjs-types/ibc/core/client/v1/client';

export type Attrs = [string, string][];

export const heightString = (h: Height | undefined): string => `${h?.revisionNumber ?? 0n}-${h?.revisionHeight ?? 0n}`;
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/**
 * Packet event attributes in ibc-go's order. v8 still emits the deprecated string forms
 * (packet_data, packet_ack) before the hex ones; v9 emits only the hex ones. timeout_packet
 * carries connection_id then the ordering, without the deprecated packet_connection.
 */
export function packetAttrs(
  p: Packet,
  opts: { version: 'v8' | 'v9'; ordering: string; connectionId: string; data?: boolean; ack?: Uint8Array; timeout?: boolean },
): Attrs {
  const v8 = opts.version === 'v8';
  const attrs: Attrs = [];
  if (opts.data) {
    if (v8) attrs.push(['packet_data', Buffer.from(p.data).toString('utf8')]);
    attrs.push(['packet_data_hex', hex(p.data)]);
  }
  attrs.push(
    ['packet_timeout_height', heightString(p.timeoutHeight)],
    ['packet_timeout_timestamp', p.timeoutTimestamp.toString()],
    ['packet_sequence', p.sequence.toString()],
    ['packet_src_port', p.sourcePort],
    ['packet_src_channel', p.sourceChannel],
    ['packet_dst_port', p.destinationPort],
    ['packet_dst_channel', p.destinationChannel],
  );
  if (opts.ack) {
    if (v8) attrs.push(['packet_ack', Buffer.from(opts.ack).toString('utf8')]);
    attrs.push(['packet_ack_hex', hex(opts.ack)]);
  }
  if (opts.timeout) {
    attrs.push(['connection_id', opts.connectionId], ['packet_channel_ordering', opts.ordering]);
    return attrs;
  }
  attrs.push(['packet_channel_ordering', opts.ordering], ['packet_connection', opts.connectionId], ['connection_id', opts.connectionId]);
  return attrs;
}
