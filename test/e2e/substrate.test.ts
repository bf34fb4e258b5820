import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Contract, Interface, parseEther, Wallet } from 'ethers';
import { Keyring } from '@polkadot/keyring';
import { hexToU8a, u8aConcat, u8aToHex } from '@polkadot/util';
import { blake2AsHex, cryptoWaitReady } from '@polkadot/util-crypto';
import { attestorPortAccount, ecdsaAccountOfKey } from '../../adapters/substrate/multisig.ts';
import { MessageTree } from '../../src/domain/merkle.ts';
import { messageId } from '../../src/domain/message.ts';
import { portArtifacts } from '../../adapters/evm/artifacts.ts';
import { connectEndpoint, disconnectEndpoint, type SubstrateEndpoint } from '../../adapters/substrate/rpc.ts';
import { substrateChainId } from '../../adapters/substrate/chain-id.ts';
import { substrateRecordFile } from '../../adapters/substrate/record.ts';
import { sendRemark } from '../../adapters/substrate/send.ts';
import { encodeGrandpaTrustRoot } from '../../relayer/light/grandpa-trust.ts';
import type { ChainId } from '../../src/domain/caip.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { makeProvider } from '../../src/evm/provider.ts';
import { TxSender } from '../../src/evm/signer.ts';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { HubKeys } from '../../src/governance/keys.ts';
import { startTestHub, type TestHub } from '../helpers/hub.ts';
import { registerMember } from '../helpers/member-chain.ts';
import { until } from '../helpers/services.ts';
import { startSubstrateTestServer, type SubstrateTestServer } from '../servers/substrate/index.ts';

/**
 * A Substrate chain (the test server: real JSON-RPC, SCALE, state trie, GRANDPA
 * justifications) registered through governance with a GRANDPA trust root and
 * runtime pins: remarks are delivered to an EVM chain only after the light
 * client and the remarks verifier accept them, and every forgery is refused
 * (asserted on the EVM chain: nothing arrives). Inbound, EVM -> Substrate: the
 * attestors' account dispatches utility.batchAll([remark(id), contracts.call]),
 * asserted on the Substrate chain (model receiver, Remarked event), with acks
 * back on the EVM source port.
 */
