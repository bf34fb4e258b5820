/**
 * One peer: Endorser (simulate + endorse), Deliver (full / filtered / with
 * private data), committer (validate each block from the orderer: creator
 * signature, txid, duplicates, endorsement policy, MVCC) and qscc.
 */
import * as grpc from '@grpc/grpc-js';
import { common, ledger, msp, peer as pb } from '@hyperledger/fabric-protos';
import type { Logger } from 'pino';
import type { FabricIdentity, OrgCrypto } from './ca.ts';
import { cloneBlock, sha256, setTxFilter, txFilter, type StatusCode } from './block.ts';
import { serveDeliver } from './deliver.ts';
import type { ChannelMsps, ValidIdentity } from './identity.ts';
import { BlockStore } from './ledger.ts';
import { LIFECYCLE, lifecycleInvoke, sequenceKey } from './lifecycle.ts';
import { runChaincode, type Chaincode, type ChaincodeResponse, type NsRw, type TxContext, type Version, type WorldState } from './stub.ts';

const V = pb.TxValidationCode;
const CC_VERSION = '1.0';

export interface PeerFaults {
  /** txId → code this peer reports (qscc and served blocks) instead of what it committed. */
  flipped: Map<string, number>;
  /** Sign endorsements with this key instead of the peer's own. */
  endorseWith: FabricIdentity | null;
  /** Block number → forged block bytes served instead of the real one. */
  forgedBlocks: Map<number, common.Block>;
}

interface TxRecord {
  blockNum: number;
  txNum: number;
  code: number;
  envelope: Uint8Array;
}

export interface PeerOptions {
  name: string;
  org: OrgCrypto;
  channel: string;
  msps: ChannelMsps;
  appOrgs: string[];
  chaincodes: Record<string, Chaincode>;
  log: Logger;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return Buffer.concat(parts);
}

