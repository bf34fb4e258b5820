import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { AbiCoder, SigningKey, computeAddress, hexlify, keccak256 } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { cosmosChainId, cosmosPortBytes, parseCosmosPort, revisionNumberOf } from '../../adapters/cosmos/chain-id.ts';
import { createCosmosAdapter, decodeTrustRootLink, type CosmosAdapter } from '../../adapters/cosmos/adapter.ts';
import { connectCosmosChain } from '../../adapters/cosmos/connect.ts';
import { cosmosSigner, sendViaContract } from '../../adapters/cosmos/contract.ts';
import { ackOfMessage, checkAttestation, checkItem, packetCommitment, readSoloClient } from '../../adapters/cosmos/deliver.ts';
import { connectComet, disconnectComet, rawValidators } from '../../adapters/cosmos/rpc.ts';
import { itemsIn, qiaoItemsOf, type TxEvents } from '../../adapters/cosmos/watch.ts';
import type { CosmosIbcProof } from '../../adapters/cosmos/proof.ts';
import type { DeliveryBatch } from '../../src/domain/adapter.ts';
import { signAttestation, type AttestationDomain } from '../../src/domain/attestation.ts';
import { chainId as caip, type ChainId } from '../../src/domain/caip.ts';
import type { ChainRegistration } from '../../src/domain/chain.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { MessageTree } from '../../src/domain/merkle.ts';
import { encodeMessage, messageId, type QiaoMessage } from '../../src/domain/message.ts';
import { ConfigError, RpcError } from '../../src/errors.ts';
import { silentLogger } from '../../src/logging.ts';
import { CometLightClient } from '../../relayer/light/cometbft-client.ts';
import { decodeCometTrustRoot } from '../../relayer/light/cometbft-trust.ts';
import { packetCommitment as relayerPacketCommitment, verifyCosmosPackets } from '../../relayer/verify-cosmos.ts';
import { startCometTestServer, addressBytes, secp256k1Address, type CometTestServer } from '../servers/cometbft/index.ts';
import { adapterConformance } from '../conformance/adapter.ts';
import { until } from '../helpers/services.ts';

const coder = AbiCoder.defaultAbiCoder();
const CHAIN = caip('cosmos:qiaotest-1');
const CONTRACT = 'cosmos14hj2tavq8fpesdwxxcu44rty3hh90vhujrvcmstl4zr3txmfvw9s4hmalr';
const PORT = cosmosPortBytes({ portId: `wasm.${CONTRACT}`, channelId: 'channel-0' });
const HUB_CHAIN = caip('eip155:31337');
const HUB_SENDER = `0x${'aa'.repeat(20)}` as Hex;
const domain: AttestationDomain = { chainId: 4242n, verifyingContract: `0x${'11'.repeat(20)}` };

const newKey = () => hexlify(secp256k1.utils.randomSecretKey()) as Hex;
const addressOf = (key: Hex) => secp256k1Address(secp256k1.getPublicKey(Buffer.from(key.slice(2), 'hex'), true));

function msg(over: Partial<QiaoMessage> = {}): QiaoMessage {
  return {
    version: 1, srcChain: HUB_CHAIN, srcPort: HUB_SENDER, sender: HUB_SENDER, dstChain: CHAIN, dstPort: PORT,
    receiver: `0x${'bb'.repeat(20)}`, nonce: 1n, gasLimit: 100_000n, timeoutHeight: 0n, timeoutUnixSeconds: 0n, payload: '0x01', ...over,
  };
}

function attested(encoded: Hex[], keys: Hex[], batchNo = 1n, setId = 1n): DeliveryBatch {
  const ids = encoded.map((e) => messageId(e));
  const tree = MessageTree.of(ids);
  const a = { rootType: 1 as const, setId, batchNo, root: tree.root };
  return { rootType: 1, setId, batchNo, root: tree.root, signatures: keys.map((k) => signAttestation(new SigningKey(k), domain, a)), items: encoded.map((e, i) => ({ id: ids[i]!, encoded: e, proof: tree.proof(ids[i]!) })) };
}

