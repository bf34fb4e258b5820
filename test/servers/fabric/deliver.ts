/**
 * The Deliver protocol shared by orderer and peers: the client sends a signed
 * envelope (header type DELIVER_SEEK_INFO, data = SeekInfo); the server streams
 * blocks from start to stop and closes the range with a SUCCESS status, or
 * answers NOT_FOUND / FORBIDDEN / BAD_REQUEST as Fabric's deliver handler does.
 * An open stop (SeekSpecified max uint64) keeps the stream following new blocks.
 */
import type * as grpc from '@grpc/grpc-js';
import { common, orderer as ord } from '@hyperledger/fabric-protos';
import type { ChannelMsps } from './identity.ts';
import type { BlockStore } from './ledger.ts';

export interface DeliverSource<Resp> {
  channel: string;
  store: BlockStore;
  msps: ChannelMsps;
  /** The response carrying block n as the client asked for it (full, filtered, with private data). */
  blockResponse(n: number): Resp;
  statusResponse(status: number): Resp;
  /** Only these roles may read (Fabric: the channel's Readers policy). */
  readers: Array<string | undefined>;
}

type Position = { kind: 'newest' } | { kind: 'oldest' } | { kind: 'number'; n: number };

function position(p: ord.SeekPosition | undefined): Position | null {
  if (!p) return null;
  switch (p.getTypeCase()) {
    case ord.SeekPosition.TypeCase.NEWEST:
      return { kind: 'newest' };
    case ord.SeekPosition.TypeCase.OLDEST:
      return { kind: 'oldest' };
    case ord.SeekPosition.TypeCase.SPECIFIED:
      return { kind: 'number', n: Number(p.getSpecified()!.getNumber()) };
    default:
      return null;
  }
}

export function serveDeliver<Resp>(call: grpc.ServerDuplexStream<common.Envelope, Resp>, src: DeliverSource<Resp>): void {
  let cancel: () => void = () => {};
  let closed = false;
  const close = (): void => {
    closed = true;
    cancel();
  };
  call.on('cancelled', close);
  call.on('error', close);
  call.on('end', () => {
    close();
    call.end();
  });
  call.on('data', (env: common.Envelope) => {
    cancel();
    const reply = (status: number): void => {
      if (!closed) call.write(src.statusResponse(status));
    };
    let seek: ord.SeekInfo;
    try {
      const payload = common.Payload.deserializeBinary(env.getPayload_asU8());
      const ch = common.ChannelHeader.deserializeBinary(payload.getHeader()!.getChannelHeader_asU8());
      const sh = common.SignatureHeader.deserializeBinary(payload.getHeader()!.getSignatureHeader_asU8());
      if (ch.getType() !== common.HeaderType.DELIVER_SEEK_INFO) return reply(common.Status.BAD_REQUEST);
      if (ch.getChannelId() !== src.channel) return reply(common.Status.NOT_FOUND);
      const who = src.msps.verified(sh.getCreator_asU8(), env.getPayload_asU8(), env.getSignature_asU8());
      if (!who || !src.readers.includes(who.role)) return reply(common.Status.FORBIDDEN);
      seek = ord.SeekInfo.deserializeBinary(payload.getData_asU8());
    } catch {
      return reply(common.Status.BAD_REQUEST);
    }
    const start = position(seek.getStart());
    const stop = position(seek.getStop()) ?? { kind: 'newest' as const };
    if (!start) return reply(common.Status.BAD_REQUEST);
    const height = src.store.height;
    const first = start.kind === 'newest' ? height - 1 : start.kind === 'oldest' ? 0 : start.n;
    const last = stop.kind === 'newest' ? height - 1 : stop.kind === 'oldest' ? 0 : stop.n;
    if (first > last) return reply(common.Status.BAD_REQUEST);
    const failIfNotReady = seek.getBehavior() === ord.SeekInfo.SeekBehavior.FAIL_IF_NOT_READY;
    const step = (n: number): void => {
      if (closed) return;
      if (n > last) return reply(common.Status.SUCCESS);
      if (n >= src.store.height && failIfNotReady) return reply(common.Status.NOT_FOUND);
      cancel = src.store.waitFor(n, () => {
        if (closed) return;
        call.write(src.blockResponse(n));
        setImmediate(() => step(n + 1));
      });
    };
    step(first);
  });
}
