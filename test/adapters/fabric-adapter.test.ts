/**
 * The Fabric adapter against the model network (test/servers/fabric) with the real port and receiver
 * chaincodes: heads, messages found after a `send` through fabric-network, proofs carrying k signed
 * validation answers, delivery of an attested batch (receiver called, receipt, a second delivery answered
 * from the receipt), and refusals.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { peer as pb, common } from '@hyperledger/fabric-protos';
import { AbiCoder, SigningKey, Wallet, computeAddress, hexlify, toUtf8Bytes } from 'ethers';
import type { Gateway, Network } from 'fabric-network';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFabricAdapter, type FabricAdapter } from '../../adapters/fabric/adapter.ts';
import { QiaoPortContract } from '../../adapters/fabric/chaincode/port/contract.ts';
import { QiaoReceiverContract } from '../../adapters/fabric/chaincode/receiver/contract.ts';
import { writeFabricIdentity } from '../../adapters/fabric/identity.ts';
import type { DeliveryBatch } from '../../src/domain/adapter.ts';
import { signAttestation, ROOT_TYPE, type AttestationDomain } from '../../src/domain/attestation.ts';
import type { ChainId } from '../../src/domain/caip.ts';
import type { ChainRegistration } from '../../src/domain/chain.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { MessageTree } from '../../src/domain/merkle.ts';
import { encodeMessage, messageId, type QiaoMessage } from '../../src/domain/message.ts';
import { ConfigError } from '../../src/errors.ts';
import { silentLogger } from '../../src/logging.ts';
import { until } from '../helpers/services.ts';
import { adapterConformance } from '../conformance/adapter.ts';
import { fabricLightClientFor } from '../../relayer/light/fabric-client.ts';
import { encodeFabricTrustRoot } from '../../relayer/light/fabric-trust.ts';
import { verifyFabricTxs } from '../../relayer/verify-fabric.ts';
import { buildProgram } from '../../src/cli/main.ts';
import { readFabricIdentity } from '../../adapters/fabric/identity.ts';
import { writeFile } from 'node:fs/promises';
import { contractChaincode, startFabricTestNetwork, type FabricTestNetwork } from '../servers/fabric/index.ts';

const utf8 = (s: string): Hex => hexlify(toUtf8Bytes(s)) as Hex;
const PORT = utf8('payments/qiaoport');
const RECEIVER = utf8('qiaoreceiver');
const EVM = 'eip155:7' as ChainId;
const EVM_PORT = `0x${'11'.repeat(20)}` as Hex;
const GOV_CHAIN_ID = 4242n;

/** Fabric's block header hash, computed here independently of the adapter (ASN.1 DER of number, previous, data hash). */
function headerHash(block: Uint8Array): Hex {
  const h = common.Block.deserializeBinary(block).getHeader()!;
  const der = (tag: number, body: Buffer) => Buffer.concat([Buffer.from([tag, body.length]), body]);
  const n = h.getNumber();
  const num = n === 0 ? Buffer.from([0]) : Buffer.from(n.toString(16).padStart(2 * Math.ceil(n.toString(16).length / 2), '0'), 'hex');
  const seq = der(0x30, Buffer.concat([der(0x02, num[0]! >= 0x80 ? Buffer.concat([Buffer.from([0]), num]) : num), der(0x04, Buffer.from(h.getPreviousHash_asU8())), der(0x04, Buffer.from(h.getDataHash_asU8()))]));
  return `0x${createHash('sha256').update(seq).digest('hex')}` as Hex;
}

function validationCodeOf(response: Uint8Array): { status: number; code: number } {
  const r = pb.ProposalResponse.deserializeBinary(response);
  const action = pb.ChaincodeAction.deserializeBinary(pb.ProposalResponsePayload.deserializeBinary(r.getPayload_asU8()).getExtension_asU8());
  return { status: r.getResponse()!.getStatus(), code: pb.ProcessedTransaction.deserializeBinary(action.getResponse()!.getPayload_asU8()).getValidationcode() };
}