describe('cosmos adapter: pure parts', () => {
  it('names chains, ports and revisions as ibc-go does', () => {
    expect(cosmosChainId('qiaotest-1')).toBe('cosmos:qiaotest-1');
    expect(revisionNumberOf('qiaotest-1')).toBe(1n);
    expect(revisionNumberOf('cosmoshub-4')).toBe(4n);
    expect(revisionNumberOf('testing')).toBe(0n);
    expect(revisionNumberOf('chain-01')).toBe(0n);
    expect(parseCosmosPort(PORT)).toEqual({ portId: `wasm.${CONTRACT}`, channelId: 'channel-0' });
    expect(() => parseCosmosPort('0x1234')).toThrow();
    expect(() => parseCosmosPort(cosmosPortBytes({ portId: 'wasm.x', channelId: 'chan-0' }))).toThrow();
  });

  it('computes the packet commitment the relayer recomputes', () => {
    const data = Uint8Array.from([1, 2, 3]);
    const mine = packetCommitment({ timeoutTimestamp: 5n, revisionNumber: 1n, revisionHeight: 9n, data });
    const theirs = relayerPacketCommitment({ sequence: '1', sourcePort: 'qiao', sourceChannel: 'channel-0', destinationPort: 'wasm.x', destinationChannel: 'channel-0', data: '0x010203', timeoutHeight: { revisionNumber: '1', revisionHeight: '9' }, timeoutTimestamp: '5' });
    expect(hexlify(mine)).toBe(hexlify(theirs));
  });

  it('finds only Qiao messages of its own channel, chain and port, in event order', () => {
    const own = encodeMessage({ ...msg(), srcChain: CHAIN, srcPort: PORT, sender: `0x${'cc'.repeat(20)}`, dstChain: HUB_CHAIN, dstPort: HUB_SENDER });
    const foreignChain = encodeMessage({ ...msg(), srcChain: caip('cosmos:other-1'), srcPort: PORT });
    const ackMsg = encodeMessage({ ...msg(), srcChain: CHAIN, srcPort: PORT, sender: PORT, dstChain: HUB_CHAIN, dstPort: HUB_SENDER, receiver: HUB_SENDER, payload: coder.encode(['uint8', 'bytes32', 'bytes'], [1, keccak256('0x01'), '0x']) as Hex });
    const ev = (type: string, a: Record<string, string>) => ({ type, attributes: Object.entries(a).map(([key, value]) => ({ key, value })) });
    const send = (data: Hex, port = `wasm.${CONTRACT}`, ch = 'channel-0') =>
      ev('send_packet', { packet_data_hex: data.slice(2), packet_timeout_height: '0-0', packet_timeout_timestamp: '99', packet_sequence: '3', packet_src_port: port, packet_src_channel: ch, packet_dst_port: 'qiao', packet_dst_channel: 'channel-0' });
    const tx: TxEvents = {
      height: 7n, index: 2, hash: `0x${'ee'.repeat(32)}`, code: 0,
      events: [
        send(own, `wasm.${CONTRACT}`, 'channel-1'),
        send(foreignChain),
        send('0xdeadbeef'),
        ev('write_acknowledgement', { packet_ack_hex: ackMsg.slice(2), packet_data_hex: '00', packet_timeout_height: '0-0', packet_timeout_timestamp: '0', packet_sequence: '4', packet_src_port: 'qiao', packet_src_channel: 'channel-0', packet_dst_port: `wasm.${CONTRACT}`, packet_dst_channel: 'channel-0' }),
        send(own),
      ],
    };
    const scope = { chainId: CHAIN, channel: parseCosmosPort(PORT), portBytes: PORT };
    const found = qiaoItemsOf(tx, `0x${'dd'.repeat(32)}`, scope);
    expect(found.map((f) => [f.kind, f.id])).toEqual([['ack', messageId(ackMsg)], ['packet', messageId(own)]]);
    expect(found[0]!.logIndex).toBeLessThan(found[1]!.logIndex);
    expect(found[1]!.packet.sequence).toBe('3');
    expect(qiaoItemsOf({ ...tx, code: 5 }, `0x${'dd'.repeat(32)}`, scope)).toEqual([]);
  });

  it('checks attestations, inclusion and destination before anything is signed', () => {
    const keys = [newKey(), newKey(), newKey()];
    const members = new Set(keys.map((k) => computeAddress(k)));
    const m = encodeMessage(msg());
    expect(checkAttestation(attested([m], keys.slice(0, 2)), domain, members, 2)).toEqual({ ok: true });
    expect(checkAttestation(attested([m], [keys[0]!, keys[0]!]), domain, members, 2).ok).toBe(false);
    expect(checkAttestation(attested([m], [keys[0]!, newKey()]), domain, members, 2).ok).toBe(false);
    const b = attested([m, encodeMessage(msg({ dstChain: caip('cosmos:other-1') })), encodeMessage(msg({ dstPort: HUB_SENDER }))], keys);
    expect(checkItem(b.root, b.items[0]!, CHAIN, PORT).ok).toBe(true);
    expect(checkItem(b.root, b.items[1]!, CHAIN, PORT)).toEqual({ ok: false, reason: 'wrong_chain' });
    expect(checkItem(b.root, b.items[2]!, CHAIN, PORT)).toEqual({ ok: false, reason: 'wrong_port' });
    expect(checkItem(`0x${'00'.repeat(32)}`, b.items[0]!, CHAIN, PORT)).toEqual({ ok: false, reason: 'bad_proof' });
    expect(checkItem(b.root, { ...b.items[0]!, encoded: encodeMessage(msg({ nonce: 9n })) }, CHAIN, PORT)).toEqual({ ok: false, reason: 'id_mismatch' });
  });

  it('recognises ack messages as the relayer does', () => {
    const id = keccak256('0x02') as Hex;
    const a = msg({ sender: HUB_SENDER, receiver: PORT, payload: coder.encode(['uint8', 'bytes32', 'bytes'], [3, id, '0x']) as Hex });
    expect(ackOfMessage(a)).toEqual({ outcome: 3, original: id });
    expect(ackOfMessage(msg())).toBeNull();
    expect(ackOfMessage({ ...a, payload: coder.encode(['uint8', 'bytes32', 'bytes'], [7, id, '0x']) as Hex })).toBeNull();
  });

  it('reads the link from the trust root and refuses a registration that is not a Cosmos one before connecting', async () => {
    const link = { soloClientId: '06-solomachine-0', connectionId: 'connection-0', counterpartyConnectionId: 'connection-0', hubPort: 'qiao', hubChannel: 'channel-0' };
    const trustRoot = hexlify(Buffer.from(JSON.stringify({ chainId: 'qiaotest-1', link: { ...link, ibcVersion: 'v9' } }))) as Hex;
    expect(decodeTrustRootLink(trustRoot)).toEqual({ link, ibcVersion: 'v9', chainId: 'qiaotest-1' });
    expect(() => decodeTrustRootLink('0x7b7d')).toThrow();
    const reg: ChainRegistration = { chainId: CHAIN, family: 'cosmos', genesisHash: `0x${'01'.repeat(32)}`, port: PORT, lightClient: 'tendermint', trustRoot, finality: { kind: 'instant' }, endpoints: ['http://127.0.0.1:1'], status: 'approved' };
    const ctx = { logger: silentLogger() };
    await expect(createCosmosAdapter({ ...reg, family: 'evm' }, ctx)).rejects.toBeInstanceOf(ConfigError);
    await expect(createCosmosAdapter({ ...reg, lightClient: 'local-dev' }, ctx)).rejects.toBeInstanceOf(ConfigError);
    await expect(createCosmosAdapter({ ...reg, finality: { kind: 'depth', depth: 2 } }, ctx)).rejects.toBeInstanceOf(ConfigError);
    await expect(createCosmosAdapter({ ...reg, endpoints: [] }, ctx)).rejects.toBeInstanceOf(ConfigError);
    await expect(createCosmosAdapter({ ...reg, port: '0x1234' }, ctx)).rejects.toBeInstanceOf(ConfigError);
    await expect(createCosmosAdapter({ ...reg, trustRoot: '0x7b7d' }, ctx)).rejects.toBeInstanceOf(ConfigError);
    await expect(createCosmosAdapter({ ...reg, chainId: caip('cosmos:other-1') }, ctx)).rejects.toBeInstanceOf(ConfigError);
    // A dead endpoint is an RpcError of that endpoint (retryable), not a config error.
    await expect(createCosmosAdapter(reg, ctx)).rejects.toBeInstanceOf(RpcError);
  });

  it('reads every page of /validators', async () => {
    const all = Array.from({ length: 250 }, (_, i) => ({ address: String(i) }));
    const pages: number[] = [];
    const fake = (async (_url: string, init: { body: string }) => {
      const { params } = JSON.parse(init.body) as { params: { page: string; per_page: string } };
      const page = Number(params.page);
      pages.push(page);
      const per = Number(params.per_page);
      return new Response(JSON.stringify({ jsonrpc: '2.0', id: 1, result: { block_height: '5', validators: all.slice((page - 1) * per, page * per), count: '0', total: String(all.length) } }));
    }) as unknown as typeof fetch;
    const r = await rawValidators('http://fake', 5n, fake);
    expect(r.validators).toEqual(all);
    expect(pages).toEqual([1, 2, 3]);
  });
});


