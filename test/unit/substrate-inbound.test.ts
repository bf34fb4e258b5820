import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keyring } from '@polkadot/keyring';
import { hexToU8a, u8aToHex } from '@polkadot/util';
import { blake2AsHex, createKeyMulti, cryptoWaitReady, decodeAddress } from '@polkadot/util-crypto';
import { AbiCoder, Wallet } from 'ethers';
import { createSubstrateAdapter } from '../../adapters/substrate/adapter.ts';
import { GrandpaLightClient } from '../../relayer/light/grandpa-client.ts';
import { decodeGrandpaTrustRoot, encodeGrandpaTrustRoot } from '../../relayer/light/grandpa-trust.ts';
import { verifySourceProof } from '../../relayer/verify-source.ts';
import type { ChainRegistration } from '../../src/domain/chain.ts';
import { until } from '../helpers/services.ts';
import { substrateChainId } from '../../adapters/substrate/chain-id.ts';
import { createSubstrateDeliverer } from '../../adapters/substrate/deliver.ts';
import { attestorPortAccount, ecdsaAccountOfKey, multisigAccount } from '../../adapters/substrate/multisig.ts';
import { connectEndpoint, disconnectEndpoint, type SubstrateEndpoint } from '../../adapters/substrate/rpc.ts';
import type { DeliveryBatch, MessageDeliverer } from '../../src/domain/adapter.ts';
import type { ChainId } from '../../src/domain/caip.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { MessageTree } from '../../src/domain/merkle.ts';
import { encodeMessage, messageId } from '../../src/domain/message.ts';
import { silentLogger } from '../../src/logging.ts';
import { multisigAccount as serverMultisigAccount } from '../servers/substrate/multisig.ts';
import { startSubstrateTestServer, type SubstrateTestServer } from '../servers/substrate/index.ts';

const sortAccountsForTest = (a: Uint8Array[]) => [...a].sort((x, y) => (u8aToHex(x) < u8aToHex(y) ? -1 : 1));
const newKeys = (n: number) => Array.from({ length: n }, () => Wallet.createRandom().privateKey as Hex);

describe('Substrate attestor accounts (ECDSA + pallet-multisig derivation)', () => {
  beforeAll(async () => {
    await cryptoWaitReady();
  });

  it('an attestor key is the ECDSA account blake2_256(compressed public key), as the keyring derives it', () => {
    for (const k of newKeys(3)) {
      const pair = new Keyring({ type: 'ecdsa' }).addFromSeed(hexToU8a(k));
      expect(u8aToHex(ecdsaAccountOfKey(k))).toBe(u8aToHex(decodeAddress(pair.address)));
      expect(u8aToHex(ecdsaAccountOfKey(k))).toBe(blake2AsHex(pair.publicKey, 256));
    }
  });

  it('the multisig account equals createKeyMulti (and the test server’s pallet model) for any order and threshold', () => {
    for (const n of [2, 3, 5]) {
      const members = newKeys(n).map(ecdsaAccountOfKey);
      for (let t = 1; t <= n; t++) {
        const want = u8aToHex(createKeyMulti(members, t));
        expect(u8aToHex(multisigAccount(members, t))).toBe(want);
        expect(u8aToHex(multisigAccount([...members].reverse(), t))).toBe(want);
        expect(u8aToHex(serverMultisigAccount(members, t))).toBe(want);
        expect(u8aToHex(attestorPortAccount(members, t))).toBe(want);
      }
      // Another threshold or another member is another account.
      expect(u8aToHex(multisigAccount(members, 1))).not.toBe(u8aToHex(multisigAccount(members, 2)));
    }
    const one = ecdsaAccountOfKey(newKeys(1)[0]!);
    // pallet-multisig has no 1-of-1: a set of one key is that key's own account.
    expect(u8aToHex(attestorPortAccount([one], 1))).toBe(u8aToHex(one));
    expect(() => multisigAccount([one, one], 1)).toThrow();
    expect(() => attestorPortAccount([one], 2)).toThrow();
  });
});

