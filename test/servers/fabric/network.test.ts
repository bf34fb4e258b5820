/**
 * Drives the model Fabric network with fabric-network 2.2 itself (Gateway,
 * in-memory wallet, discovery off) and checks what it produces with an
 * independent decoder: fabric-protos for structure, node:crypto for hashes
 * and every signature.
 */
import { X509Certificate, createHash, createPublicKey, verify } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Gateway, Wallets, type Contract, type Network, type BlockEvent } from 'fabric-network';
import { Contract as FabricContract, type Context } from 'fabric-contract-api';
import { common, msp, orderer, peer as pb } from '@hyperledger/fabric-protos';
import * as grpc from '@grpc/grpc-js';
import { until } from '../../helpers/services.ts';
import { contractChaincode, startFabricTestNetwork, type Chaincode, type FabricIdentity, type FabricTestNetwork } from './index.ts';
import { createOrgCrypto } from './ca.ts';
import { buildProposal, buildTransaction } from './client.ts';

/** A tiny chaincode: a key/value store with a counter that reads before it writes. */
class KvContract extends FabricContract {
  constructor() {
    super('kv');
  }
  async put(ctx: Context, key: string, value: string): Promise<string> {
    await ctx.stub.putState(key, Buffer.from(value));
    ctx.stub.setEvent('Put', Buffer.from(JSON.stringify({ key, value })));
    return `stored ${key}`;
  }
  async get(ctx: Context, key: string): Promise<string> {
    return Buffer.from(await ctx.stub.getState(key)).toString('utf8');
  }
  async incr(ctx: Context, key: string): Promise<number> {
    const n = Number(Buffer.from(await ctx.stub.getState(key)).toString('utf8') || '0') + 1;
    await ctx.stub.putState(key, Buffer.from(String(n)));
    return n;
  }
  async whoami(ctx: Context): Promise<string> {
    return ctx.clientIdentity.getMSPID();
  }
  async boom(): Promise<void> {
    throw new Error('boom requested');
  }
}

// ------------------------------------------------------------ independent checks

function der(tag: number, body: Buffer): Buffer {
  const len = body.length < 128 ? Buffer.from([body.length]) : Buffer.from([0x81 + (body.length > 255 ? 1 : 0), ...(body.length > 255 ? [body.length >> 8] : []), body.length & 0xff]);
  return Buffer.concat([Buffer.from([tag]), len, body]);
}
/** Fabric's protoutil.BlockHeaderBytes: ASN.1 DER SEQUENCE { INTEGER number, OCTET STRING previous_hash, OCTET STRING data_hash }. */
function headerBytesOf(b: common.Block): Buffer {
  const h = b.getHeader()!;
  let n = BigInt(h.getNumber());
  const bytes: number[] = [];
  do {
    bytes.unshift(Number(n & 0xffn));
    n >>= 8n;
  } while (n > 0n);
  if (bytes[0]! >= 0x80) bytes.unshift(0);
  return der(0x30, Buffer.concat([der(0x02, Buffer.from(bytes)), der(0x04, Buffer.from(h.getPreviousHash_asU8())), der(0x04, Buffer.from(h.getDataHash_asU8()))]));
}
function headerHashOf(b: common.Block): Buffer {
  return createHash('sha256').update(headerBytesOf(b)).digest();
}
function creatorCert(serialized: Uint8Array): { mspId: string; cert: X509Certificate } {
  const sid = msp.SerializedIdentity.deserializeBinary(serialized);
  return { mspId: sid.getMspid(), cert: new X509Certificate(Buffer.from(sid.getIdBytes_asU8()).toString('utf8')) };
}
function signedBy(serialized: Uint8Array, data: Uint8Array, sig: Uint8Array, caPem: string): boolean {
  const { cert } = creatorCert(serialized);
  const ca = new X509Certificate(caPem);
  return cert.checkIssued(ca) && cert.verify(ca.publicKey) && verify('sha256', data, createPublicKey(cert.toString()), sig);
}
/** Checks the chain, data hashes and orderer signatures; returns the blocks whose signature is bad. */
function checkChain(blocks: Uint8Array[], ordererCa: string): { decoded: common.Block[]; badSignatures: number[] } {
  const decoded = blocks.map((b) => common.Block.deserializeBinary(b));
  const badSignatures: number[] = [];
  decoded.forEach((b, i) => {
    const h = b.getHeader()!;
    expect(h.getNumber()).toBe(i);
    if (i > 0) expect(Buffer.from(h.getPreviousHash_asU8()).equals(headerHashOf(decoded[i - 1]!))).toBe(true);
    const dh = createHash('sha256');
    for (const d of b.getData()!.getDataList_asU8()) dh.update(d);
    expect(Buffer.from(h.getDataHash_asU8()).equals(dh.digest())).toBe(true);
    const sigMeta = common.Metadata.deserializeBinary(b.getMetadata()!.getMetadataList_asU8()[0]!);
    const ms = sigMeta.getSignaturesList();
    expect(ms.length).toBe(1);
    const sh = common.SignatureHeader.deserializeBinary(ms[0]!.getSignatureHeader_asU8());
    expect(creatorCert(sh.getCreator_asU8()).mspId).toBe('OrdererMSP');
    // Signed bytes: metadata value || signature header || ASN.1 header (not its hash).
    const ok = signedBy(sh.getCreator_asU8(), Buffer.concat([sigMeta.getValue_asU8(), ms[0]!.getSignatureHeader_asU8(), headerBytesOf(b)]), ms[0]!.getSignature_asU8(), ordererCa);
    if (!ok) badSignatures.push(i);
  });
  return { decoded, badSignatures };
}
function txIdsOf(b: common.Block): string[] {
  return b.getData()!.getDataList_asU8().map((e) => {
    const p = common.Payload.deserializeBinary(common.Envelope.deserializeBinary(e).getPayload_asU8());
    return common.ChannelHeader.deserializeBinary(p.getHeader()!.getChannelHeader_asU8()).getTxId();
  });
}
function codeOf(blocks: common.Block[], txId: string): number | undefined {
  for (const b of blocks) {
    const i = txIdsOf(b).indexOf(txId);
    if (i >= 0) return b.getMetadata()!.getMetadataList_asU8()[2]![i];
  }
  return undefined;
}