describe('Fabric adapter (model network, port + receiver chaincodes)', () => {
  let net: FabricTestNetwork;
  let dataDir: string;
  let reg: ChainRegistration;
  let adapter: FabricAdapter;
  let client: { gateway: Gateway; network: Network };
  const attestor = new SigningKey(Wallet.createRandom().privateKey);
  const messageLog = Wallet.createRandom().address;
  const domain: AttestationDomain = { chainId: GOV_CHAIN_ID, verifyingContract: messageLog };
  let nonce = 0n;

  function inbound(payload: string): { id: Hex; encoded: Hex; message: QiaoMessage } {
    const message: QiaoMessage = {
      version: 1,
      srcChain: EVM,
      srcPort: EVM_PORT,
      sender: `0x${'22'.repeat(20)}` as Hex,
      dstChain: net.chainId as ChainId,
      dstPort: PORT,
      receiver: RECEIVER,
      nonce: ++nonce,
      gasLimit: 100_000n,
      timeoutHeight: 0n,
      timeoutUnixSeconds: 0n,
      payload: utf8(payload),
    };
    const encoded = encodeMessage(message);
    return { id: messageId(encoded), encoded, message };
  }

  function batchOf(msgs: { id: Hex; encoded: Hex }[], { batchNo = 1n, signer = attestor, others = [] as Hex[] } = {}): DeliveryBatch {
    const tree = MessageTree.of([...msgs.map((m) => m.id), ...others]);
    return {
      rootType: 1,
      setId: 1n,
      batchNo,
      root: tree.root,
      signatures: [signAttestation(signer, domain, { rootType: ROOT_TYPE.messages, setId: 1n, batchNo, root: tree.root })],
      items: msgs.map((m) => ({ id: m.id, encoded: m.encoded, proof: tree.proof(m.id) })),
    };
  }

  const receiverCount = async () => Number(Buffer.from(await client.network.getContract('qiaoreceiver').evaluateTransaction('count')).toString());

  beforeAll(async () => {
    net = await startFabricTestNetwork({
      chaincodes: { qiaoport: contractChaincode(new QiaoPortContract()), qiaoreceiver: contractChaincode(new QiaoReceiverContract()) },
    });
    client = await net.connect('Org2MSP');
    await client.network.getContract('qiaoport').submitTransaction(
      'init',
      JSON.stringify({
        chainId: net.chainId,
        port: PORT,
        govChainId: GOV_CHAIN_ID.toString(),
        messageLog,
        attestorSet: { setId: '1', threshold: 1, members: [computeAddress(attestor.publicKey)] },
        timeoutAuthority: `0x${'7a'.repeat(20)}`,
      }),
    );
    dataDir = await mkdtemp(join(tmpdir(), 'qiao-fabric-'));
    const id = net.identity('Org1MSP');
    await writeFabricIdentity(dataDir, net.chainId, { mspId: id.mspId, certificate: id.credentials.certificate, privateKey: id.credentials.privateKey });
    reg = {
      chainId: net.chainId as ChainId,
      family: 'fabric',
      genesisHash: headerHash(net.configBlock()),
      port: PORT,
      lightClient: 'fabric',
      trustRoot: utf8(JSON.stringify({ channel: net.channel, chaincode: 'qiaoport', organisations: 2, configBlock: Buffer.from(net.configBlock()).toString('base64'), height: 0 })),
      finality: { kind: 'fabric-validated', organisations: 2 },
      endpoints: [...net.orgs.map((o) => `${o.peerUrl}?msp=${o.mspId}`), `${net.orderer.url}?msp=OrdererMSP&role=orderer`],
      status: 'approved',
    };
    adapter = await createFabricAdapter(reg, { logger: silentLogger(), dataDir, attestation: domain });
  }, 120_000);

  afterAll(async () => {
    await adapter?.close();
    client?.gateway.disconnect();
    await net?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('refuses registrations that do not match the network', async () => {
    const ctx = { logger: silentLogger(), dataDir };
    await expect(createFabricAdapter({ ...reg, finality: { kind: 'fabric-validated', organisations: 3 } }, ctx)).rejects.toBeInstanceOf(ConfigError);
    await expect(createFabricAdapter({ ...reg, trustRoot: utf8(JSON.stringify({ channel: 'other', chaincode: 'qiaoport' })) }, ctx)).rejects.toBeInstanceOf(ConfigError);
    await expect(createFabricAdapter({ ...reg, port: utf8('payments/other') }, ctx)).rejects.toBeInstanceOf(ConfigError);
    await expect(createFabricAdapter({ ...reg, endpoints: reg.endpoints.slice(0, 2) }, ctx)).rejects.toBeInstanceOf(ConfigError);
    await expect(createFabricAdapter({ ...reg, genesisHash: `0x${'00'.repeat(32)}` as Hex }, ctx)).rejects.toBeInstanceOf(ConfigError);
    await expect(createFabricAdapter(reg, { logger: silentLogger(), dataDir: join(dataDir, 'none') })).rejects.toBeInstanceOf(ConfigError);
  });

  it('reports heads and block hashes as the peers hold them', async () => {
    const { head, finalized } = await adapter.watcher.heads();
    expect(finalized).toBe(head);
    expect(head).toBe(BigInt(net.height() - 1));
    expect(await adapter.watcher.blockHashAt(0n)).toBe(reg.genesisHash);
    expect(await adapter.watcher.blockHashAt(head)).toBe(headerHash(net.blocks()[Number(head)]!));
    expect(await adapter.watcher.blockHashAt(head + 100n)).toBeNull();
    expect(await adapter.fabric.latest(1)).toBe(head);
    const raw = await adapter.fabric.blocks(0n, 1n, 1);
    expect(raw.map((b) => Buffer.from(b).toString('hex'))).toEqual(net.blocks(net.orgs[1]!.peerName).slice(0, 2).map((b) => Buffer.from(b).toString('hex')));
    expect(adapter.fabric.endpointCount()).toBe(2);
  });

  it('finds messages sent through the Gateway (client and chaincode senders) and proves them with k signed answers', async () => {
    const port = client.network.getContract('qiaoport');
    const tx = port.createTransaction('send');
    const id = Buffer.from(await tx.submit(EVM, EVM_PORT, utf8('0x33'), '100000', '0', '0', utf8('hello evm'))).toString() as Hex;
    const viaChaincode = Buffer.from(await client.network.getContract('qiaoreceiver').submitTransaction('send', EVM, EVM_PORT, utf8('r'), '100000', '0', '0', utf8('from a chaincode'))).toString() as Hex;
    const found = await until(
      async () => {
        const { finalized } = await adapter.watcher.heads();
        const all = await adapter.watcher.messagesIn(0n, finalized);
        return all.some((m) => m.id === viaChaincode) ? all : undefined;
      },
      { what: 'both messages observed', timeoutMs: 30_000 },
    );
    const a = found.find((m) => m.id === id)!;
    const b = found.find((m) => m.id === viaChaincode)!;
    expect(found.indexOf(a)).toBeLessThan(found.indexOf(b));
    expect(a.txHash).toBe(`0x${tx.getTransactionId()}`);
    expect(a.message.srcChain).toBe(net.chainId);
    expect(a.message.srcPort).toBe(PORT);
    expect(a.message.nonce).toBe(1n);
    expect(b.message.nonce).toBe(2n);
    expect(b.message.sender).toBe(utf8('qiaoreceiver'));
    expect(a.blockHash).toBe(await adapter.watcher.blockHashAt(a.height));
    const der = Buffer.from(net.identity('Org2MSP').credentials.certificate.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    expect(a.message.sender).toBe(`0x${createHash('sha256').update('Org2MSP').update(Buffer.from([0])).update(der).digest('hex')}`);

    for (const endpoint of [0, 1]) {
      const proof = (await adapter.prover.proveCommitments(a.height, [id], endpoint)) as unknown as { kind: string; height: string; block: string; txs: { txId: string; messages: Hex[]; validation: { mspId: string; response: string }[] }[] };
      expect(proof.kind).toBe('fabric-tx');
      expect(proof.height).toBe(a.height.toString());
      expect(JSON.parse(JSON.stringify(proof))).toEqual(proof);
      expect(Buffer.from(proof.block, 'base64').equals(Buffer.from(net.blocks(net.orgs[endpoint]!.peerName)[Number(a.height)]!))).toBe(true);
      expect(proof.txs).toHaveLength(1);
      expect(proof.txs[0]!.txId).toBe(tx.getTransactionId());
      expect(proof.txs[0]!.messages).toEqual([a.encoded]);
      expect(proof.txs[0]!.validation.map((v) => v.mspId).sort()).toEqual(['Org1MSP', 'Org2MSP']);
      for (const v of proof.txs[0]!.validation) expect(validationCodeOf(Buffer.from(v.response, 'base64'))).toEqual({ status: 200, code: pb.TxValidationCode.VALID });
    }
    // The relayer's light client and verifier accept what the adapter serves.
    const light = fabricLightClientFor(reg, adapter, { logger: silentLogger() });
    const verify = async (height: bigint, ids: Hex[], proof: unknown) => {
      const t = await light.trustedAt(height);
      if (!t.ok) return t;
      return verifyFabricTxs(proof, { chainId: reg.chainId, port: reg.port, height, ids, anchor: { kind: 'fabric-block', height, hash: t.hash }, context: t.context, k: 2 });
    };
    expect(await verify(a.height, [id], await adapter.prover.proveCommitments(a.height, [id], 1))).toEqual({ ok: true });
    expect(await verify(b.height, [viaChaincode], await adapter.prover.proveCommitments(b.height, [viaChaincode]))).toEqual({ ok: true });
    const foreign = await adapter.prover.proveCommitments(a.height, [`0x${'ab'.repeat(32)}` as Hex]);
    expect((foreign as unknown as { txs: unknown[] }).txs).toEqual([]);
    await expect(adapter.prover.proveCommitments(a.height, [id], 2)).rejects.toThrow();

    // A peer that lies about a flag: its answer says so, the other organisation's does not.
    net.faults.flipValidation(net.orgs[0]!.peerName, tx.getTransactionId(), pb.TxValidationCode.MVCC_READ_CONFLICT);
    const answers = await adapter.fabric.validationAnswers(tx.getTransactionId());
    expect(Object.fromEntries(answers.map((x) => [x.mspId, validationCodeOf(x.response).code]))).toEqual({ Org1MSP: pb.TxValidationCode.MVCC_READ_CONFLICT, Org2MSP: pb.TxValidationCode.VALID });
    // ... the watcher, reading that peer, no longer reports the message, and a proof of it is refused.
    expect((await adapter.watcher.messagesIn(a.height, a.height)).map((m) => m.id)).not.toContain(id);
    expect(await verify(a.height, [id], await adapter.prover.proveCommitments(a.height, [id], 1))).toMatchObject({ ok: false, reason: 'validation_not_confirmed' });
    net.faults.flipValidation(net.orgs[0]!.peerName, tx.getTransactionId(), pb.TxValidationCode.VALID);
  }, 90_000);

  it('delivers an attested batch: receiver called, receipts, deferred items in a following transaction, repeats answered from the receipt', async () => {
    const before = await receiverCount();
    const one = inbound('first');
    const two = inbound('second');
    const bad = inbound('fail please');
    const outcomes = await adapter.deliverer.deliver(batchOf([one, two, bad]));
    expect(outcomes.map((o) => [o.id, o.status])).toEqual([
      [one.id, 'delivered'],
      [two.id, 'delivered'],
      [bad.id, 'failed'],
    ]);
    expect(await receiverCount()).toBe(before + 2);
    const [o1, o2, o3] = outcomes as Extract<(typeof outcomes)[number], { txHash: Hex }>[];
    // The port calls one receiver once per transaction: `two` and `bad` went in later transactions.
    expect(o1!.txHash).not.toBe(o2!.txHash);
    expect(o2!.txHash).not.toBe(o3!.txHash);
    expect(o3!.status === 'failed' && o3!.reason).toContain('refused');
    const last = JSON.parse(Buffer.from(await client.network.getContract('qiaoreceiver').evaluateTransaction('last')).toString()) as { id: string; payload: string };
    expect(last.id).toBe(two.id);

    const receipt = await adapter.deliverer.receiptOf(one.id);
    expect(receipt).toEqual({ id: one.id, status: 'delivered', txHash: o1!.txHash, height: o1!.height });
    expect(await adapter.watcher.blockHashAt(o1!.height)).toBe(headerHash(net.blocks()[Number(o1!.height)]!));
    expect((await adapter.deliverer.receiptOf(bad.id))?.status).toBe('failed');
    expect(await adapter.deliverer.receiptOf(inbound('never').id)).toBeNull();

    const again = await adapter.deliverer.deliver(batchOf([one], { batchNo: 2n }));
    expect(again).toEqual([{ id: one.id, status: 'delivered', txHash: o1!.txHash, height: o1!.height }]);
    expect(await receiverCount()).toBe(before + 2);

    // A fresh adapter (no memory of its deliveries) finds the receipts' transactions in the blocks.
    const fresh = await createFabricAdapter(reg, { logger: silentLogger(), dataDir });
    try {
      expect(await fresh.deliverer.receiptOf(two.id)).toEqual({ id: two.id, status: 'delivered', txHash: o2!.txHash, height: o2!.height });
      expect(await fresh.deliverer.receiptOf(bad.id)).toMatchObject({ status: 'failed', txHash: o3!.txHash, height: o3!.height });
    } finally {
      await fresh.close();
    }
    expect(await adapter.deliverer.ackOf!(one.id)).toEqual({ outcome: 'none' });

    // Two relayers deliver one message at once: the port takes it once, both answer with the one receipt.
    const racer = await createFabricAdapter(reg, { logger: silentLogger(), dataDir, attestation: domain });
    try {
      const count = await receiverCount();
      const once = inbound('exactly once');
      const [x, y] = await Promise.all([adapter.deliverer.deliver(batchOf([once], { batchNo: 5n })), racer.deliverer.deliver(batchOf([once], { batchNo: 5n }))]);
      expect(x![0]!.status).toBe('delivered');
      expect(y).toEqual(x);
      expect(await receiverCount()).toBe(count + 1);
    } finally {
      await racer.close();
    }
    const state = await adapter.deliverer.attestorState!();
    expect(state).toMatchObject({ setId: 1n, threshold: 1, previous: null, members: [computeAddress(attestor.publicKey)] });
  }, 120_000);

  it('delivers an ack to the port and reports it through ackOf', async () => {
    const timed = Buffer.from(await client.network.getContract('qiaoport').submitTransaction('send', EVM, EVM_PORT, utf8('0x33'), '100000', '0', '4102444800', utf8('timed'))).toString() as Hex;
    expect(await adapter.deliverer.ackOf!(timed)).toEqual({ outcome: 'none' });
    const ack = encodeMessage({
      version: 1,
      srcChain: EVM,
      srcPort: EVM_PORT,
      sender: EVM_PORT,
      dstChain: net.chainId as ChainId,
      dstPort: PORT,
      receiver: PORT,
      nonce: 77n,
      gasLimit: 200_000n,
      timeoutHeight: 0n,
      timeoutUnixSeconds: 0n,
      payload: AbiCoder.defaultAbiCoder().encode(['uint8', 'bytes32', 'bytes'], [1, timed, '0x']) as Hex,
    });
    const [out] = await adapter.deliverer.deliver(batchOf([{ id: messageId(ack), encoded: ack }], { batchNo: 6n }));
    expect(out!.status).toBe('delivered');
    const state = await adapter.deliverer.ackOf!(timed);
    expect(state).toEqual({ outcome: 'delivered', txHash: (out as { txHash: Hex }).txHash, height: (out as { height: bigint }).height });
  }, 60_000);

  it('refuses what the port would refuse, without sinking the good items', async () => {
    const before = await receiverCount();
    const stranger = new SigningKey(Wallet.createRandom().privateKey);
    const m = inbound('unsigned');
    expect(await adapter.deliverer.deliver(batchOf([m], { batchNo: 3n, signer: stranger }))).toEqual([{ id: m.id, status: 'rejected', reason: 'bad_attestation' }]);
    expect(await adapter.deliverer.receiptOf(m.id)).toBeNull();

    const good = inbound('good');
    const elsewhere = { ...inbound('elsewhere') };
    const wrong = encodeMessage({ ...elsewhere.message, dstChain: 'fabric:other_payments' as ChainId });
    const wrongId = messageId(wrong);
    const b = batchOf([good, { id: wrongId, encoded: wrong }], { batchNo: 4n });
    const notIncluded = inbound('not included');
    b.items.push({ id: notIncluded.id, encoded: notIncluded.encoded, proof: [] });
    const out = await adapter.deliverer.deliver(b);
    expect(out.map((o) => [o.id, o.status, o.status === 'rejected' ? o.reason : ''])).toEqual([
      [good.id, 'delivered', ''],
      [wrongId, 'rejected', 'wrong_chain'],
      [notIncluded.id, 'rejected', 'bad_proof'],
    ]);
    expect(await receiverCount()).toBe(before + 1);
  }, 90_000);
});

describe('qiao fabric identity import', () => {
  it('stores the identity where the adapter reads it, and refuses a key that is not the certificate\'s', async () => {
    const net = await startFabricTestNetwork({ orgs: 1 });
    const dir = await mkdtemp(join(tmpdir(), 'qiao-fabric-cli-'));
    try {
      const id = net.identity('Org1MSP');
      const other = net.identity('Org1MSP', 'admin');
      await writeFile(join(dir, 'cert.pem'), id.credentials.certificate);
      await writeFile(join(dir, 'key.pem'), id.credentials.privateKey);
      await writeFile(join(dir, 'other.pem'), other.credentials.privateKey);
      const run = (key: string) => buildProgram().parseAsync(['node', 'qiao', 'fabric', 'identity', 'import', '--chain', net.chainId, '--msp', 'Org1MSP', '--cert', join(dir, 'cert.pem'), '--key', join(dir, key), '--data-dir', dir]);
      await expect(run('other.pem')).rejects.toThrow(/certificate's P-256 key/);
      await run('key.pem');
      expect(await readFabricIdentity(join(dir, 'adapters'), net.chainId)).toEqual({ mspId: 'Org1MSP', certificate: id.credentials.certificate, privateKey: id.credentials.privateKey });
    } finally {
      await net.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

// The Fabric entry of the conformance suite (the lead moves it to test/conformance/): the relayer's light client
// and verify-fabric over what the adapter serves.
adapterConformance('fabric', async () => {
  const net = await startFabricTestNetwork({ chaincodes: { qiaoport: contractChaincode(new QiaoPortContract()) } });
  const attestor = Wallet.createRandom();
  const { gateway, network } = await net.connect('Org1MSP');
  const port = network.getContract('qiaoport');
  await port.submitTransaction(
    'init',
    JSON.stringify({ chainId: net.chainId, port: PORT, govChainId: '4242', messageLog: Wallet.createRandom().address, attestorSet: { setId: '1', threshold: 1, members: [attestor.address] }, timeoutAuthority: `0x${'7a'.repeat(20)}` }),
  );
  const id = net.identity('Org1MSP');
  const reg: ChainRegistration = {
    chainId: net.chainId as ChainId,
    family: 'fabric',
    genesisHash: headerHash(net.configBlock()),
    port: PORT,
    lightClient: 'fabric',
    trustRoot: encodeFabricTrustRoot({ channel: net.channel, chaincode: 'qiaoport', organisations: 2, configBlock: net.configBlock(), height: 0n }),
    finality: { kind: 'fabric-validated', organisations: 2 },
    endpoints: [...net.orgs.map((o) => `${o.peerUrl}?msp=${o.mspId}`), `${net.orderer.url}?msp=OrdererMSP&role=orderer`],
    status: 'approved',
  };
  const adapter = await createFabricAdapter(reg, { logger: silentLogger(), identity: { mspId: id.mspId, certificate: id.credentials.certificate, privateKey: id.credentials.privateKey } });
  const light = fabricLightClientFor(reg, adapter, { logger: silentLogger() });
  return {
    adapter,
    async emit(payload: string) {
      const out = await port.submitTransaction('send', EVM, EVM_PORT, utf8('0x33'), '100000', '0', '0', utf8(payload));
      return { id: Buffer.from(out).toString() as Hex };
    },
    async verify(height, ids, proof) {
      const t = await light.trustedAt(height);
      if (!t.ok) return { ok: false, reason: t.reason };
      return verifyFabricTxs(proof, { chainId: reg.chainId, port: reg.port, height, ids, anchor: { kind: 'fabric-block', height, hash: t.hash }, context: t.context, k: 2 });
    },
    async close() {
      await adapter.close();
      gateway.disconnect();
      await net.stop();
    },
  };
});
