/**
 * A solo-like ordering service: Broadcast admits signed envelopes from channel
 * writers, the block cutter closes a batch at `maxMessageCount` envelopes or
 * `batchTimeoutMs` after the first pending one, the orderer signs each block
 * and hands it to every peer (standing in for peers' deliver clients + gossip).
 */
import * as grpc from '@grpc/grpc-js';
import { common, orderer as ord } from '@hyperledger/fabric-protos';
import type { Logger } from 'pino';
import type { FabricIdentity } from './ca.ts';
import { newBlock, signBlock, type StatusCode } from './block.ts';
import { serveDeliver } from './deliver.ts';
import type { ChannelMsps } from './identity.ts';
import { BlockStore } from './ledger.ts';

export interface OrdererOptions {
  channel: string;
  identity: FabricIdentity;
  msps: ChannelMsps;
  maxMessageCount: number;
  batchTimeoutMs: number;
  onBlock: (b: common.Block) => Promise<void>;
  log: Logger;
}

export class Orderer {
  readonly store = new BlockStore();
  private pending: Uint8Array[] = [];
  private timer: NodeJS.Timeout | null = null;
  private server: grpc.Server | null = null;
  private cutting: Promise<void> = Promise.resolve();
  /** Forged-block fault: block number → forged copy served by Deliver. */
  readonly forgedBlocks = new Map<number, common.Block>();
  port = 0;

  constructor(private readonly opts: OrdererOptions) {}

  /** The genesis block names the orderer's address, so it is written after the server has bound its port. */
  bootstrap(genesis: common.Block): void {
    this.store.append(genesis);
  }

  /** Returns the BroadcastResponse status for one envelope. */
  admit(env: common.Envelope): { status: number; info: string } {
    const { msps, channel } = this.opts;
    try {
      const payload = common.Payload.deserializeBinary(env.getPayload_asU8());
      const ch = common.ChannelHeader.deserializeBinary(payload.getHeader()!.getChannelHeader_asU8());
      const sh = common.SignatureHeader.deserializeBinary(payload.getHeader()!.getSignatureHeader_asU8());
      if (ch.getChannelId() !== channel) return { status: common.Status.NOT_FOUND, info: `channel ${ch.getChannelId()} not found` };
      if (ch.getType() !== common.HeaderType.ENDORSER_TRANSACTION) return { status: common.Status.BAD_REQUEST, info: `unsupported header type ${ch.getType()}` };
      const who = msps.verified(sh.getCreator_asU8(), env.getPayload_asU8(), env.getSignature_asU8());
      // /Channel/Writers: peer orgs' admins and clients (orderer members write config only).
      if (!who || !['admin', 'client'].includes(who.role ?? '')) return { status: common.Status.FORBIDDEN, info: 'implicit policy evaluation failed - Writers' };
    } catch (e) {
      return { status: common.Status.BAD_REQUEST, info: `bad envelope: ${(e as Error).message}` };
    }
    this.pending.push(env.serializeBinary());
    if (this.pending.length >= this.opts.maxMessageCount) this.cut();
    else if (!this.timer) this.timer = setTimeout(() => this.cut(), this.opts.batchTimeoutMs);
    return { status: common.Status.SUCCESS, info: '' };
  }

  private cut(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    const block = newBlock(BigInt(this.store.height), this.store.lastHash(), batch);
    signBlock(block, this.opts.identity, 0n);
    this.store.append(block);
    this.opts.log.debug({ block: block.getHeader()!.getNumber(), txs: batch.length }, 'cut block');
    this.cutting = this.cutting.then(() => this.opts.onBlock(block)).catch((e: Error) => this.opts.log.error({ err: e.message }, 'peer commit failed'));
  }

  /** Resolves once every cut block has been handed to the peers. */
  settled(): Promise<void> {
    return this.cutting;
  }

  served(n: number): common.Block {
    return this.forgedBlocks.get(n) ?? this.store.get(n)!;
  }

  async start(host = '127.0.0.1'): Promise<number> {
    const server = new grpc.Server();
    server.addService(ord.AtomicBroadcastService, {
      broadcast: (call: grpc.ServerDuplexStream<common.Envelope, ord.BroadcastResponse>) => {
        call.on('data', (env: common.Envelope) => {
          const { status, info } = this.admit(env);
          const r = new ord.BroadcastResponse();
          r.setStatus(status as StatusCode);
          r.setInfo(info);
          call.write(r);
        });
        call.on('end', () => call.end());
        call.on('error', () => {});
      },
      deliver: (call: grpc.ServerDuplexStream<common.Envelope, ord.DeliverResponse>) =>
        serveDeliver(call, {
          channel: this.opts.channel,
          store: this.store,
          msps: this.opts.msps,
          readers: ['admin', 'peer', 'client', 'orderer'],
          blockResponse: (n) => {
            const r = new ord.DeliverResponse();
            r.setBlock(this.served(n));
            return r;
          },
          statusResponse: (s) => {
            const r = new ord.DeliverResponse();
            r.setStatus(s as StatusCode);
            return r;
          },
        }),
    });
    this.server = server;
    this.port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`${host}:0`, grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
    );
    return this.port;
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.server?.forceShutdown();
    this.server = null;
  }
}