// ------------------------------------------------------------ fabric-common helpers (signed qscc answers, split endorse/commit)

/* eslint-disable @typescript-eslint/no-explicit-any */
async function endorse(gateway: Gateway, network: Network, chaincode: string, fcn: string, args: string[]): Promise<any> {
  const channel = network.getChannel() as any;
  const idx = (gateway as any).identityContext;
  const e = channel.newEndorsement(chaincode);
  e.build(idx, { fcn, args });
  e.sign(idx);
  const res = await e.send({ targets: channel.getEndorsers(), requestTimeout: 30_000 });
  return { endorsement: e, res, txId: e.getTransactionId() as string };
}
async function commit(gateway: Gateway, network: Network, endorsement: any): Promise<string> {
  const channel = network.getChannel() as any;
  const c = endorsement.newCommit();
  c.build((gateway as any).identityContext);
  c.sign((gateway as any).identityContext);
  const r = await c.send({ targets: channel.getCommitters(), requestTimeout: 30_000 });
  return r.status as string;
}
/* eslint-enable @typescript-eslint/no-explicit-any */

describe('Fabric model network driven by fabric-network 2.2', () => {
  let net: FabricTestNetwork;
  let gateway: Gateway;
  let network: Network;
  let contract: Contract;

  beforeAll(async () => {
    net = await startFabricTestNetwork({ chaincodes: { mycc: contractChaincode(new KvContract()) } });
    const wallet = await Wallets.newInMemoryWallet();
    await wallet.put('user1', net.identity('Org1MSP'));
    gateway = new Gateway();
    await gateway.connect(net.connectionProfile('Org1MSP'), { wallet, identity: 'user1', discovery: { enabled: false, asLocalhost: true } });
    network = await gateway.getNetwork(net.channel);
    contract = network.getContract('mycc');
  });
  afterAll(async () => {
    gateway?.disconnect();
    await net?.stop();
  });

  it('exposes the chain id, config block and identities', () => {
    expect(net.chainId).toBe('fabric:qiaonet_payments');
    const genesis = common.Block.deserializeBinary(net.configBlock());
    const env = common.Envelope.deserializeBinary(genesis.getData()!.getDataList_asU8()[0]!);
    const payload = common.Payload.deserializeBinary(env.getPayload_asU8());
    expect(common.ChannelHeader.deserializeBinary(payload.getHeader()!.getChannelHeader_asU8()).getType()).toBe(common.HeaderType.CONFIG);
    const cfg = common.ConfigEnvelope.deserializeBinary(payload.getData_asU8()).getConfig()!.getChannelGroup()!;
    expect([...cfg.getGroupsMap().get('Application')!.getGroupsMap().keys()].sort()).toEqual(['Org1', 'Org2']);
    const bv = cfg.getGroupsMap().get('Orderer')!.getPoliciesMap().get('BlockValidation')!.getPolicy()!;
    expect(common.ImplicitMetaPolicy.deserializeBinary(bv.getValue_asU8()).getSubPolicy()).toBe('Writers');
    const endorsement = cfg.getGroupsMap().get('Application')!.getPoliciesMap().get('Endorsement')!.getPolicy()!;
    expect(common.ImplicitMetaPolicy.deserializeBinary(endorsement.getValue_asU8()).getRule()).toBe(common.ImplicitMetaPolicy.Rule.MAJORITY);
    expect(net.identity('Org2MSP').mspId).toBe('Org2MSP');
    expect(net.identity('Org2MSP', 'admin').credentials.certificate).toContain('BEGIN CERTIFICATE');
  });

  it('submits, evaluates, listens to full blocks and re-reads the block via qscc', async () => {
    const seen: BlockEvent[] = [];
    const listener = async (e: BlockEvent): Promise<void> => {
      seen.push(e);
    };
    await network.addBlockListener(listener, { type: 'full', startBlock: 0 });

    const tx = contract.createTransaction('put');
    const out = await tx.submit('greeting', 'hello');
    const txId = tx.getTransactionId();
    expect(out.toString()).toBe('stored greeting');
    expect((await contract.evaluateTransaction('get', 'greeting')).toString()).toBe('hello');
    expect((await contract.evaluateTransaction('whoami')).toString()).toBe('Org1MSP');

    const withTx = await until(async () => seen.find((e) => e.getTransactionEvents().some((t) => t.transactionId === txId)), { what: 'block with the tx', timeoutMs: 30_000 });
    network.removeBlockListener(listener);
    expect(seen[0]!.blockNumber.toNumber()).toBe(0);
    const ev = withTx.getTransactionEvents().find((t) => t.transactionId === txId)!;
    expect(ev.isValid).toBe(true);
    expect(ev.getContractEvents().map((c) => c.eventName)).toEqual(['Put']);

    const qscc = network.getContract('qscc');
    const n = withTx.blockNumber.toNumber();
    const viaQscc = await qscc.evaluateTransaction('GetBlockByNumber', net.channel, String(n));
    expect(Buffer.from(viaQscc).equals(Buffer.from(net.blocks()[n]!))).toBe(true);
    const info = common.BlockchainInfo.deserializeBinary(await qscc.evaluateTransaction('GetChainInfo', net.channel));
    expect(info.getHeight()).toBeGreaterThan(n);

    const { decoded, badSignatures } = checkChain(net.blocks(), net.orderer.caCertPem);
    expect(badSignatures).toEqual([]);
    expect(codeOf(decoded, txId)).toBe(pb.TxValidationCode.VALID);
    // Both peers committed the same chain with the same flags.
    expect(net.blocks(net.orgs[1]!.peerName).map((b) => Buffer.from(b).toString('hex'))).toEqual(net.blocks().map((b) => Buffer.from(b).toString('hex')));

    // The endorsements in the committed transaction verify and come from both organisations (MAJORITY of 2).
    const env = common.Envelope.deserializeBinary(decoded[n]!.getData()!.getDataList_asU8()[txIdsOf(decoded[n]!).indexOf(txId)]!);
    const payload = common.Payload.deserializeBinary(env.getPayload_asU8());
    const sh = common.SignatureHeader.deserializeBinary(payload.getHeader()!.getSignatureHeader_asU8());
    expect(signedBy(sh.getCreator_asU8(), env.getPayload_asU8(), env.getSignature_asU8(), net.orgs[0]!.caCertPem)).toBe(true);
    const cap = pb.ChaincodeActionPayload.deserializeBinary(pb.Transaction.deserializeBinary(payload.getData_asU8()).getActionsList()[0]!.getPayload_asU8());
    const prp = cap.getAction()!.getProposalResponsePayload_asU8();
    const orgs = cap.getAction()!.getEndorsementsList().map((e) => {
      const { mspId } = creatorCert(e.getEndorser_asU8());
      const ca = net.orgs.find((o) => o.mspId === mspId)!.caCertPem;
      expect(signedBy(e.getEndorser_asU8(), Buffer.concat([prp, e.getEndorser_asU8()]), e.getSignature_asU8(), ca)).toBe(true);
      return mspId;
    });
    expect(orgs.sort()).toEqual(['Org1MSP', 'Org2MSP']);
    const action = pb.ChaincodeAction.deserializeBinary(pb.ProposalResponsePayload.deserializeBinary(prp).getExtension_asU8());
    expect(pb.ChaincodeEvent.deserializeBinary(action.getEvents_asU8()).getEventName()).toBe('Put');
  });

  it('connects a second organisation through the connect() helper', async () => {
    const { gateway: g2, network: n2 } = await net.connect('Org2MSP');
    try {
      expect((await n2.getContract('mycc').evaluateTransaction('whoami')).toString()).toBe('Org2MSP');
      expect((await n2.getContract('mycc').submitTransaction('put', 'from2', 'yes')).toString()).toBe('stored from2');
      expect((await contract.evaluateTransaction('get', 'from2')).toString()).toBe('yes');
    } finally {
      g2.disconnect();
    }
  });

  it('gives signed qscc validation answers from each organisation', async () => {
    const tx = contract.createTransaction('put');
    await tx.submit('k2', 'v2');
    const { res } = await endorse(gateway, network, 'qscc', 'GetTransactionByID', [net.channel, tx.getTransactionId()]);
    expect(res.responses).toHaveLength(2);
    const orgs: string[] = [];
    for (const r of res.responses) {
      expect(r.response.status).toBe(200);
      const endorser = new Uint8Array(r.endorsement.endorser);
      const { mspId, cert } = creatorCert(endorser);
      expect(cert.subject).toContain('OU=peer');
      const ca = net.orgs.find((o) => o.mspId === mspId)!.caCertPem;
      expect(signedBy(endorser, Buffer.concat([r.payload, endorser]), new Uint8Array(r.endorsement.signature), ca)).toBe(true);
      const action = pb.ChaincodeAction.deserializeBinary(pb.ProposalResponsePayload.deserializeBinary(new Uint8Array(r.payload)).getExtension_asU8());
      const processed = pb.ProcessedTransaction.deserializeBinary(action.getResponse()!.getPayload_asU8());
      expect(processed.getValidationcode()).toBe(pb.TxValidationCode.VALID);
      orgs.push(mspId);
    }
    expect(orgs.sort()).toEqual(['Org1MSP', 'Org2MSP']);
  });

  it('marks the second of two conflicting read-modify-writes MVCC_READ_CONFLICT', async () => {
    const a = await endorse(gateway, network, 'mycc', 'incr', ['counter']);
    const b = await endorse(gateway, network, 'mycc', 'incr', ['counter']);
    expect(await commit(gateway, network, a.endorsement)).toBe('SUCCESS');
    expect(await commit(gateway, network, b.endorsement)).toBe('SUCCESS');
    await until(async () => codeOf(net.blocks().map((x) => common.Block.deserializeBinary(x)), b.txId) !== undefined, { what: 'both committed', timeoutMs: 30_000 });
    await net.settled();
    for (const o of net.orgs) {
      const blocks = net.blocks(o.peerName).map((x) => common.Block.deserializeBinary(x));
      expect(codeOf(blocks, a.txId)).toBe(pb.TxValidationCode.VALID);
      expect(codeOf(blocks, b.txId)).toBe(pb.TxValidationCode.MVCC_READ_CONFLICT);
    }
    expect((await contract.evaluateTransaction('get', 'counter')).toString()).toBe('1');
    // fabric-network reports the conflict to the submitter too.
    const c = await endorse(gateway, network, 'mycc', 'incr', ['counter']);
    await contract.submitTransaction('incr', 'counter');
    expect(await commit(gateway, network, c.endorsement)).toBe('SUCCESS');
    await until(async () => codeOf(net.blocks().map((x) => common.Block.deserializeBinary(x)), c.txId) === pb.TxValidationCode.MVCC_READ_CONFLICT, { what: 'stale tx rejected', timeoutMs: 30_000 });
  });

  it('refuses chaincode errors at endorsement', async () => {
    await expect(contract.submitTransaction('boom')).rejects.toThrow(/boom requested/);
  });

  it('faults: forged endorsement, flipped validation answer, forged orderer signature', async () => {
    net.faults.forgeEndorsement(net.orgs[1]!.peerName);
    const tx = contract.createTransaction('put');
    await expect(tx.submit('forged', 'x')).rejects.toThrow(/ENDORSEMENT_POLICY_FAILURE/);
    net.faults.forgeEndorsement(net.orgs[1]!.peerName, false);
    const txId = tx.getTransactionId();
    await net.settled();
    const decoded = net.blocks().map((x) => common.Block.deserializeBinary(x));
    expect(codeOf(decoded, txId)).toBe(pb.TxValidationCode.ENDORSEMENT_POLICY_FAILURE);

    net.faults.flipValidation(net.orgs[0]!.peerName, txId);
    const { res } = await endorse(gateway, network, 'qscc', 'GetTransactionByID', [net.channel, txId]);
    const byOrg = Object.fromEntries(
      res.responses.map((r: { payload: Uint8Array; endorsement: { endorser: Uint8Array } }) => {
        const action = pb.ChaincodeAction.deserializeBinary(pb.ProposalResponsePayload.deserializeBinary(new Uint8Array(r.payload)).getExtension_asU8());
        return [creatorCert(new Uint8Array(r.endorsement.endorser)).mspId, pb.ProcessedTransaction.deserializeBinary(action.getResponse()!.getPayload_asU8()).getValidationcode()];
      }),
    );
    expect(byOrg).toEqual({ Org1MSP: pb.TxValidationCode.VALID, Org2MSP: pb.TxValidationCode.ENDORSEMENT_POLICY_FAILURE });
    expect(codeOf(net.blocks(net.orgs[0]!.peerName).map((x) => common.Block.deserializeBinary(x)), txId)).toBe(pb.TxValidationCode.VALID);
    const answers = await net.validationAnswers(txId, 'Org2MSP');
    const codes = answers.map((a) => {
      const r = pb.ProposalResponse.deserializeBinary(a.proposalResponse);
      const e = r.getEndorsement()!;
      const ca = net.orgs.find((o) => o.mspId === a.mspId)!.caCertPem;
      expect(signedBy(e.getEndorser_asU8(), Buffer.concat([r.getPayload_asU8(), e.getEndorser_asU8()]), e.getSignature_asU8(), ca)).toBe(true);
      const action = pb.ChaincodeAction.deserializeBinary(pb.ProposalResponsePayload.deserializeBinary(r.getPayload_asU8()).getExtension_asU8());
      return [a.mspId, pb.ProcessedTransaction.deserializeBinary(action.getResponse()!.getPayload_asU8()).getValidationcode()];
    });
    expect(Object.fromEntries(codes)).toEqual(byOrg);

    const n = net.height() - 1;
    net.faults.forgeOrdererSignature(n);
    expect(checkChain(net.blocks(), net.orderer.caCertPem).badSignatures).toEqual([n]);
    const viaQscc = await network.getContract('qscc').evaluateTransaction('GetBlockByNumber', net.channel, String(n));
    expect(checkChain([...net.blocks().slice(0, n), viaQscc], net.orderer.caCertPem).badSignatures).toEqual([n]);
  });
});

