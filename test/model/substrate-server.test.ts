import '@polkadot/api-augment/substrate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiPromise, Keyring, WsProvider } from '@polkadot/api';
import type { SubmittableResult } from '@polkadot/api';
import type { KeyringPair } from '@polkadot/keyring/types';
import { blake2AsHex, blake2AsU8a, createKeyMulti, sortAddresses, xxhashAsU8a } from '@polkadot/util-crypto';
import { hexToU8a, u8aConcat, u8aToHex } from '@polkadot/util';
import { startSubstrateTestServer, type SubstrateTestServer } from '../servers/substrate/index.ts';
import { decodeHeader, grandpaLogs, verifyGrandpaJustification, verifyReadProof } from '../../proofs/substrate/index.ts';

/**
 * The Substrate test server checked from the outside: @polkadot/api must
 * accept it as a node, and the proofs/substrate verifiers (written separately
 * from the server) must accept its headers, read proofs and justifications,
 * and refuse them when a fault is switched on.
 */
const EVENTS_KEY = u8aToHex(u8aConcat(xxhashAsU8a('System', 128), xxhashAsU8a('Events', 128)));
type Hex = `0x${string}`;

async function until<T>(what: string, f: () => T | undefined | null | false | Promise<T | undefined | null | false>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('substrate test server', () => {
  let server: SubstrateTestServer;
  let api: ApiPromise;
  let provider: WsProvider;
  let alice: KeyringPair;
  let bob: KeyringPair;
  let remarkBlock: Hex;
  const remark = `0x${'ab'.repeat(300)}` as Hex;
  /** a modelled receiver contract (receiver.ts) */
  const RECEIVER = `0x${'7e'.repeat(32)}` as Hex;

  const rpc = <T>(method: string, params: unknown[] = []) => provider.send<T>(method, params);
  const rawHeader = async (hash: Hex) => {
    const h = await api.rpc.chain.getHeader(hash);
    const bytes = h.toU8a();
    expect(u8aToHex(blake2AsU8a(bytes, 256))).toBe(hash); // block hash = blake2_256(SCALE header)
    return decodeHeader(bytes);
  };
  const justificationOf = async (hash: Hex): Promise<Hex | null> => {
    const b = await rpc<{ justifications: [Hex, Hex][] | null }>('chain_getBlock', [hash]);
    return b.justifications?.find(([engine]) => engine === '0x46524e4b')?.[1] ?? null;
  };
  const submitAndInclude = async (tx: { signAndSend: (p: KeyringPair, cb: (r: SubmittableResult) => void) => Promise<() => void> }, who: KeyringPair) => {
    const results: SubmittableResult[] = [];
    const unsub = await tx.signAndSend(who, (r) => results.push(r));
    await until('ready', () => results.some((r) => r.status.isReady));
    await server.produceBlock();
    const inBlock = await until('in block', () => results.find((r) => r.status.isInBlock));
    unsub();
    return inBlock;
  };

  beforeAll(async () => {
    const t0 = Date.now();
    server = await startSubstrateTestServer({ blockTimeMs: 0, receivers: [RECEIVER] });
    console.log(`substrate test server start: ${Date.now() - t0} ms`);
    await server.produceBlock();
    provider = new WsProvider(server.url);
    api = await ApiPromise.create({ provider, noInitWarn: true });
    const keyring = new Keyring({ type: 'sr25519' });
    alice = keyring.addFromUri('//Alice');
    bob = keyring.addFromUri('//Bob');
  });

  afterAll(async () => {
    await api?.disconnect();
    await server?.close();
  });

  it('@polkadot/api connects, signs a remark from //Alice and decodes System.Remarked', async () => {
    expect(api.genesisHash.toHex()).toBe(server.genesisHash);
    expect((await api.rpc.system.chain()).toString()).toBe(server.chainName);
    expect(api.runtimeVersion.specVersion.toNumber()).toBe(server.specVersion());
    expect((await api.query.system.account(alice.address)).data.free.toBigInt()).toBeGreaterThan(0n);

    const inBlock = await submitAndInclude(api.tx.system.remarkWithEvent(remark), alice);
    remarkBlock = inBlock.status.asInBlock.toHex();
    const remarked = inBlock.events.find((e) => api.events.system.Remarked.is(e.event));
    expect(remarked).toBeDefined();
    const [sender, hash] = remarked!.event.data;
    expect(sender!.toString()).toBe(alice.address);
    expect(hash!.toHex()).toBe(blake2AsHex(remark, 256));
    expect(inBlock.events.some((e) => api.events.system.ExtrinsicSuccess.is(e.event))).toBe(true);

    const events = await (await api.at(remarkBlock)).query.system.events();
    expect(events.map((e) => `${e.event.section}.${e.event.method}`)).toEqual(['system.Remarked', 'system.ExtrinsicSuccess']);
    expect(events[0]!.phase.asApplyExtrinsic.toNumber()).toBe(0);
    expect((await api.query.system.account(alice.address)).nonce.toNumber()).toBe(1);
    // the block's extrinsic is the signed remark, and the extrinsics root commits to it
    const block = await api.rpc.chain.getBlock(remarkBlock);
    expect(block.block.extrinsics[0]!.method.args[0]!.toHex()).toBe(remark);
  });

  it('refuses a replayed, a tampered and an unsupported extrinsic', async () => {
    const signed = await api.tx.system.remarkWithEvent('0x01').signAsync(alice);
    const hex = signed.toHex();
    await rpc('author_submitExtrinsic', [hex]);
    await expect(rpc('author_submitExtrinsic', [hex])).rejects.toThrow(/1013|Already Imported/);
    await server.produceBlock();
    await expect(rpc('author_submitExtrinsic', [hex])).rejects.toThrow(/1010/); // stale nonce now
    const bytes = hexToU8a(hex);
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff; // change the remark after signing
    await expect(rpc('author_submitExtrinsic', [u8aToHex(bytes)])).rejects.toThrow(/bad signature/);
    await expect(api.tx.balances.transferKeepAlive(bob.address, 1).signAsync(alice).then((t) => rpc('author_submitExtrinsic', [t.toHex()]))).rejects.toThrow(/not executed/);
  });

  it('serves a read proof of System::Events that an independent verifier accepts against the header', async () => {
    const header = await rawHeader(remarkBlock);
    const proof = await rpc<{ at: Hex; proof: Hex[] }>('state_getReadProof', [[EVENTS_KEY], remarkBlock]);
    expect(proof.at).toBe(remarkBlock);
    const res = verifyReadProof(header.stateRoot, proof.proof, [EVENTS_KEY], 'v0');
    expect(res.ok).toBe(true);
    if (!res.ok) return;
    const stored = await rpc<Hex>('state_getStorage', [EVENTS_KEY, remarkBlock]);
    expect(u8aToHex(res.values[0]!)).toBe(stored);
    // the proven bytes decode to the Remarked event with the pinned indices (System = 0, Remarked = 5)
    expect(u8aToHex(res.values[0]!.subarray(1 + 5, 1 + 7))).toBe('0x0005');

    server.faults.forgeReadProof = true;
    const forged = await rpc<{ proof: Hex[] }>('state_getReadProof', [[EVENTS_KEY], remarkBlock]);
    server.faults.forgeReadProof = false;
    expect(verifyReadProof(header.stateRoot, forged.proof, [EVENTS_KEY], 'v0').ok).toBe(false);
  });

  it('finalizes with GRANDPA justifications that verify against the authority set, and refuses forged ones', async () => {
    await server.produceBlock();
    const header = await rawHeader(remarkBlock);
    await until('finalized', () => server.finalized() >= header.number);
    const set = server.authoritySet();
    const just = await until('justification', () => justificationOf(remarkBlock));
    const res = verifyGrandpaJustification(hexToU8a(just), set, { hash: remarkBlock, number: header.number });
    expect(res.ok).toBe(true);
    expect((await api.rpc.chain.getFinalizedHead()).toHex()).toBe(server.blockHash(server.finalized()));

    // grandpa_proveFinality: FinalityProof{block, justification, unknown_headers}
    const fp = hexToU8a(await rpc<Hex>('grandpa_proveFinality', [header.number]));
    expect(u8aToHex(fp.subarray(0, 32))).toBe(remarkBlock);
    const inner = api.registry.createType('(H256, Bytes, Vec<Header>)', fp) as unknown as [{ toHex(): Hex }, { toU8a(bare: boolean): Uint8Array }, unknown[]];
    expect(verifyGrandpaJustification(inner[1].toU8a(true), set, { hash: remarkBlock }).ok).toBe(true);

    server.faults.forgeJustification = true;
    const forged = (await justificationOf(remarkBlock))!;
    server.faults.forgeJustification = false;
    const bad = verifyGrandpaJustification(hexToU8a(forged), set, { hash: remarkBlock });
    expect(bad.ok).toBe(false);
  });

  it('relabelRemarked puts Remark.Stored where System.Remarked belongs', async () => {
    server.faults.relabelRemarked = true;
    const inBlock = await submitAndInclude(api.tx.system.remarkWithEvent('0xbeef'), alice);
    server.faults.relabelRemarked = false;
    const names = inBlock.events.map((e) => `${e.event.section}.${e.event.method}`);
    expect(names).toEqual(['remark.Stored', 'system.ExtrinsicSuccess']);
    expect(inBlock.events[0]!.event.data[1]!.toHex()).toBe(blake2AsHex('0xbeef', 256));
  });

  it('hands GRANDPA over to a new set through a ScheduledChange digest', async () => {
    const before = server.authoritySet();
    server.scheduleAuthorityChange('rotate', 1);
    await server.produceBlock();
    const signalled = server.head();
    const header = await rawHeader(server.blockHash(signalled)!);
    const logs = grandpaLogs(header);
    expect(logs).toHaveLength(1);
    expect(logs[0]!.kind).toBe('scheduledChange');
    if (logs[0]!.kind !== 'scheduledChange') return;
    const next = { setId: before.setId + 1n, authorities: logs[0]!.nextAuthorities.map((a) => ({ publicKey: a.publicKey, weight: a.weight })) };
    for (let i = 0; i < 4; i++) await server.produceBlock();
    // the block at signal + delay is the old set's last; the one after is the new set's first
    const last = server.blockHash(signalled + 1)! as Hex;
    const first = server.blockHash(signalled + 2)! as Hex;
    expect(verifyGrandpaJustification(hexToU8a((await justificationOf(last))!), before, { hash: last }).ok).toBe(true);
    expect(verifyGrandpaJustification(hexToU8a((await justificationOf(first))!), before, { hash: first }).ok).toBe(false);
    expect(verifyGrandpaJustification(hexToU8a((await justificationOf(first))!), next, { hash: first }).ok).toBe(true);
    expect(server.authoritySet().setId).toBe(next.setId);
    expect(server.authoritySet().authorities.map((a) => a.publicKey)).toEqual(next.authorities.map((a) => a.publicKey));

    server.forceAuthorityChange('rotate', 0);
    await server.produceBlock();
    const forced = grandpaLogs(await rawHeader(server.blockHash(server.head())! as Hex));
    expect(forced[0]?.kind).toBe('forcedChange');
  });

  it('upgradeRuntime bumps spec_version from the next block and emits System.CodeUpdated', async () => {
    const before = server.specVersion();
    server.upgradeRuntime(before + 1);
    await server.produceBlock();
    const hash = server.blockHash(server.head())! as Hex;
    expect((await api.rpc.state.getRuntimeVersion(hash)).specVersion.toNumber()).toBe(before + 1);
    expect((await api.rpc.state.getRuntimeVersion(server.blockHash(server.head() - 1)!)).specVersion.toNumber()).toBe(before);
    const events = await (await api.at(hash)).query.system.events();
    expect(events.map((e) => `${e.event.section}.${e.event.method}`)).toContain('system.CodeUpdated');
    await until('api sees the new runtime', () => api.runtimeVersion.specVersion.toNumber() === before + 1);
    // transactions signed for the new spec still go through
    const inBlock = await submitAndInclude(api.tx.system.remarkWithEvent('0x02'), bob);
    expect(inBlock.events.some((e) => api.events.system.Remarked.is(e.event))).toBe(true);
  });

  it('executes utility.batchAll and a 2-of-3 multisig.asMulti from the multisig account', async () => {
    const batch = await submitAndInclude(api.tx.utility.batchAll([api.tx.system.remarkWithEvent('0x0a'), api.tx.system.remarkWithEvent('0x0b')]), alice);
    expect(batch.events.map((e) => `${e.event.section}.${e.event.method}`)).toEqual([
      'system.Remarked', 'utility.ItemCompleted', 'system.Remarked', 'utility.ItemCompleted', 'utility.BatchCompleted', 'system.ExtrinsicSuccess',
    ]);
    expect(batch.events[2]!.event.data[1]!.toHex()).toBe(blake2AsHex('0x0b', 256));

    const charlie = new Keyring({ type: 'sr25519' }).addFromUri('//Charlie');
    const members = [alice.address, bob.address, charlie.address];
    const multisig = u8aToHex(createKeyMulti(members, 2)); // independent derivation of the multisig account
    const inner = api.tx.system.remarkWithEvent('0xc0ffee');
    const others = (me: string) => sortAddresses(members.filter((m) => m !== me));
    const weight = { refTime: 1_000_000_000, proofSize: 10_000 };
    const first = await submitAndInclude(api.tx.multisig.asMulti(2, others(alice.address), null, inner.method, weight), alice);
    const created = first.events.find((e) => api.events.multisig.NewMultisig.is(e.event));
    expect(created).toBeDefined();
    expect(created!.event.data[1]!.toHex()).toBe(multisig);
    const when = { height: (await api.rpc.chain.getHeader(first.status.asInBlock)).number.toNumber(), index: first.txIndex ?? 0 };
    const second = await submitAndInclude(api.tx.multisig.asMulti(2, others(bob.address), when, inner.method, weight), bob);
    const names = second.events.map((e) => `${e.event.section}.${e.event.method}`);
    expect(names).toEqual(['system.Remarked', 'multisig.MultisigExecuted', 'system.ExtrinsicSuccess']);
    expect(second.events[0]!.event.data[0]!.toHex()).toBe(multisig);
    expect((second.events[1]!.event.data[4] as unknown as { isOk: boolean }).isOk).toBe(true);
  });

  it('models a receiver contract: contracts.call records and emits, "fail" reverts the whole batchAll', async () => {
    const id = `0x${'1d'.repeat(32)}` as Hex;
    const weight = { refTime: 1_000_000_000, proofSize: 10_000 };
    const call = (data: string) => api.tx.contracts.call({ Id: RECEIVER }, 0, weight, null, data);
    const ok = await submitAndInclude(api.tx.utility.batchAll([api.tx.system.remarkWithEvent(id), call('0x68690a')]), alice);
    expect(ok.events.map((e) => `${e.event.section}.${e.event.method}`)).toEqual([
      'system.Remarked', 'utility.ItemCompleted', 'contracts.ContractEmitted', 'contracts.Called', 'utility.ItemCompleted', 'utility.BatchCompleted', 'system.ExtrinsicSuccess',
    ]);
    const emitted = ok.events[2]!.event;
    expect(emitted.data[0]!.toHex()).toBe(RECEIVER);
    const called = ok.events[3]!.event;
    expect(called.data[0]!.toJSON()).toEqual({ signed: alice.address });
    expect(server.receiver(RECEIVER)).toEqual({ received: 1, ids: [id], payloads: ['0x68690a'], callers: [u8aToHex(alice.publicKey)] });

    // "fail..." reverts: batchAll takes the remark with it, the extrinsic fails with Contracts.ContractReverted, nothing is recorded.
    const failed = await submitAndInclude(api.tx.utility.batchAll([api.tx.system.remarkWithEvent(id), call('0x6661696c21')]), alice);
    expect(failed.events.map((e) => `${e.event.section}.${e.event.method}`)).toEqual(['system.ExtrinsicFailed']);
    const err = failed.dispatchError!;
    expect(err.isModule && api.registry.findMetaError(err.asModule).name).toBe('ContractReverted');
    // A receiver before a failing item is rolled back too; an unknown address is ContractNotFound.
    const rolledBack = await submitAndInclude(api.tx.utility.batchAll([call('0x01'), call('0x6661696c')]), alice);
    expect(rolledBack.dispatchError).toBeDefined();
    const unknown = await submitAndInclude(api.tx.contracts.call({ Id: `0x${'00'.repeat(31)}01` }, 0, weight, null, '0x'), alice);
    expect(api.registry.findMetaError(unknown.dispatchError!.asModule).name).toBe('ContractNotFound');
    expect(server.receiver(RECEIVER)!.received).toBe(1);
    expect(server.receiver(`0x${'00'.repeat(32)}`)).toBeNull();
  });

  it('serves layout V1 (hashed values over 32 bytes) when asked, with stateVersion 1', async () => {
    const v1 = await startSubstrateTestServer({ blockTimeMs: 0, trieLayout: 'v1', seed: 'other' });
    try {
      expect(v1.genesisHash).not.toBe(server.genesisHash);
      // the seed alone (same layout) gives another genesis: the authorities are in the genesis state
      const other = await startSubstrateTestServer({ blockTimeMs: 0, seed: 'other' });
      expect(other.genesisHash).not.toBe(server.genesisHash);
      await other.close();
      await v1.produceBlock();
      const p = new WsProvider(v1.url);
      await p.isReady;
      const version = await p.send<{ stateVersion: number }>('state_getRuntimeVersion', []);
      expect(version.stateVersion).toBe(1);
      const hash = v1.blockHash(1)!;
      const header = await p.send<{ stateRoot: Hex }>('chain_getHeader', [hash]);
      // the account entry (AccountInfo is 80 bytes) is stored as a hashed value in V1
      const accountKey = u8aToHex(u8aConcat(xxhashAsU8a('System', 128), xxhashAsU8a('Account', 128), blake2AsU8a(alice.publicKey, 128), alice.publicKey));
      const proof = await p.send<{ proof: Hex[] }>('state_getReadProof', [[accountKey, EVENTS_KEY], hash]);
      const ok = verifyReadProof(header.stateRoot, proof.proof, [accountKey, EVENTS_KEY], 'v1');
      expect(ok.ok).toBe(true);
      if (ok.ok) expect(ok.values[0]!.length).toBe(80);
      expect(verifyReadProof(header.stateRoot, proof.proof, [accountKey], 'v0').ok).toBe(false);
      await p.disconnect();
    } finally {
      await v1.close();
    }
  });
});