// ------------------------------------------------------------------ against the CometBFT model (test/servers/cometbft)

interface Fixture {
  srv: CometTestServer;
  adapter: CosmosAdapter;
  light: CometLightClient;
  chainId: ChainId;
  port: Hex;
  attestorKeys: Hex[];
  userKey: Hex;
  dataDir: string;
  reg: ChainRegistration;
}

let fixture: Promise<Fixture> | null = null;

function setupFixture(): Promise<Fixture> {
  fixture ??= startFixture('v8');
  return fixture;
}

function startFixture(ibcVersion: 'v8' | 'v9'): Promise<Fixture> {
  return (async () => {
    const relayerKey = newKey();
    const userKey = newKey();
    const attestorKeys = [newKey(), newKey(), newKey()];
    const coins = [{ denom: 'stake', amount: '100000000000' }, { denom: 'uatom', amount: '1000000000' }];
    const srv = await startCometTestServer({ chainId: 'qiaotest-1', blockTimeMs: 500, ibcVersion, accounts: [relayerKey, userKey].map((k) => ({ address: addressOf(k), coins })) });
    const dataDir = mkdtempSync(join(tmpdir(), 'qiao-cosmos-adapter-'));
    const c = await connectCosmosChain({ rpcUrl: srv.url, signer: { key: relayerKey }, attestorKeys, threshold: 2, contract: srv.contractAddress, ibcVersion, dataDir, logger: silentLogger() });
    const chainId = c.chainId as ChainId;
    const witness = await srv.addEndpoint();
    const reg: ChainRegistration = { chainId, family: 'cosmos', genesisHash: c.genesisHash, port: c.port, lightClient: 'tendermint', trustRoot: c.trustRoot, finality: { kind: 'instant' }, endpoints: [srv.url, witness.url], status: 'approved' };
    // The registry binds the id to block 1: an endpoint serving another block 1 is refused at connect.
    await expect(createCosmosAdapter({ ...reg, genesisHash: `0x${'01'.repeat(32)}` }, { logger: silentLogger() })).rejects.toBeInstanceOf(ConfigError);
    const adapter = await createCosmosAdapter(reg, { logger: silentLogger(), relayerKey, attestorKeys, dataDir, attestation: domain });
    const light = new CometLightClient(decodeCometTrustRoot(c.trustRoot, chainId), adapter.comet, { logger: silentLogger() });
    return { srv, adapter, light, chainId, port: c.port, attestorKeys, userKey, dataDir, reg };
  })();
}