// ------------------------------------------------------------ raw gRPC, without fabric-network

function seekEnvelope(creator: FabricIdentity, channel: string, start: number, stop: number): common.Envelope {
  const pos = (n: number): orderer.SeekPosition => {
    const s = new orderer.SeekSpecified();
    s.setNumber(n);
    const p = new orderer.SeekPosition();
    p.setSpecified(s);
    return p;
  };
  const seek = new orderer.SeekInfo();
  seek.setStart(pos(start));
  seek.setStop(pos(stop));
  seek.setBehavior(orderer.SeekInfo.SeekBehavior.BLOCK_UNTIL_READY);
  const ch = new common.ChannelHeader();
  ch.setType(common.HeaderType.DELIVER_SEEK_INFO);
  ch.setChannelId(channel);
  const sh = new common.SignatureHeader();
  sh.setCreator(creator.serialized);
  sh.setNonce(Buffer.from('0123456789abcdef0123'));
  const hdr = new common.Header();
  hdr.setChannelHeader(ch.serializeBinary());
  hdr.setSignatureHeader(sh.serializeBinary());
  const payload = new common.Payload();
  payload.setHeader(hdr);
  payload.setData(seek.serializeBinary());
  const env = new common.Envelope();
  env.setPayload(payload.serializeBinary());
  env.setSignature(creator.sign(payload.serializeBinary()));
  return env;
}