describe('Substrate <-> EVM through the GRANDPA light client and the attestors\' account', () => {
  let t: TestHub;
  let srv: SubstrateTestServer;
  let ep: SubstrateEndpoint;
  let C: ChainId;
  let keys: HubKeys;
  let portIface: Interface;
  let dest: { chainId: string; port: string; receiver: string; url: string; numericId: string };
  let alice: ReturnType<Keyring['addFromUri']>;
  let nonce = 0n;
  /** The Substrate port: the account of the hub's attestor set (one key: its own ECDSA account; see adapters/substrate/multisig.ts). */
  let port: Hex;
  /** A modelled receiver contract on the Substrate test chain (test/servers/substrate/receiver.ts). */
  const receiver = `0x${'5c'.repeat(32)}` as Hex;

  const pins = (specVersion: number) => ({ specVersion, metadataHash: blake2AsHex(srv.metadataHex(), 256) as Hex, systemPallet: 0, remarkedEvent: 5 });
  const root = (height: number, hash: Hex, specVersion: number) => {
    const set = srv.authoritySet();
    return encodeGrandpaTrustRoot({ height, hash, setId: set.setId, authorities: set.authorities.map((a) => ({ key: a.publicKey, weight: a.weight })), runtime: pins(specVersion) });
  };

  async function send(payload: string): Promise<Hex> {
    const s = await sendRemark(ep.api, alice, {
      version: 1,
      srcChain: C,
      srcPort: port,
      dstChain: dest.chainId as ChainId,
      dstPort: dest.port.toLowerCase() as Hex,
      receiver: dest.receiver.toLowerCase() as Hex,
      nonce: ++nonce,
      gasLimit: 200_000n,
      timeoutHeight: 0n,
      timeoutUnixSeconds: 0n,
      payload: u8aToHex(new TextEncoder().encode(payload)) as Hex,
    });
    return s.id;
  }

  async function deliveredOnChain(id: Hex): Promise<number> {
    const dp = makeProvider(dest.url, BigInt(dest.numericId));
    const logs = await dp.getLogs({ address: dest.port, topics: [portIface.getEvent('MessageDelivered')!.topicHash, id], fromBlock: 0n, toBlock: 'latest' });
    dp.destroy();
    return logs.length;
  }

  const status = async (id: Hex) => (await t.hub.index.getMessage(id))?.status;

  beforeAll(async () => {
    await cryptoWaitReady();
    t = await startTestHub();
    portIface = new Interface((await portArtifacts()).QiaoPort.abi as never);
    keys = JSON.parse(await readFile(join(t.dataDir, 'keys.json'), 'utf8')) as HubKeys;
    dest = t.hub.demo!.chains[0]!;
    srv = await startSubstrateTestServer({ blockTimeMs: 300, receivers: [receiver] });
    port = u8aToHex(attestorPortAccount([ecdsaAccountOfKey(keys.attestor)], 1)) as Hex;
    ep = await connectEndpoint(srv.url);
    alice = new Keyring({ type: 'sr25519' }).addFromUri('//Alice');
    C = substrateChainId(srv.genesisHash);
    await registerMember(t, keys, {
      chainId: C,
      family: 'substrate',
      genesisHash: srv.genesisHash,
      port,
      lightClient: 'grandpa',
      trustRoot: root(0, srv.genesisHash, srv.specVersion()),
      finality: { kind: 'grandpa' },
      endpoints: [srv.url],
    });
  }, 120_000);

  afterAll(async () => {
    if (ep) await disconnectEndpoint(ep);
    await t?.stop();
    await srv?.close();
  });

  it('delivers a remarked message on the EVM chain, verified by GRANDPA + read proof', async () => {
    const id = await send('hello from substrate');
    await until(async () => (await status(id)) === 'delivered', { timeoutMs: 90_000, what: 'delivered' });
    const verified = (await t.hub.index.timeline(id)).find((x) => x.status === 'verified')!.proof as { lightClient: string; kind: string; anchor: { kind: string } };
    expect(verified).toMatchObject({ lightClient: 'grandpa', kind: 'substrate-remarks', anchor: { kind: 'state-root' } });
    expect(await deliveredOnChain(id)).toBe(1);
  }, 120_000);

  it('EVM -> Substrate: delivered once through the attestors\' account, a failing receiver acks an error back', async () => {
    const dp = makeProvider(dest.url, BigInt(dest.numericId), { pollingMs: 100 });
    try {
      const wallet = Wallet.createRandom();
      await dp.send('anvil_setBalance', [wallet.address, '0x3635C9ADC5DEA00000']);
      const user = new TxSender(wallet.privateKey, dp);
      const evmPort = new Contract(dest.port, portIface, dp);
      const timeout = BigInt((await dp.getBlock('latest'))!.timestamp) + 3600n;
      const sendTo = async (payload: string) => {
        const data = portIface.encodeFunctionData('send', [C, port, receiver, 200_000n, 0n, timeout, new TextEncoder().encode(payload)]);
        const r = await user.send({ to: dest.port, data });
        const sent = r.logs.filter((l) => l.address.toLowerCase() === dest.port.toLowerCase()).map((l) => portIface.parseLog(l)!).find((e) => e.name === 'MessageSent')!;
        const encoded = (sent.args[3] as string).toLowerCase() as Hex;
        return { id: messageId(encoded), encoded };
      };
      const before = srv.receiver(receiver)!.received;
      const ok = await sendTo('hello substrate');
      const bad = await sendTo('fail: the receiver reverts');

      await until(async () => (await status(ok.id)) === 'acknowledged', { timeoutMs: 120_000, what: 'delivered and acknowledged' });
      await until(async () => (await status(bad.id)) === 'failed', { timeoutMs: 60_000, what: 'failed' });
      const failedRow = await t.hub.index.getMessage(bad.id);
      expect(failedRow!.reason).toBe('contracts.ContractReverted');

      // ON the Substrate chain: the receiver got exactly the good payload once, from the port account, after the id's remark.
      const rec = srv.receiver(receiver)!;
      expect(rec.received).toBe(before + 1);
      expect(rec.ids.at(-1)).toBe(ok.id);
      expect(rec.callers.at(-1)).toBe(port);
      expect(rec.payloads.at(-1)).toBe(u8aToHex(new TextEncoder().encode('hello substrate')));
      const delivered = (await t.hub.index.timeline(ok.id)).find((x) => x.status === 'delivered')!;
      const height = Number(delivered.height);
      const events = (await (await ep.api.at(srv.blockHash(height)!)).query.system!.events!()) as unknown as { event: { section: string; method: string; data: { toHex(): string }[] } }[];
      const remarked = events.filter((r) => r.event.section === 'system' && r.event.method === 'Remarked' && r.event.data[0]!.toHex() === port);
      expect(remarked.map((r) => r.event.data[1]!.toHex())).toContain(blake2AsHex(ok.id, 256));
      expect(events.some((r) => r.event.section === 'contracts' && r.event.method === 'ContractEmitted')).toBe(true);

      // ON the EVM source port: a delivered ack for the good one, an error ack for the failing one.
      expect(Number(await evmPort.getFunction('acks')(ok.id))).toBe(1);
      await until(async () => Number(await evmPort.getFunction('acks')(bad.id)) === 2, { timeoutMs: 120_000, intervalMs: 500, what: 'error ack on the source port' });

      // A replayed delivery (the same attested batch again) is answered from the chain's receipts, not dispatched again.
      const row = (await t.hub.index.getMessage(ok.id))!;
      const batch = (await t.hub.index.getBatch(BigInt(row.batchNo!)))!;
      const tree = MessageTree.of(batch.ids);
      const deliverer = t.hub.relayer.ctx.chains.get(C)!.adapter.deliverer;
      const replay = await deliverer.deliver({ rootType: 1, setId: 1n, batchNo: BigInt(row.batchNo!), root: batch.root, signatures: [], items: [{ id: ok.id, encoded: ok.encoded, proof: tree.proof(ok.id) }] });
      expect(replay).toEqual([{ id: ok.id, status: 'delivered', txHash: delivered.txHash, height: BigInt(height) }]);
      const head = srv.head();
      await until(async () => srv.head() >= head + 3, { timeoutMs: 30_000, what: 'blocks after the replay' });
      expect(srv.receiver(receiver)!.received).toBe(before + 1);
    } finally {
      dp.destroy();
    }
  }, 240_000);

  it('EVM -> Substrate past its timeout: the port account\'s cancel marker on the Substrate chain, the EVM source refunds, never delivered', async () => {
    const dp = makeProvider(dest.url, BigInt(dest.numericId), { pollingMs: 100 });
    try {
      const wallet = Wallet.createRandom();
      await dp.send('anvil_setBalance', [wallet.address, '0x3635C9ADC5DEA00000']);
      const user = new TxSender(wallet.privateKey, dp);
      const evmPort = new Contract(dest.port, portIface, dp);
      const deliverer = t.hub.relayer.ctx.chains.get(C)!.adapter.deliverer;
      const timeout = BigInt((await dp.getBlock('latest'))!.timestamp) + 3600n;
      // The Substrate clock is past the timeout BEFORE the message exists: it can never be delivered, only cancelled.
      srv.advanceTime(Math.max(0, Number((timeout + 60n) * 1000n - srv.timestamp())));
      await until(async () => (await deliverer.clock!()).time >= timeout, { timeoutMs: 30_000, what: 'the Substrate clock past the timeout' });
      const value = parseEther('0.2');
      const fromHeight = srv.head();
      const data = portIface.encodeFunctionData('sendRefundable', [C, port, receiver, 200_000n, 0n, timeout, new TextEncoder().encode('too late for substrate')]);
      const r = await user.send({ to: dest.port, data, value });
      const sent = r.logs.filter((l) => l.address.toLowerCase() === dest.port.toLowerCase()).map((l) => portIface.parseLog(l)!).find((e) => e.name === 'MessageSent')!;
      const encoded = (sent.args[3] as string).toLowerCase() as Hex;
      const id = messageId(encoded);
      const afterSend = await dp.getBalance(wallet.address);

      // ON the EVM source port: the cancel ack (outcome 3) arrived and the escrow went back.
      await until(async () => Number(await evmPort.getFunction('acks')(id)) === 3, { timeoutMs: 150_000, intervalMs: 500, what: 'cancel ack on the source port' });
      expect(await dp.getBalance(wallet.address)).toBe(afterSend + value);
      const refunds = await dp.getLogs({ address: dest.port, topics: [portIface.getEvent('MessageRefunded')!.topicHash, id], fromBlock: 0n, toBlock: 'latest' });
      expect(refunds).toHaveLength(1);
      await until(async () => (await status(id)) === 'refunded', { timeoutMs: 60_000, what: 'index shows refunded' });
      const tl = await t.hub.index.timeline(id);
      expect(tl.map((x) => x.status)).not.toContain('delivered');
      const markedAt = Number(tl.find((x) => x.status === 'timed_out')!.height);

      // ON the Substrate chain: Remarked{port, blake2("qiao:cancel:" ++ id)} where the hub says, and no block since the send
      // remarked the id itself (a delivery); the receiver never saw it.
      const remarksOfPort = async (n: number) => {
        const events = (await (await ep.api.at(srv.blockHash(n)!)).query.system!.events!()) as unknown as { event: { section: string; method: string; data: { toHex(): string }[] } }[];
        return events.filter((x) => x.event.section === 'system' && x.event.method === 'Remarked' && x.event.data[0]!.toHex() === port).map((x) => x.event.data[1]!.toHex());
      };
      const marker = blake2AsHex(u8aConcat(new TextEncoder().encode('qiao:cancel:'), hexToU8a(id)), 256);
      expect(await remarksOfPort(markedAt)).toContain(marker);
      for (let n = fromHeight; n <= srv.head(); n++) expect(await remarksOfPort(n)).not.toContain(blake2AsHex(id, 256));
      expect(srv.receiver(receiver)!.ids).not.toContain(id);

      // A later delivery attempt of the same attested item is refused by the deliverer (receipt first).
      const row = (await t.hub.index.getMessage(id))!;
      const batch = (await t.hub.index.getBatch(BigInt(row.batchNo!)))!;
      const again = await deliverer.deliver({ rootType: 1, setId: 1n, batchNo: BigInt(row.batchNo!), root: batch.root, signatures: [], items: [{ id, encoded, proof: MessageTree.of(batch.ids).proof(id) }] });
      expect(again).toEqual([{ id, status: 'rejected', reason: 'cancelled' }]);
      expect(await deliverer.receiptOf(id)).toMatchObject({ status: 'cancelled', height: BigInt(markedAt) });
      // The hub keeps the port's record in its adapters' data folder (what a restart past the lookback window needs).
      expect(existsSync(substrateRecordFile(join(t.dataDir, 'adapters'), C, port))).toBe(true);
    } finally {
      dp.destroy();
    }
  }, 240_000);

  it('quarantines a relabelled event and a forged read proof; nothing arrives on chain', async () => {
    srv.faults.relabelRemarked = true;
    const relabelled = await send('relabelled');
    srv.faults.relabelRemarked = false;
    await until(async () => (await status(relabelled)) === 'quarantined', { timeoutMs: 60_000, what: 'relabelled quarantined' });
    expect((await t.hub.index.getMessage(relabelled))!.reason).toBe('proof_invalid:commitment_absent');

    srv.faults.forgeReadProof = true;
    const forged = await send('forged read proof');
    await until(async () => (await status(forged)) === 'quarantined', { timeoutMs: 60_000, what: 'forged proof quarantined' });
    srv.faults.forgeReadProof = false;
    expect((await t.hub.index.getMessage(forged))!.reason).toMatch(/^proof_invalid:/);

    // An honest message after them still goes through: the refusals did not stop the lane.
    const honest = await send('after the forgeries');
    await until(async () => (await status(honest)) === 'delivered', { timeoutMs: 90_000, what: 'delivered' });
    expect(await deliveredOnChain(relabelled)).toBe(0);
    expect(await deliveredOnChain(forged)).toBe(0);
    expect(await deliveredOnChain(honest)).toBe(1);
  }, 180_000);

  it('stops the lane at a runtime upgrade until governance re-anchors with the new pins', async () => {
    const before = srv.head();
    srv.upgradeRuntime(srv.specVersion() + 1);
    // The block that sets the new code carries the RuntimeEnvironmentUpdated digest.
    const upgradeAt = await until(async () => {
      for (let n = before; n <= srv.head(); n++) {
        const header = await ep.api.rpc.chain.getHeader(srv.blockHash(n)!);
        if (header.digest.logs.some((l) => l.isRuntimeEnvironmentUpdated)) return n;
      }
      return null;
    }, { timeoutMs: 30_000, what: 'upgrade block' });
    const id = await send('after the upgrade');
    const msg = await until(async () => t.hub.index.getMessage(id), { timeoutMs: 30_000, what: 'observed' });
    const height = BigInt(msg.srcHeight!);
    expect(height).toBeGreaterThan(BigInt(upgradeAt));
    // The light client walks past the upgrade and answers runtime_not_approved: the message waits (not quarantined).
    const grandpa = () => t.hub.relayer.ctx.chains.get(C)?.grandpa;
    await until(async () => {
      const r = await grandpa()?.trustedAt(height);
      return r && !r.ok && r.reason === 'runtime_not_approved';
    }, { timeoutMs: 60_000, what: 'runtime_not_approved' });
    expect(await status(id)).toBe('sent');
    expect(await deliveredOnChain(id)).toBe(0);

    // Governance: the block that set the new code becomes the new trust root, with the new spec version pinned.
    const gov = t.hub.governance.client;
    await gov.setChainStatus(t.hub.governance.path, C, 'suspend');
    await gov.reanchorChain(t.hub.governance.path, C, root(upgradeAt, srv.blockHash(upgradeAt)!, srv.specVersion()));
    await until(async () => (await status(id)) === 'delivered', { timeoutMs: 90_000, what: 'delivered after re-anchor' });
    expect(await deliveredOnChain(id)).toBe(1);
  }, 240_000);

  it('quarantines messages when the justifications are forged (the light client halts)', async () => {
    srv.faults.forgeJustification = true;
    const id = await send('forged justification');
    await until(async () => (await status(id)) === 'quarantined', { timeoutMs: 60_000, what: 'quarantined' });
    srv.faults.forgeJustification = false;
    expect((await t.hub.index.getMessage(id))!.reason).toBe('header_invalid:signature_invalid');
    expect(await deliveredOnChain(id)).toBe(0);
  }, 120_000);
});