async function stopFixture(f: Fixture): Promise<void> {
  await f.adapter.close();
  await f.srv.stop();
  rmSync(f.dataDir, { recursive: true, force: true });
}

afterAll(async () => {
  if (!fixture) return;
  const f = await fixture.catch(() => null);
  if (f) await stopFixture(f);
});

async function verifyWithLightClient(f: Fixture, height: bigint, ids: readonly Hex[], proof: unknown): Promise<{ ok: boolean; reason?: string }> {
  const t = await until(
    async () => {
      const r = await f.light.trustedAt(height + 1n);
      return r.ok || r.reason !== 'not_final' ? r : null;
    },
    { timeoutMs: 30_000, what: `header ${height + 1n}` },
  );
  if (!t.ok) return { ok: false, reason: t.reason };
  const v = verifyCosmosPackets(proof, { chainId: f.chainId, port: f.port, height, ids, anchor: { height: t.height, hash: t.hash, appHash: t.appHash } });
  return v.ok ? { ok: true } : { ok: false, reason: v.reason };
}

const utf8Hex = (s: string) => hexlify(Buffer.from(s, 'utf8')) as Hex;

adapterConformance('cosmos (CometBFT model)', async () => {
  const f = await setupFixture();
  return {
    adapter: f.adapter,
    emit: async (payload: string) =>
      sendViaContract({ rpcUrl: f.srv.url, key: f.userKey, contract: f.srv.contractAddress, dstChain: HUB_CHAIN, dstPort: HUB_SENDER, receiver: HUB_SENDER, gasLimit: 100_000n, payload: utf8Hex(payload) }),
    verify: (height, ids, proof) => verifyWithLightClient(f, height, ids, proof),
    close: async () => undefined,
  };
});