async function ordererDeliver(url: string, env: common.Envelope): Promise<{ blocks: common.Block[]; status: number }> {
  const Client = grpc.makeGenericClientConstructor(orderer.AtomicBroadcastService as unknown as grpc.ServiceDefinition, 'AtomicBroadcast');
  const client = new Client(url.replace('grpc://', ''), grpc.credentials.createInsecure()) as unknown as { deliver(): grpc.ClientDuplexStream<common.Envelope, orderer.DeliverResponse>; close(): void };
  const call = client.deliver();
  const blocks: common.Block[] = [];
  try {
    return await new Promise((resolve, reject) => {
      call.on('data', (r: orderer.DeliverResponse) => {
        if (r.getTypeCase() === orderer.DeliverResponse.TypeCase.BLOCK) blocks.push(r.getBlock()!);
        else resolve({ blocks, status: r.getStatus() });
      });
      call.on('error', reject);
      call.write(env);
    });
  } finally {
    call.cancel();
    client.close();
  }
}

/** Calls the named chaincode (chaincode-to-chaincode) and records what it answered. */
const caller: Chaincode = {
  endorsementPolicy: 'ANY',
  async invoke(stub, fn, args) {
    if (fn !== 'relay') return { status: 500, message: `no ${fn}` };
    const r = await stub.invokeChaincode(args[0]!, args.slice(1), stub.getChannelID());
    await stub.putState('last', Buffer.from(`${r.status}:${r.message ?? ''}`));
    return { status: 200, payload: r.payload ?? new Uint8Array(0) };
  },
};