/** The deliverer against the test server (model receiver contracts), no hub: 2-of-3, 1-of-2 and a single key. */
describe('Substrate deliverer (multisig dispatch of utility.batchAll)', () => {
  let srv: SubstrateTestServer;
  let ep: SubstrateEndpoint;
  let C: ChainId;
  const receiver = `0x${'ab'.repeat(32)}` as Hex;
  let nonce = 0n;

  const msg = (port: Hex, payload: string, over: { dstChain?: ChainId; dstPort?: Hex; timeout?: bigint } = {}) => {
    const encoded = encodeMessage({
      version: 1,
      srcChain: 'eip155:31337001' as ChainId,
      srcPort: `0x${'11'.repeat(20)}` as Hex,
      sender: `0x${'22'.repeat(20)}` as Hex,
      dstChain: over.dstChain ?? C,
      dstPort: over.dstPort ?? port,
      receiver,
      nonce: ++nonce,
      gasLimit: 200_000n,
      timeoutHeight: 0n,
      timeoutUnixSeconds: over.timeout ?? 0n,
      payload: u8aToHex(new TextEncoder().encode(payload)) as Hex,
    });
    return { id: messageId(encoded), encoded };
  };
  const batchOf = (items: { id: Hex; encoded: Hex }[]): DeliveryBatch => {
    const tree = MessageTree.of(items.map((i) => i.id));
    return { rootType: 1, setId: 1n, batchNo: 1n, root: tree.root, signatures: [], items: items.map((i) => ({ ...i, proof: tree.proof(i.id) })) };
  };
  const remarkedBy = async (account: Hex, id: Hex, height: bigint) => {
    const apiAt = await ep.api.at(srv.blockHash(Number(height))!);
    const events = (await apiAt.query.system!.events!()) as unknown as { event: { section: string; method: string; data: { toHex(): string }[] } }[];
    return events.filter((r) => r.event.section === 'system' && r.event.method === 'Remarked' && r.event.data[0]!.toHex() === account && r.event.data[1]!.toHex() === blake2AsHex(hexToU8a(id), 256)).length;
  };

  beforeAll(async () => {
    await cryptoWaitReady();
    srv = await startSubstrateTestServer({ blockTimeMs: 100, receivers: [receiver] });
    ep = await connectEndpoint(srv.url);
    C = substrateChainId(srv.genesisHash);
  }, 60_000);

  afterAll(async () => {
    if (ep) await disconnectEndpoint(ep);
    await srv?.close();
  });

  async function deliverer(keys: Hex[], threshold: number): Promise<{ d: MessageDeliverer; port: Hex }> {
    const port = u8aToHex(attestorPortAccount(keys.map(ecdsaAccountOfKey), threshold)) as Hex;
    return { d: await createSubstrateDeliverer({ chainId: C, port, endpoint: ep, attestorKeys: keys, logger: silentLogger() }), port };
  }

  for (const [n, k] of [
    [3, 2],
    [2, 1],
    [1, 1],
  ] as const) {
    it(`${k}-of-${n}: delivers once, a failing receiver reverts the batch, refuses bad items`, async () => {
      const before = srv.receiver(receiver)!.received;
      const keys = newKeys(n);
      const { d, port } = await deliverer(keys, k);
      const ok = msg(port, `hello ${k}-of-${n}`);
      const bad = msg(port, 'fail: receiver reverts');
      const wrongPort = msg(`0x${'cd'.repeat(32)}` as Hex, 'wrong port');
      const wrongChain = msg(port, 'wrong chain', { dstChain: 'polkadot:00000000000000000000000000000000' as ChainId });
      const batch = batchOf([ok, bad, wrongPort, wrongChain]);
      // An item whose proof does not verify against the attested root is refused before anything is signed.
      const forged = { ...msg(port, 'not in the batch'), proof: batch.items[0]!.proof };
      const out = await d.deliver({ ...batch, items: [...batch.items, forged] });
      expect(out.map((o) => o.status)).toEqual(['delivered', 'failed', 'rejected', 'rejected', 'rejected']);
      expect(out.slice(2).map((o) => (o as { reason: string }).reason)).toEqual(['wrong_port', 'wrong_chain', 'bad_proof']);
      expect((out[1] as { reason: string }).reason).toBe('contracts.ContractReverted');

      // ON the chain: the model receiver got exactly the one payload, remarked by the port account.
      const rec = srv.receiver(receiver)!;
      expect(rec.received).toBe(before + 1);
      expect(rec.ids.at(-1)).toBe(ok.id);
      expect(rec.callers.at(-1)).toBe(port);
      expect(await remarkedBy(port, ok.id, (out[0] as { height: bigint }).height)).toBe(1);

      // Receipts, and a replay does not dispatch again (a fresh deliverer finds them on chain).
      const { d: d2 } = await deliverer(keys, k);
      expect(await d2.receiptOf(ok.id)).toMatchObject({ status: 'delivered', height: (out[0] as { height: bigint }).height });
      expect(await d2.receiptOf(bad.id)).toMatchObject({ status: 'failed', reason: 'contracts.ContractReverted' });
      expect(await d2.receiptOf(wrongPort.id)).toBeNull();
      const replay = await d2.deliver(batchOf([ok, bad]));
      expect(replay.map((o) => o.status)).toEqual(['delivered', 'failed']);
      const headBefore = srv.head();
      while (srv.head() < headBefore + 3) await new Promise((r) => setTimeout(r, 50));
      expect(srv.receiver(receiver)!.received).toBe(before + 1);
    }, 60_000);
  }

  it('2-of-3: resumes an operation opened earlier (a crash between approvals) instead of opening it again', async () => {
    const keys = newKeys(3);
    const { d, port } = await deliverer(keys, 2);
    const m = msg(port, 'resumed');
    // The first approval, as the deliverer would have sent it before the crash: the same batchAll.
    const api = ep.api;
    const inner = api.tx.utility!.batchAll!([
      api.tx.system!.remarkWithEvent!(m.id),
      api.tx.contracts!.call!({ Id: receiver }, 0, { refTime: 200_000n * 1_000_000n, proofSize: 1_048_576n }, null, u8aToHex(new TextEncoder().encode('resumed'))),
    ]);
    const pairs = keys.map((k) => new Keyring({ type: 'ecdsa' }).addFromSeed(hexToU8a(k)));
    const members = keys.map(ecdsaAccountOfKey);
    const first = pairs.find((p) => u8aToHex(decodeAddress(p.address)) === u8aToHex(sortAccountsForTest(members)[0]!))!;
    const others = sortAccountsForTest(members.filter((a) => u8aToHex(a) !== u8aToHex(decodeAddress(first.address)))).map((a) => u8aToHex(a));
    const opened = new Promise<void>((resolve, reject) => {
      void api.tx.multisig!.asMulti!(2, others, null, inner, { refTime: (1n << 62n) - 1n, proofSize: 4_194_304n })
        .signAndSend(first, { nonce: -1 }, (r) => {
          if (r.dispatchError) reject(new Error(r.dispatchError.toString()));
          // The test server can skip InBlock when a block is sealed right after submission (see the report); Finalized implies it.
          else if (r.status.isInBlock || r.status.isFinalized) resolve();
          else if (r.isError) reject(new Error(`opening extrinsic: ${r.status.type}`));
        })
        .catch(reject);
    });
    await opened;
    expect((await api.query.multisig!.multisigs!(port, blake2AsHex(inner.method.toU8a(), 256))).isEmpty).toBe(false);
    const before = srv.receiver(receiver)!.received;
    const out = await d.deliver(batchOf([m]));
    expect(out.map((o) => o.status)).toEqual(['delivered']);
    expect(srv.receiver(receiver)!.received).toBe(before + 1);
    expect(srv.receiver(receiver)!.ids.at(-1)).toBe(m.id);
    // Executed: the operation is gone from storage.
    expect((await api.query.multisig!.multisigs!(port, blake2AsHex(inner.method.toU8a(), 256))).isEmpty).toBe(true);
  }, 60_000);

  it('a failing batch of ANOTHER account that remarks our id is not taken as our receipt (no censorship by front-running)', async () => {
    const keys = newKeys(1);
    const { d, port } = await deliverer(keys, 1);
    const m = msg(port, 'front-run me');
    const api = ep.api;
    const alice = new Keyring({ type: 'sr25519' }).addFromUri('//Alice');
    const weight = { refTime: 1_000_000_000n, proofSize: 10_000n };
    await new Promise<void>((resolve, reject) => {
      // Wrapped in the attacker's own 1-of-2 multisig (as_multi_threshold_1): the same shape our deliveries have.
      const batch = api.tx.utility!.batchAll!([api.tx.system!.remarkWithEvent!(m.id), api.tx.contracts!.call!({ Id: receiver }, 0, weight, null, '0x6661696c')]);
      void api.tx.multisig!.asMultiThreshold1!(['0x8eaf04151687736326c9fea17e25fc5287613693c912909cb226aa4794f26a48'], batch)
        .signAndSend(alice, { nonce: -1 }, (r) => {
          if (r.status.isInBlock || r.status.isFinalized) {
            if (r.dispatchError) resolve();
            else reject(new Error('expected the batch to fail'));
          }
          else if (r.isError) reject(new Error(`attacker extrinsic: ${r.status.type}`));
        })
        .catch(reject);
    });
    expect(await d.receiptOf(m.id)).toBeNull();
    const out = await d.deliver(batchOf([m]));
    expect(out.map((o) => o.status)).toEqual(['delivered']);
    expect(srv.receiver(receiver)!.ids.at(-1)).toBe(m.id);
  }, 60_000);

  it('2-of-3 through the adapter: acks the port account sends (nested in asMulti) are observed once and pass the remarks verifier', async () => {
    const keys = newKeys(3);
    const port = u8aToHex(attestorPortAccount(keys.map(ecdsaAccountOfKey), 2)) as Hex;
    const set = srv.authoritySet();
    const reg: ChainRegistration = {
      chainId: C,
      family: 'substrate',
      genesisHash: srv.genesisHash,
      port,
      lightClient: 'grandpa',
      trustRoot: encodeGrandpaTrustRoot({
        height: srv.finalized(),
        hash: srv.blockHash(srv.finalized())! as Hex,
        setId: set.setId,
        authorities: set.authorities.map((a) => ({ key: a.publicKey, weight: a.weight })),
        runtime: { specVersion: srv.specVersion(), metadataHash: blake2AsHex(srv.metadataHex(), 256) as Hex, systemPallet: 0, remarkedEvent: 5 },
      }),
      finality: { kind: 'grandpa' },
      endpoints: [srv.url],
      status: 'approved',
    };
    const adapter = await createSubstrateAdapter(reg, { logger: silentLogger(), attestorKeys: keys });
    try {
      const from = BigInt(srv.head() + 1);
      const ok = msg(port, 'answered', { timeout: 10n ** 10n });
      const bad = msg(port, 'fail and answer', { timeout: 10n ** 10n });
      const out = await adapter.deliverer.deliver(batchOf([ok, bad]));
      expect(out.map((o) => o.status)).toEqual(['delivered', 'failed']);
      const to = BigInt(srv.head());
      await until(async () => srv.finalized() >= Number(to), { timeoutMs: 30_000, what: 'finalized' });
      const found = await adapter.watcher.messagesIn(from, to);
      const acks = found.map((f) => ({ f, ack: AbiCoder.defaultAbiCoder().decode(['uint8', 'bytes32', 'bytes'], f.message.payload) }));
      expect(acks.map((a) => [Number(a.ack[0]), (a.ack[1] as string).toLowerCase()])).toEqual([
        [1, ok.id],
        [2, bad.id],
      ]);
      expect(new TextDecoder().decode(hexToU8a(acks[1]!.ack[2] as string))).toBe('contracts.ContractReverted');
      for (const { f } of acks) {
        expect(f.message).toMatchObject({ srcChain: C, srcPort: port, sender: port, dstChain: 'eip155:31337001', dstPort: `0x${'11'.repeat(20)}`, receiver: `0x${'11'.repeat(20)}` });
      }
      expect(acks.map((a) => a.f.message.nonce)).toEqual([1n, 2n]);
      const lc = new GrandpaLightClient(decodeGrandpaTrustRoot(reg.trustRoot, reg.chainId), adapter.grandpa);
      for (const { f } of acks) {
        const t = await lc.trustedAt(f.height);
        if (!t.ok) throw new Error(`light client: ${t.reason}`);
        const proof = await adapter.prover.proveCommitments(f.height, [f.id], 0);
        const v = verifySourceProof(reg, proof, { height: f.height, ids: [f.id], anchor: { kind: 'state-root', hash: t.hash, stateRoot: t.stateRoot }, runtime: await lc.runtime() }, { allowLocalDev: false });
        expect(v).toEqual({ ok: true, lightClient: 'grandpa' });
      }
    } finally {
      await adapter.close();
    }
  }, 60_000);
});