describe('cosmos adapter against the CometBFT model: hub -> Cosmos', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await setupFixture();
  }, 120_000);

  const toCosmos = (over: Partial<QiaoMessage>) => msg({ dstChain: f.chainId, dstPort: f.port, receiver: hexlify(addressBytes(f.srv.receiverAddress)) as Hex, ...over });

  it('delivers attested messages as MsgRecvPacket, reads the outcome from the contract, and never twice', async () => {
    const later = BigInt(Math.floor(Date.now() / 1000) + 3600);
    const ok = encodeMessage(toCosmos({ nonce: 1n, payload: utf8Hex('hello cosmos'), timeoutUnixSeconds: later }));
    const bad = encodeMessage(toCosmos({ nonce: 2n, payload: utf8Hex('fail please') }));
    const batch = attested([ok, bad], f.attestorKeys.slice(0, 2), 10n);
    const out = await f.adapter.deliverer.deliver(batch);
    expect(out.map((o) => o.status)).toEqual(['delivered', 'failed']);
    const r = await f.adapter.deliverer.receiptOf(messageId(ok));
    expect(r?.status).toBe('delivered');
    expect((await f.adapter.deliverer.receiptOf(messageId(bad)))?.status).toBe('failed');
    expect(await f.adapter.deliverer.receiptOf(`0x${'12'.repeat(32)}`)).toBeNull();
    // Again: the receipts come back, nothing is sent (the solo sequence does not move).
    const ep = await connectComet(f.srv.url);
    const seq = (await readSoloClient(ep, '06-solomachine-0')).sequence;
    const again = await f.adapter.deliverer.deliver(batch);
    expect(again).toEqual(out);
    expect((await readSoloClient(ep, '06-solomachine-0')).sequence).toBe(seq);
    disconnectComet(ep);

    // The contract answered the message with a timeout by a Qiao ack: the watcher finds it and its proof verifies.
    const acks = await until(
      async () => {
        const { finalized: fin } = await f.adapter.watcher.heads();
        const found = (await f.adapter.watcher.messagesIn(r!.height, fin)).filter((m) => m.message.dstChain === HUB_CHAIN && m.message.sender === f.port);
        return found.length ? found : null;
      },
      { timeoutMs: 30_000, what: 'the contract ack' },
    );
    expect(acks).toHaveLength(1);
    const ack = acks[0]!;
    expect(ackOfMessage(ack.message)).toEqual({ outcome: 1, original: messageId(ok) });
    const proof = (await f.adapter.prover.proveCommitments(ack.height, [ack.id])) as CosmosIbcProof;
    expect(proof.items[0]!.kind).toBe('ack');
    expect(await verifyWithLightClient(f, ack.height, [ack.id], proof)).toEqual({ ok: true });
  }, 120_000);

  it('serves the same proof from the second endpoint, and the raw light blocks the light client reads', async () => {
    const s = await sendViaContract({ rpcUrl: f.srv.url, key: f.userKey, contract: f.srv.contractAddress, dstChain: HUB_CHAIN, dstPort: HUB_SENDER, receiver: HUB_SENDER, gasLimit: 1n, payload: utf8Hex('witness') });
    await until(async () => (await f.adapter.watcher.heads()).finalized >= s.height, { timeoutMs: 30_000, what: 'final height' });
    expect(f.adapter.prover.endpointCount()).toBe(2);
    const p0 = await f.adapter.prover.proveCommitments(s.height, [s.id], 0);
    const p1 = await f.adapter.prover.proveCommitments(s.height, [s.id], 1);
    expect(p1).toEqual(p0);
    expect(await verifyWithLightClient(f, s.height, [s.id], p1)).toEqual({ ok: true });
    const lb = await f.adapter.comet.lightBlock(s.height, 1);
    expect((lb.signedHeader as { header: { height: string } }).header.height).toBe(s.height.toString());
    expect((lb.validators as { validators: unknown[] }).validators).toHaveLength(4);
    expect(await f.adapter.comet.latestHeight(1)).toBeGreaterThanOrEqual(s.height);
    await expect(f.adapter.comet.lightBlock(s.height, 2)).rejects.toThrow();
  }, 60_000);

  it('re-sends a signed tx that did not land before it signs anything new (the journal), and delivers through it', async () => {
    const poorKey = newKey();
    const dir = mkdtempSync(join(tmpdir(), 'qiao-cosmos-replay-'));
    const reg = { ...f.reg, endpoints: [f.srv.url] };
    const poor = await createCosmosAdapter(reg, { logger: silentLogger(), relayerKey: poorKey, attestorKeys: f.attestorKeys, dataDir: dir, attestation: domain });
    try {
      const m = encodeMessage(toCosmos({ nonce: 30n, payload: utf8Hex('journaled') }));
      const batch = attested([m], f.attestorKeys.slice(0, 2), 30n);
      const ep = await connectComet(f.srv.url);
      const seq = (await readSoloClient(ep, '06-solomachine-0')).sequence;
      // Signed and journaled, but the fee payer has nothing: the tx never lands.
      await expect(poor.deliverer.deliver(batch)).rejects.toThrow();
      expect((await readSoloClient(ep, '06-solomachine-0')).sequence).toBe(seq);
      const { client, address } = await cosmosSigner(f.srv.url, f.userKey);
      await client.sendTokens(address, addressOf(poorKey), [{ denom: 'stake', amount: '10000000' }], 'auto');
      client.disconnect();
      const out = await poor.deliverer.deliver(attested([m], f.attestorKeys.slice(1, 3), 31n));
      expect(out[0]!.status).toBe('delivered');
      // One packet, one sequence: the journaled tx was sent again, nothing new was signed for it.
      expect((await readSoloClient(ep, '06-solomachine-0')).sequence).toBe(seq + 1n);
      disconnectComet(ep);
    } finally {
      await poor.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('refuses a message past its timeout without sending anything', async () => {
    const past = encodeMessage(toCosmos({ nonce: 4n, payload: utf8Hex('late'), timeoutUnixSeconds: BigInt(Math.floor(Date.now() / 1000) - 60) }));
    expect(await f.adapter.deliverer.deliver(attested([past], f.attestorKeys.slice(0, 2), 16n))).toEqual([{ id: messageId(past), status: 'rejected', reason: 'timed_out' }]);
    expect(await f.adapter.deliverer.receiptOf(messageId(past))).toBeNull();
  }, 60_000);

  it('finds the same messages through tx_search (long ranges) as block by block', async () => {
    const { finalized } = await f.adapter.watcher.heads();
    const ep = await connectComet(f.srv.url);
    const byBlock = await itemsIn(ep, 1n, finalized, f.adapter.scope, { blockByBlockMax: 1_000_000 });
    const bySearch = await itemsIn(ep, 1n, finalized, f.adapter.scope, { blockByBlockMax: 0, perPage: 2 });
    disconnectComet(ep);
    expect(byBlock.length).toBeGreaterThanOrEqual(3);
    expect(bySearch.map((m) => [m.id, m.height, m.logIndex, m.txHash, m.blockHash])).toEqual(byBlock.map((m) => [m.id, m.height, m.logIndex, m.txHash, m.blockHash]));
  }, 60_000);

  it('refuses a batch fewer than the threshold signed, or that another domain signed', async () => {
    const m = encodeMessage(toCosmos({ nonce: 3n, payload: utf8Hex('never') }));
    const one = await f.adapter.deliverer.deliver(attested([m], f.attestorKeys.slice(0, 1), 11n));
    expect(one).toEqual([{ id: messageId(m), status: 'rejected', reason: 'bad_attestation' }]);
    const strangers = await f.adapter.deliverer.deliver(attested([m], [newKey(), newKey()], 12n));
    expect(strangers[0]!.status).toBe('rejected');
    expect(await f.adapter.deliverer.receiptOf(messageId(m))).toBeNull();
  }, 60_000);

  it('settles a Cosmos-sent message from the ack the hub carries back: failed -> refund, cancelled -> MsgTimeout refund', async () => {
    const contract = f.srv.contractAddress;
    const funds = [{ denom: 'uatom', amount: '1000' }];
    const soon = BigInt(Math.floor(Date.now() / 1000) + 4);
    const a = await sendViaContract({ rpcUrl: f.srv.url, key: f.userKey, contract, dstChain: HUB_CHAIN, dstPort: HUB_SENDER, receiver: HUB_SENDER, gasLimit: 100_000n, timeoutUnixSeconds: soon + 3600n, payload: utf8Hex('pay me'), funds });
    const b = await sendViaContract({ rpcUrl: f.srv.url, key: f.userKey, contract, dstChain: HUB_CHAIN, dstPort: HUB_SENDER, receiver: HUB_SENDER, gasLimit: 100_000n, timeoutUnixSeconds: soon, payload: utf8Hex('too late'), funds });
    const ackMsg = (original: Hex, outcome: number, nonce: bigint) =>
      encodeMessage(msg({ srcChain: HUB_CHAIN, srcPort: HUB_SENDER, sender: HUB_SENDER, dstChain: f.chainId, dstPort: f.port, receiver: f.port, nonce, gasLimit: 200_000n, payload: coder.encode(['uint8', 'bytes32', 'bytes'], [outcome, original, utf8Hex('receiver said no')]) as Hex }));
    const failed = ackMsg(a.id, 2, 20n);
    const out = await f.adapter.deliverer.deliver(attested([failed], f.attestorKeys.slice(1, 3), 13n));
    expect(out[0]!.status).toBe('delivered');
    const sa = await f.adapter.deliverer.ackOf!(a.id);
    expect(sa.outcome).toBe('failed');
    expect(sa.refund).toMatchObject({ value: 1000n, paid: true });
    // Delivered again: the ack state answers, nothing is signed.
    expect((await f.adapter.deliverer.deliver(attested([failed], f.attestorKeys.slice(1, 3), 14n)))[0]).toEqual(out[0]);

    // Cancelled (the destination wrote its cancel marker past the timeout): MsgTimeout once the chain's clock passed it.
    await until(async () => (await f.adapter.deliverer.clock!()).time > soon + 1n, { timeoutMs: 30_000, what: 'chain time past the timeout' });
    const cancelled = ackMsg(b.id, 3, 21n);
    const c = await f.adapter.deliverer.deliver(attested([cancelled], f.attestorKeys.slice(0, 2), 15n));
    expect(c[0]!.status).toBe('delivered');
    const sb = await f.adapter.deliverer.ackOf!(b.id);
    expect(sb.outcome).toBe('cancelled');
    expect(sb.refund).toMatchObject({ value: 1000n, paid: true });
  }, 120_000);
});

describe('cosmos adapter against the CometBFT model: ibc-go v9', () => {
  let f: Fixture | undefined;
  beforeAll(async () => {
    f = await startFixture('v9');
  }, 120_000);
  afterAll(async () => {
    if (f) await stopFixture(f);
  });

  it('watches, proves and delivers the same way (packet sign bytes are the same in v8 and v9)', async () => {
    const g = f!;
    const s = await sendViaContract({ rpcUrl: g.srv.url, key: g.userKey, contract: g.srv.contractAddress, dstChain: HUB_CHAIN, dstPort: HUB_SENDER, receiver: HUB_SENDER, gasLimit: 1n, payload: utf8Hex('v9 out') });
    await until(async () => (await g.adapter.watcher.heads()).finalized >= s.height, { timeoutMs: 30_000, what: 'final height' });
    const found = await g.adapter.watcher.messagesIn(s.height, s.height);
    expect(found.map((m) => m.id)).toEqual([s.id]);
    const proof = await g.adapter.prover.proveCommitments(s.height, [s.id]);
    expect(await verifyWithLightClient(g, s.height, [s.id], proof)).toEqual({ ok: true });
    const m = encodeMessage(msg({ dstChain: g.chainId, dstPort: g.port, receiver: hexlify(addressBytes(g.srv.receiverAddress)) as Hex, payload: utf8Hex('v9 in') }));
    const out = await g.adapter.deliverer.deliver(attested([m], g.attestorKeys.slice(0, 2)));
    expect(out[0]!.status).toBe('delivered');
  }, 120_000);
});