describe('Fabric model network over raw gRPC', () => {
  let net: FabricTestNetwork;
  beforeAll(async () => {
    net = await startFabricTestNetwork({ orgs: 3, channel: 'other', chaincodes: { mycc: contractChaincode(new KvContract()), caller } });
  });
  afterAll(async () => {
    await net?.stop();
  });

  async function send(creator: FabricIdentity, chaincode: string, args: string[]): Promise<{ txId: string; responses: pb.ProposalResponse[] }> {
    const p = buildProposal(creator, net.channel, chaincode, args);
    const responses = await Promise.all(net.peers.map((x) => x.processProposal(p.signed)));
    return { txId: p.txId, responses };
  }

  it('commits chaincode definitions in block 1 and serves blocks from the orderer Deliver service', async () => {
    const client = net.orgs[0]!.crypto.client;
    const { blocks, status } = await ordererDeliver(net.orderer.url, seekEnvelope(client, net.channel, 0, 1));
    expect(status).toBe(common.Status.SUCCESS);
    expect(blocks.map((b) => b.getHeader()!.getNumber())).toEqual([0, 1]);
    expect(Buffer.from(blocks[0]!.serializeBinary()).equals(Buffer.from(net.configBlock()))).toBe(true);
    expect(checkChain(blocks.map((b) => b.serializeBinary()), net.orderer.caCertPem).badSignatures).toEqual([]);
    const ns = txIdsOf(blocks[1]!).length;
    expect(ns).toBe(2);
    const wrongChannel = await ordererDeliver(net.orderer.url, seekEnvelope(client, 'nope', 0, 0));
    expect(wrongChannel).toEqual({ blocks: [], status: common.Status.NOT_FOUND });
    const forged = { ...client, sign: net.orgs[1]!.crypto.client.sign };
    expect((await ordererDeliver(net.orderer.url, seekEnvelope(forged, net.channel, 0, 0))).status).toBe(common.Status.FORBIDDEN);
  });

  it('refuses proposals with a bad signature, an unknown chaincode, or a foreign certificate', async () => {
    const client = net.orgs[0]!.crypto.client;
    const forged = { ...client, sign: net.orgs[1]!.crypto.client.sign };
    for (const r of (await send(forged, 'mycc', ['put', 'a', 'b'])).responses) expect(r.getResponse()!.getStatus()).toBe(500);
    for (const r of (await send(client, 'nocc', ['put', 'a', 'b'])).responses) expect(r.getResponse()!.getMessage()).toMatch(/definition for 'nocc' not found/);
    const foreign = (await createOrgCrypto({ mspId: 'Org1MSP', domain: 'evil.example.com', node: 'peer' })).client;
    for (const r of (await send(foreign, 'mycc', ['put', 'a', 'b'])).responses) expect(r.getResponse()!.getStatus()).toBe(500);
    // Endorsements of another proposal: ordered (the orderer does not look inside) but invalid at commit.
    const other = buildProposal(client, net.channel, 'mycc', ['put', 'k', 'v']);
    expect(net.ordererNode.admit(buildTransaction(client, other, (await send(client, 'mycc', ['put', 'k', 'v'])).responses)).status).toBe(common.Status.SUCCESS);
    await until(async () => net.peers.every((x) => x.txs.has(other.txId)), { what: 'committed', timeoutMs: 30_000 });
    expect(codeOf(net.blocks().map((x) => common.Block.deserializeBinary(x)), other.txId)).toBe(pb.TxValidationCode.BAD_RESPONSE_PAYLOAD);
    // Broadcast refuses envelopes whose creator signature does not verify.
    expect(net.ordererNode.admit(buildTransaction(forged, other, (await send(client, 'mycc', ['put', 'k', 'v'])).responses)).status).toBe(common.Status.FORBIDDEN);
  });

  it('runs chaincode-to-chaincode calls in the callee namespace, under each namespace policy', async () => {
    const client = net.orgs[1]!.crypto.client;
    // ANY for `caller`, but the write lands in `mycc` too (MAJORITY of 3 = 2): one endorsement is not enough.
    const single = buildProposal(client, net.channel, 'caller', ['relay', 'mycc', 'put', 'via2', 'caller']);
    const singleResp = [await net.peers[0]!.processProposal(single.signed)];
    expect(net.ordererNode.admit(buildTransaction(client, single, singleResp)).status).toBe(common.Status.SUCCESS);
    const p = buildProposal(client, net.channel, 'caller', ['relay', 'mycc', 'put', 'via', 'caller']);
    const responses = await Promise.all(net.peers.map((x) => x.processProposal(p.signed)));
    expect(net.ordererNode.admit(buildTransaction(client, p, responses)).status).toBe(common.Status.SUCCESS);
    await until(async () => net.peers.every((x) => x.txs.has(p.txId) && x.txs.has(single.txId)), { what: 'committed', timeoutMs: 30_000 });
    const blocks = net.blocks().map((x) => common.Block.deserializeBinary(x));
    expect(codeOf(blocks, single.txId)).toBe(pb.TxValidationCode.ENDORSEMENT_POLICY_FAILURE);
    expect(codeOf(blocks, p.txId)).toBe(pb.TxValidationCode.VALID);
    expect(Buffer.from(net.peers[2]!.state.get('mycc')!.get('via')!.value).toString()).toBe('caller');
    expect(Buffer.from(net.peers[2]!.state.get('caller')!.get('last')!.value).toString()).toBe('200:');
    // The callee's event is dropped (Fabric keeps the top-level chaincode's event only).
    const action = pb.ChaincodeAction.deserializeBinary(pb.ProposalResponsePayload.deserializeBinary(responses[0]!.getPayload_asU8()).getExtension_asU8());
    expect(action.getEvents_asU8().length).toBe(0);
  });
});
