import { Any } from 'cosmjs-types/google/protobuf/any';
import { Channel } from 'cosmjs-types/ibc/core/channel/v1/channel';
import {
  QueryChannelRequest,
  QueryChannelResponse,
  QueryPacketAcknowledgementRequest,
  QueryPacketAcknowledgementResponse,
  QueryPacketCommitmentRequest,
  QueryPacketCommitmentResponse,
  QueryPacketReceiptRequest,
  QueryPacketReceiptResponse,
} from 'cosmjs-types/ibc/core/channel/v1/query';
import { QueryClientStateRequest, QueryClientStateResponse } from 'cosmjs-types/ibc/core/client/v1/query';
import { ConnectionEnd } from 'cosmjs-types/ibc/core/connection/v1/connection';
import { QueryConnectionRequest, QueryConnectionResponse } from 'cosmjs-types/ibc/core/connection/v1/query';
import type { QueryContext } from '../node/module.ts';
import { IBC_STORE, revisionOf } from './env.ts';
import { ibcError } from './errors.ts';
import { channelPath, clientStatePath, connectionPath, packetAckPath, packetCommitmentPath, packetReceiptPath } from './paths.ts';
import { Store } from './store.ts';

type Handler = (ctx: QueryContext, req: Uint8Array) => Uint8Array;

/**
 * The gRPC queries the adapter uses. Like a gRPC query on a real node they carry no proof;
 * proof_height is the height queried (proofs come from abci_query store/ibc/key).
 */
export function ibcQueries(): Record<string, Handler> {
  const ctxStore = (ctx: QueryContext): Store => new Store(ctx.store(IBC_STORE));
  const height = (ctx: QueryContext) => ({ revisionNumber: revisionOf(ctx.chainId), revisionHeight: ctx.height });
  const empty = new Uint8Array();
  return {
    '/ibc.core.client.v1.Query/ClientState': (ctx, req) => {
      const { clientId } = QueryClientStateRequest.decode(req);
      if (!clientId) throw ibcError('sdkInvalidRequest', 'invalid client identifier');
      const raw = ctxStore(ctx).get(clientStatePath(clientId));
      if (!raw) throw ibcError('sdkKeyNotFound', `client ${clientId} not found`);
      return QueryClientStateResponse.encode({ clientState: Any.decode(raw), proof: empty, proofHeight: height(ctx) }).finish();
    },
    '/ibc.core.connection.v1.Query/Connection': (ctx, req) => {
      const { connectionId } = QueryConnectionRequest.decode(req);
      const raw = ctxStore(ctx).get(connectionPath(connectionId));
      if (!raw) throw ibcError('sdkKeyNotFound', `connection ${connectionId} not found`);
      return QueryConnectionResponse.encode({ connection: ConnectionEnd.decode(raw), proof: empty, proofHeight: height(ctx) }).finish();
    },
    '/ibc.core.channel.v1.Query/Channel': (ctx, req) => {
      const { portId, channelId } = QueryChannelRequest.decode(req);
      const raw = ctxStore(ctx).get(channelPath(portId, channelId));
      if (!raw) throw ibcError('sdkKeyNotFound', `port-id: ${portId}, channel-id ${channelId}: channel not found`);
      return QueryChannelResponse.encode({ channel: Channel.decode(raw), proof: empty, proofHeight: height(ctx) }).finish();
    },
    '/ibc.core.channel.v1.Query/PacketCommitment': (ctx, req) => {
      const { portId, channelId, sequence } = QueryPacketCommitmentRequest.decode(req);
      if (sequence === 0n) throw ibcError('sdkInvalidRequest', 'packet sequence cannot be 0');
      const raw = ctxStore(ctx).get(packetCommitmentPath(portId, channelId, sequence));
      if (!raw || raw.length === 0) throw ibcError('sdkKeyNotFound', 'packet commitment hash not found');
      return QueryPacketCommitmentResponse.encode({ commitment: raw, proof: empty, proofHeight: height(ctx) }).finish();
    },
    '/ibc.core.channel.v1.Query/PacketAcknowledgement': (ctx, req) => {
      const { portId, channelId, sequence } = QueryPacketAcknowledgementRequest.decode(req);
      if (sequence === 0n) throw ibcError('sdkInvalidRequest', 'packet sequence cannot be 0');
      const raw = ctxStore(ctx).get(packetAckPath(portId, channelId, sequence));
      if (!raw || raw.length === 0) throw ibcError('sdkKeyNotFound', 'packet acknowledgement hash not found');
      return QueryPacketAcknowledgementResponse.encode({ acknowledgement: raw, proof: empty, proofHeight: height(ctx) }).finish();
    },
    '/ibc.core.channel.v1.Query/PacketReceipt': (ctx, req) => {
      const { portId, channelId, sequence } = QueryPacketReceiptRequest.decode(req);
      if (sequence === 0n) throw ibcError('sdkInvalidRequest', 'packet sequence cannot be 0');
      const received = ctxStore(ctx).get(packetReceiptPath(portId, channelId, sequence)) !== undefined;
      return QueryPacketReceiptResponse.encode({ received, proof: empty, proofHeight: height(ctx) }).finish();
    },
  };
}