function cmpKey(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function requiredOrgs(rule: Chaincode['endorsementPolicy'], n: number): number {
  return rule === 'ANY' ? 1 : rule === 'ALL' ? n : Math.floor(n / 2) + 1;
}

function txRwSet(rw: Map<string, NsRw>): Uint8Array {
  const set = new ledger.rwset.TxReadWriteSet();
  set.setDataModel(ledger.rwset.TxReadWriteSet.DataModel.KV);
  const nss = [...rw.entries()].sort(([a], [b]) => cmpKey(a, b));
  set.setNsRwsetList(
    nss.map(([ns, r]) => {
      const kv = new ledger.rwset.kvrwset.KVRWSet();
      kv.setReadsList(
        [...r.reads.entries()].sort(([a], [b]) => cmpKey(a, b)).map(([key, ver]) => {
          const read = new ledger.rwset.kvrwset.KVRead();
          read.setKey(key);
          if (ver) {
            const v = new ledger.rwset.kvrwset.Version();
            v.setBlockNum(ver.blockNum);
            v.setTxNum(ver.txNum);
            read.setVersion(v);
          }
          return read;
        }),
      );
      kv.setWritesList(
        [...r.writes.entries()].sort(([a], [b]) => cmpKey(a, b)).map(([key, value]) => {
          const w = new ledger.rwset.kvrwset.KVWrite();
          w.setKey(key);
          w.setIsDelete(value === null);
          if (value) w.setValue(value);
          return w;
        }),
      );
      const n = new ledger.rwset.NsReadWriteSet();
      n.setNamespace(ns);
      n.setRwset(kv.serializeBinary());
      return n;
    }),
  );
  return set.serializeBinary();
}

function errorResponse(status: number, message: string): pb.ProposalResponse {
  const r = new pb.Response();
  r.setStatus(status);
  r.setMessage(message);
  const pr = new pb.ProposalResponse();
  pr.setVersion(1);
  pr.setResponse(r);
  return pr;
}

export class Peer {
  readonly name: string;
  readonly mspId: string;
  readonly identity: FabricIdentity;
  readonly store = new BlockStore();
  readonly state: WorldState = new Map();
  readonly txs = new Map<string, TxRecord>();
  readonly faults: PeerFaults = { flipped: new Map(), endorseWith: null, forgedBlocks: new Map() };
  private server: grpc.Server | null = null;
  port = 0;
  private commitChain: Promise<void> = Promise.resolve();

  constructor(private readonly opts: PeerOptions) {
    this.name = opts.name;
    this.mspId = opts.org.mspId;
    this.identity = opts.org.peer!;
  }

  // ---------------------------------------------------------------- endorser

  async processProposal(sp: pb.SignedProposal): Promise<pb.ProposalResponse> {
    const { msps, channel, log } = this.opts;
    let prop: pb.Proposal, ch: common.ChannelHeader, sh: common.SignatureHeader, chBytes: Uint8Array, shBytes: Uint8Array;
    let cpp: pb.ChaincodeProposalPayload, spec: pb.ChaincodeSpec;
    try {
      prop = pb.Proposal.deserializeBinary(sp.getProposalBytes_asU8());
      const hdr = common.Header.deserializeBinary(prop.getHeader_asU8());
      chBytes = hdr.getChannelHeader_asU8();
      shBytes = hdr.getSignatureHeader_asU8();
      ch = common.ChannelHeader.deserializeBinary(chBytes);
      sh = common.SignatureHeader.deserializeBinary(shBytes);
      cpp = pb.ChaincodeProposalPayload.deserializeBinary(prop.getPayload_asU8());
      spec = pb.ChaincodeInvocationSpec.deserializeBinary(cpp.getInput_asU8()).getChaincodeSpec()!;
    } catch (e) {
      return errorResponse(500, `error unmarshalling proposal: ${(e as Error).message}`);
    }
    if (ch.getType() !== common.HeaderType.ENDORSER_TRANSACTION) return errorResponse(500, `invalid header type ${ch.getType()}`);
    if (ch.getChannelId() !== channel) return errorResponse(500, `channel '${ch.getChannelId()}' not found`);
    const creator = msps.verified(sh.getCreator_asU8(), sp.getProposalBytes_asU8(), sp.getSignature_asU8());
    if (!creator) return errorResponse(500, 'access denied: creator certificate or signature invalid');
    const txId = Buffer.from(sha256(sh.getNonce_asU8(), sh.getCreator_asU8())).toString('hex');
    if (txId !== ch.getTxId()) return errorResponse(500, `invalid txID. It must be ${txId}`);
    if (this.txs.has(txId)) return errorResponse(500, `duplicate transaction found [${txId}]. Creator [${creator.mspId}]`);

    const name = spec.getChaincodeId()?.getName() ?? '';
    const rawArgs = spec.getInput()?.getArgsList_asU8() ?? [];
    const args = rawArgs.map((a) => Buffer.from(a).toString('utf8'));
    const ts = ch.getTimestamp();
    const ctx: TxContext = {
      txId,
      channel,
      creator: { mspid: creator.mspId, idBytes: msp.SerializedIdentity.deserializeBinary(sh.getCreator_asU8()).getIdBytes_asU8() },
      timestamp: { seconds: ts ? ts.getSeconds() : 0, nanos: ts ? ts.getNanos() : 0 },
      // The decoded shape fabric-shim 2.5's ChaincodeStub.getSignedProposal() gives.
      signedProposal: {
        signature: sp.getSignature_asU8(),
        proposal: {
          header: { signatureHeader: { nonce: sh.getNonce_asU8(), creator_u8: sh.getCreator_asU8(), creator: msp.SerializedIdentity.deserializeBinary(sh.getCreator_asU8()) }, channelHeader: ch },
          payload: cpp,
        },
      },
      transient: new Map((cpp.getTransientmapMap().toArray() as Array<[string, Uint8Array | string]>).map(([k, v]) => [k, typeof v === 'string' ? Buffer.from(v, 'base64') : v])),
      state: this.state,
      chaincodes: this.opts.chaincodes,
      rw: new Map(),
      event: null,
      peerMspId: this.mspId,
      creatorIdentity: creator,
    };
    let res: ChaincodeResponse;
    if (name === 'qscc') {
      res = this.qscc(args[0] ?? '', args.slice(1), creator);
    } else if (name === LIFECYCLE) {
      const lc: Chaincode = { invoke: (stub, fn) => lifecycleInvoke(stub, fn, rawArgs[1], creator.role) };
      res = await runChaincode(ctx, LIFECYCLE, lc, args[0] ?? '', []);
    } else {
      const cc = this.opts.chaincodes[name];
      const defined = this.state.get(LIFECYCLE)?.get(sequenceKey(name));
      if (!cc || !defined) return errorResponse(500, `make sure the chaincode ${name} has been successfully defined on channel ${channel} and try again: chaincode definition for '${name}' not found`);
      res = await runChaincode(ctx, name, cc, args[0] ?? '', args.slice(1));
      // As Fabric 2.x, every invocation reads the chaincode's definition sequence (an upgrade in between is an MVCC conflict).
      if (!ctx.rw.has(LIFECYCLE)) ctx.rw.set(LIFECYCLE, { reads: new Map(), writes: new Map() });
      ctx.rw.get(LIFECYCLE)!.reads.set(sequenceKey(name), defined.version);
    }
    if (res.status >= 400) {
      log.debug({ peer: this.name, txId, chaincode: name, status: res.status }, 'chaincode returned an error');
      return errorResponse(res.status, res.message ?? '');
    }

    const response = new pb.Response();
    response.setStatus(res.status);
    response.setMessage(res.message ?? '');
    response.setPayload(res.payload ?? new Uint8Array(0));
    const action = new pb.ChaincodeAction();
    action.setResults(txRwSet(ctx.rw));
    if (ctx.event) {
      const ev = new pb.ChaincodeEvent();
      ev.setChaincodeId(name);
      ev.setTxId(txId);
      ev.setEventName(ctx.event.name);
      ev.setPayload(ctx.event.payload);
      action.setEvents(ev.serializeBinary());
    }
    action.setResponse(response);
    const ccid = new pb.ChaincodeID();
    ccid.setName(name);
    ccid.setVersion(name === 'qscc' ? '' : CC_VERSION);
    action.setChaincodeId(ccid);
    const noTransient = new pb.ChaincodeProposalPayload();
    noTransient.setInput(cpp.getInput_asU8());
    const prp = new pb.ProposalResponsePayload();
    prp.setProposalHash(sha256(chBytes, shBytes, noTransient.serializeBinary()));
    prp.setExtension$(action.serializeBinary());
    const prpBytes = prp.serializeBinary();
    const endorsement = new pb.Endorsement();
    endorsement.setEndorser(this.identity.serialized);
    endorsement.setSignature((this.faults.endorseWith ?? this.identity).sign(concat(prpBytes, this.identity.serialized)));
    const pr = new pb.ProposalResponse();
    pr.setVersion(1);
    pr.setResponse(response);
    pr.setPayload(prpBytes);
    pr.setEndorsement(endorsement);
    return pr;
  }

  // ---------------------------------------------------------------- qscc

  private qscc(fn: string, args: string[], creator: ValidIdentity): ChaincodeResponse {
    const { channel } = this.opts;
    if (!['admin', 'peer', 'client'].includes(creator.role ?? '')) return { status: 500, message: 'access denied for [qscc]' };
    if (args[0] !== channel) return { status: 500, message: `Invalid chain ID, ${args[0]}` };
    switch (fn) {
      case 'GetChainInfo': {
        const info = new common.BlockchainInfo();
        info.setHeight(this.store.height);
        info.setCurrentblockhash(this.store.lastHash());
        const last = this.store.last();
        if (last) info.setPreviousblockhash(last.getHeader()!.getPreviousHash_asU8());
        return { status: 200, payload: info.serializeBinary() };
      }
      case 'GetBlockByNumber': {
        const n = Number(args[1]);
        if (!Number.isInteger(n) || n < 0 || n >= this.store.height) return { status: 500, message: `Failed to get block number ${args[1]}, error Entry not found in index` };
        return { status: 200, payload: this.servedBlock(n).serializeBinary() };
      }
      case 'GetBlockByTxID': {
        const t = this.txs.get(args[1] ?? '');
        if (!t) return { status: 500, message: `Failed to get block for txID ${args[1]}, error entry not found in index` };
        return { status: 200, payload: this.servedBlock(t.blockNum).serializeBinary() };
      }
      case 'GetTransactionByID': {
        const t = this.txs.get(args[1] ?? '');
        if (!t) return { status: 500, message: `Failed to get transaction with id ${args[1]}, error entry not found in index` };
        const p = new pb.ProcessedTransaction();
        p.setTransactionenvelope(common.Envelope.deserializeBinary(t.envelope));
        p.setValidationcode(this.faults.flipped.get(args[1]!) ?? t.code);
        return { status: 200, payload: p.serializeBinary() };
      }
      default:
        return { status: 500, message: `Requested function ${fn} not found.` };
    }
  }

  /** The block as this peer serves it (faults applied: flipped flags, forged orderer signatures). */
  servedBlock(n: number): common.Block {
    const forged = this.faults.forgedBlocks.get(n);
    const b = cloneBlock(forged ?? this.store.get(n)!);
    if (this.faults.flipped.size === 0) return b;
    const codes = Uint8Array.from(txFilter(this.store.get(n)!));
    b.getData()!.getDataList_asU8().forEach((env, i) => {
      const id = txIdOf(env);
      const f = id ? this.faults.flipped.get(id) : undefined;
      if (f !== undefined) codes[i] = f;
    });
    setTxFilter(b, codes);
    return b;
  }

  // ---------------------------------------------------------------- committer

  /** Blocks arrive from the orderer in order (the model's stand-in for deliver client + gossip). */
  receive(block: common.Block): Promise<void> {
    this.commitChain = this.commitChain.then(() => this.commit(cloneBlock(block)));
    return this.commitChain;
  }

  private commit(block: common.Block): void {
    const num = block.getHeader()!.getNumber();
    const envs = block.getData()!.getDataList_asU8();
    const codes = new Uint8Array(envs.length);
    const pending = new Map<string, Map<string, { value: Uint8Array | null; version: Version }>>();
    const seen = new Set<string>();
    if (num === 0) {
      codes.fill(V.VALID);
    } else {
      envs.forEach((env, txNum) => {
        const r = this.validate(env, seen, pending);
        codes[txNum] = r.code;
        if (r.txId) seen.add(r.txId);
        if (r.code === V.VALID && r.writes) {
          for (const [ns, writes] of r.writes) {
            let p = pending.get(ns);
            if (!p) pending.set(ns, (p = new Map()));
            for (const [k, v] of writes) p.set(k, { value: v, version: { blockNum: num, txNum } });
          }
        }
      });
    }
    for (const [ns, writes] of pending) {
      let s = this.state.get(ns);
      if (!s) this.state.set(ns, (s = new Map()));
      for (const [k, v] of writes) {
        if (v.value === null) s.delete(k);
        else s.set(k, { value: v.value, version: v.version });
      }
    }
    setTxFilter(block, codes);
    envs.forEach((env, txNum) => {
      const id = txIdOf(env);
      if (id && !this.txs.has(id)) this.txs.set(id, { blockNum: num, txNum, code: codes[txNum]!, envelope: env });
    });
    this.store.append(block);
    this.opts.log.debug({ peer: this.name, block: num, codes: [...codes] }, 'committed block');
  }

  private validate(
    envBytes: Uint8Array,
    seen: Set<string>,
    pending: Map<string, Map<string, { value: Uint8Array | null; version: Version }>>,
  ): { code: number; txId?: string; writes?: Map<string, Map<string, Uint8Array | null>> } {
    const { msps, channel } = this.opts;
    let env: common.Envelope, ch: common.ChannelHeader, sh: common.SignatureHeader, chBytes: Uint8Array, shBytes: Uint8Array, payload: common.Payload;
    try {
      env = common.Envelope.deserializeBinary(envBytes);
      payload = common.Payload.deserializeBinary(env.getPayload_asU8());
      chBytes = payload.getHeader()!.getChannelHeader_asU8();
      shBytes = payload.getHeader()!.getSignatureHeader_asU8();
      ch = common.ChannelHeader.deserializeBinary(chBytes);
      sh = common.SignatureHeader.deserializeBinary(shBytes);
    } catch {
      return { code: V.BAD_PAYLOAD };
    }
    if (ch.getChannelId() !== channel) return { code: V.BAD_CHANNEL_HEADER };
    if (ch.getType() !== common.HeaderType.ENDORSER_TRANSACTION) return { code: V.UNKNOWN_TX_TYPE };
    if (!msps.verified(sh.getCreator_asU8(), env.getPayload_asU8(), env.getSignature_asU8())) return { code: V.BAD_CREATOR_SIGNATURE };
    const txId = ch.getTxId();
    if (Buffer.from(sha256(sh.getNonce_asU8(), sh.getCreator_asU8())).toString('hex') !== txId) return { code: V.BAD_PROPOSAL_TXID };
    if (this.txs.has(txId) || seen.has(txId)) return { code: V.DUPLICATE_TXID };
    let prpBytes: Uint8Array, action: pb.ChaincodeAction, endorsements: pb.Endorsement[];
    try {
      const actions = pb.Transaction.deserializeBinary(payload.getData_asU8()).getActionsList();
      if (actions.length !== 1) return { code: V.NIL_TXACTION, txId };
      const cap = pb.ChaincodeActionPayload.deserializeBinary(actions[0]!.getPayload_asU8());
      const ea = cap.getAction()!;
      prpBytes = ea.getProposalResponsePayload_asU8();
      endorsements = ea.getEndorsementsList();
      const prp = pb.ProposalResponsePayload.deserializeBinary(prpBytes);
      if (!Buffer.from(prp.getProposalHash_asU8()).equals(Buffer.from(sha256(chBytes, shBytes, cap.getChaincodeProposalPayload_asU8())))) {
        return { code: V.BAD_RESPONSE_PAYLOAD, txId };
      }
      action = pb.ChaincodeAction.deserializeBinary(prp.getExtension_asU8());
    } catch {
      return { code: V.BAD_PAYLOAD, txId };
    }
    const orgs = new Set<string>();
    for (const e of endorsements) {
      const id = msps.verified(e.getEndorser_asU8(), concat(prpBytes, e.getEndorser_asU8()), e.getSignature_asU8());
      if (id && id.role === 'peer') orgs.add(id.mspId);
    }
    let rw: ledger.rwset.TxReadWriteSet;
    try {
      rw = ledger.rwset.TxReadWriteSet.deserializeBinary(action.getResults_asU8());
    } catch {
      return { code: V.BAD_RWSET, txId };
    }
    const invoked = action.getChaincodeId()?.getName() ?? '';
    const writes = new Map<string, Map<string, Uint8Array | null>>();
    const reads: Array<[string, string, Version | null]> = [];
    const namespaces = new Set<string>([invoked]);
    for (const ns of rw.getNsRwsetList()) {
      const kv = ledger.rwset.kvrwset.KVRWSet.deserializeBinary(ns.getRwset_asU8());
      const name = ns.getNamespace();
      for (const r of kv.getReadsList()) {
        const v = r.getVersion();
        reads.push([name, r.getKey(), v ? { blockNum: v.getBlockNum(), txNum: v.getTxNum() } : null]);
      }
      if (kv.getWritesList().length) {
        namespaces.add(name);
        const w = new Map<string, Uint8Array | null>();
        for (const x of kv.getWritesList()) w.set(x.getKey(), x.getIsDelete() ? null : x.getValue_asU8());
        writes.set(name, w);
      }
    }
    const appOrgCount = this.opts.appOrgs.length;
    for (const ns of namespaces) {
      const cc = ns === LIFECYCLE ? { endorsementPolicy: 'MAJORITY' as const } : this.opts.chaincodes[ns];
      if (!cc) return { code: V.INVALID_CHAINCODE, txId };
      // _lifecycle writes answer to /Channel/Application/LifecycleEndorsement (MAJORITY Endorsement).
      const need = requiredOrgs(cc.endorsementPolicy, appOrgCount);
      if ([...orgs].filter((o) => this.opts.appOrgs.includes(o)).length < need) return { code: V.ENDORSEMENT_POLICY_FAILURE, txId };
    }
    for (const [ns, key, ver] of reads) {
      const p = pending.get(ns)?.get(key);
      const cur = p ? (p.value === null ? null : p.version) : (this.state.get(ns)?.get(key)?.version ?? null);
      const same = cur === null ? ver === null : ver !== null && ver.blockNum === cur.blockNum && ver.txNum === cur.txNum;
      if (!same) return { code: V.MVCC_READ_CONFLICT, txId };
    }
    return { code: V.VALID, txId, writes };
  }

  // ---------------------------------------------------------------- gRPC

  private deliverSource<R>(make: (n: number) => R, status: (s: number) => R): Parameters<typeof serveDeliver<R>>[1] {
    return { channel: this.opts.channel, store: this.store, msps: this.opts.msps, blockResponse: make, statusResponse: status, readers: ['admin', 'peer', 'client', 'orderer'] };
  }

  private status(s: number): pb.DeliverResponse {
    const r = new pb.DeliverResponse();
    r.setStatus(s as StatusCode);
    return r;
  }

  filteredBlock(n: number): pb.FilteredBlock {
    const b = this.servedBlock(n);
    const codes = txFilter(b);
    const fb = new pb.FilteredBlock();
    fb.setChannelId(this.opts.channel);
    fb.setNumber(n);
    fb.setFilteredTransactionsList(
      b.getData()!.getDataList_asU8().map((envBytes, i) => {
        const ft = new pb.FilteredTransaction();
        try {
          const payload = common.Payload.deserializeBinary(common.Envelope.deserializeBinary(envBytes).getPayload_asU8());
          const ch = common.ChannelHeader.deserializeBinary(payload.getHeader()!.getChannelHeader_asU8());
          ft.setTxid(ch.getTxId());
          ft.setType(ch.getType() as common.HeaderTypeMap[keyof common.HeaderTypeMap]);
          ft.setTxValidationCode((codes[i] ?? V.NOT_VALIDATED) as pb.TxValidationCodeMap[keyof pb.TxValidationCodeMap]);
          if (ch.getType() === common.HeaderType.ENDORSER_TRANSACTION) {
            const cap = pb.ChaincodeActionPayload.deserializeBinary(pb.Transaction.deserializeBinary(payload.getData_asU8()).getActionsList()[0]!.getPayload_asU8());
            const ca = pb.ChaincodeAction.deserializeBinary(pb.ProposalResponsePayload.deserializeBinary(cap.getAction()!.getProposalResponsePayload_asU8()).getExtension_asU8());
            const fta = new pb.FilteredTransactionActions();
            if (ca.getEvents_asU8().length) {
              // Filtered blocks carry the event without its payload.
              const ev = pb.ChaincodeEvent.deserializeBinary(ca.getEvents_asU8());
              ev.setPayload(new Uint8Array(0));
              const fca = new pb.FilteredChaincodeAction();
              fca.setChaincodeEvent(ev);
              fta.setChaincodeActionsList([fca]);
            }
            ft.setTransactionActions(fta);
          }
        } catch {
          ft.setTxValidationCode((codes[i] ?? V.NOT_VALIDATED) as pb.TxValidationCodeMap[keyof pb.TxValidationCodeMap]);
        }
        return ft;
      }),
    );
    return fb;
  }

  async start(host = '127.0.0.1'): Promise<number> {
    const server = new grpc.Server();
    server.addService(pb.EndorserService, {
      processProposal: (call: grpc.ServerUnaryCall<pb.SignedProposal, pb.ProposalResponse>, cb: grpc.sendUnaryData<pb.ProposalResponse>) => {
        this.processProposal(call.request).then(
          (r) => cb(null, r),
          (e: Error) => cb({ code: grpc.status.INTERNAL, details: e.message }),
        );
      },
    });
    const full = (n: number): pb.DeliverResponse => {
      const r = new pb.DeliverResponse();
      r.setBlock(this.servedBlock(n));
      return r;
    };
    server.addService(pb.DeliverService, {
      deliver: (call: grpc.ServerDuplexStream<common.Envelope, pb.DeliverResponse>) => serveDeliver(call, this.deliverSource(full, (s) => this.status(s))),
      deliverFiltered: (call: grpc.ServerDuplexStream<common.Envelope, pb.DeliverResponse>) =>
        serveDeliver(
          call,
          this.deliverSource(
            (n) => {
              const r = new pb.DeliverResponse();
              r.setFilteredBlock(this.filteredBlock(n));
              return r;
            },
            (s) => this.status(s),
          ),
        ),
      deliverWithPrivateData: (call: grpc.ServerDuplexStream<common.Envelope, pb.DeliverResponse>) =>
        serveDeliver(
          call,
          this.deliverSource(
            (n) => {
              const bp = new pb.BlockAndPrivateData();
              bp.setBlock(this.servedBlock(n));
              const r = new pb.DeliverResponse();
              r.setBlockAndPrivateData(bp);
              return r;
            },
            (s) => this.status(s),
          ),
        ),
    });
    this.server = server;
    this.port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`${host}:0`, grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
    );
    return this.port;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (s) s.forceShutdown();
  }
}

export function txIdOf(env: Uint8Array): string | null {
  try {
    const payload = common.Payload.deserializeBinary(common.Envelope.deserializeBinary(env).getPayload_asU8());
    return common.ChannelHeader.deserializeBinary(payload.getHeader()!.getChannelHeader_asU8()).getTxId() || null;
  } catch {
    return null;
  }
}
