import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Contract, Wallet, getAddress, type JsonRpcProvider } from 'ethers';
import { portArtifacts, type PortArtifacts } from '../../adapters/evm/artifacts.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { makeProvider } from '../../src/evm/provider.ts';
import { TxSender } from '../../src/evm/signer.ts';
import { AttestorSetClient } from '../../src/governance/attestor-set.ts';
import { SnapshotLogClient } from '../../src/governance/snapshots.ts';
import { silentLogger } from '../../src/logging.ts';
import { buildRegistrySnapshot } from '../../src/registries/snapshot/builder.ts';
import { Attestor, type SnapshotSource } from '../../relayer/attestor/attestor.ts';
import { SignedRootRecord } from '../../relayer/attestor/record.ts';
import { startTestHub, type TestHub } from '../helpers/hub.ts';
import { until } from '../helpers/services.ts';

/**
 * Registry snapshots end to end: a change in the registries on the governance
 * chain becomes a new snapshot in the MessageLog, is attested after each
 * attestor rebuilt it, and reaches both demo ports, where a contract can check a
 * leaf against it (registryRootInfo / checkRegistryLeaf read from each chain).
 */
describe('registry snapshot pipeline end to end', () => {
  let t: TestHub;
  let artifacts: PortArtifacts;
  let ports: { chainId: string; port: Contract; provider: JsonRpcProvider }[];
  let user: TxSender;
  let record: SignedRootRecord;
  let source: (block: bigint) => ReturnType<typeof buildRegistrySnapshot>;

  beforeAll(async () => {
    t = await startTestHub();
    artifacts = await portArtifacts();
    ports = t.hub.demo!.chains.map((c) => {
      const provider = makeProvider(c.url, BigInt(c.numericId), { pollingMs: 100 });
      return { chainId: c.chainId, provider, port: new Contract(c.port, artifacts.QiaoPort.abi as never, provider) };
    });
    const gov = t.hub.governance.client;
    const wallet = Wallet.createRandom();
    await gov.provider.send('anvil_setBalance', [wallet.address, '0x3635C9ADC5DEA00000']);
    user = new TxSender(wallet.privateKey, gov.provider);

    // An attestor that rebuilds snapshots with its own registry reader becomes the
    // set (signed over by the hub's current set), and the relayer runs the job.
    const registries = t.hub.registries;
    source = (block) => buildRegistrySnapshot(registries, block);
    const key = Wallet.createRandom();
    record = SignedRootRecord.open(join(t.dataDir, 'attestor', `${key.address.toLowerCase()}.jsonl`));
    const snapshots: SnapshotSource = source;
    t.hub.relayer.addAttestor(new Attestor(key.privateKey as Hex, gov, record, { finalityDepth: 0, logger: silentLogger(), snapshots }));
    const sets = new AttestorSetClient(gov);
    await sets.proposeSet(t.hub.governance.path, [key.address], 1);
    for (const p of ports) {
      await until(async () => getAddress((await p.port.getFunction('attestors')())[0] as string) === getAddress(key.address), {
        timeoutMs: 30_000,
        what: `the snapshot attestor's set on ${p.chainId}`,
      });
    }
    t.hub.relayer.enableSnapshots({ source, intervalMs: 300 });
  });

  afterAll(async () => {
    for (const p of ports ?? []) p.provider.destroy();
    record?.close();
    await t?.stop();
  });

  const rootInfo = async (p: (typeof ports)[0]) => {
    const [snapshotNo, treeRoot, takenAt] = (await p.port.getFunction('registryRootInfo')()) as [bigint, string, bigint];
    return { snapshotNo, treeRoot: treeRoot.toLowerCase() as Hex, takenAt };
  };

  /** Waits until both ports hold the MessageLog's latest snapshot and it describes the registries now. */
  async function snapshotOnBothPorts(previous: bigint) {
    const log = new SnapshotLogClient(t.hub.governance.client);
    const latest = await until(async () => {
      const s = await log.latest();
      return s && s.snapshotNo > previous ? s : null;
    }, { timeoutMs: 30_000, what: 'a new snapshot in the MessageLog' });
    for (const p of ports) {
      await until(async () => (await rootInfo(p)).snapshotNo === latest.snapshotNo, { timeoutMs: 30_000, what: `snapshot ${latest.snapshotNo} on ${p.chainId}` });
      expect(await rootInfo(p)).toEqual({ snapshotNo: latest.snapshotNo, treeRoot: latest.treeRoot, takenAt: latest.takenAt });
    }
    return latest;
  }

  const check = (p: (typeof ports)[0], leaf: unknown, proof: Hex[]) => p.port.getFunction('checkRegistryLeaf')(leaf, proof).then(Number);

  it('a registry change makes a new snapshot that reaches both ports; proofs against it check out there, old ones are refused', async () => {
    const { did, didHash } = await t.hub.registries.identity.create(user);
    const first = await snapshotOnBothPorts(0n);
    const built = await source(first.sourceBlock);
    expect(built.treeRoot).toBe(first.treeRoot);
    const active = built.proofFor('identity', didHash)!;
    expect(active.leaf.status).toBe(1);
    for (const p of ports) expect(await check(p, active.leaf, active.proof)).toBe(0);

    // The identity is deactivated: the next snapshot says so, and the "active" proof stops working.
    await t.hub.registries.identity.deactivate(user, did);
    const second = await snapshotOnBothPorts(first.snapshotNo);
    expect(second.treeRoot).not.toBe(first.treeRoot);
    const deactivated = (await source(second.sourceBlock)).proofFor('identity', didHash)!;
    expect(deactivated.leaf.status).toBe(2);
    for (const p of ports) {
      expect(await check(p, active.leaf, active.proof)).toBe(3);
      expect(await check(p, deactivated.leaf, deactivated.proof)).toBe(0);
    }
    // Each was attested by the set that rebuilt it (root type 2 in the index).
    const sigs = await t.hub.index.attestations(second.snapshotNo, 2);
    expect(sigs.map((s) => getAddress(s.attestor))).toEqual([getAddress((await t.hub.governance.client.attestors()).members[0]!)]);
  });

  it('commits nothing while the registries stay the same, and refreshes an unchanged tree before ports would find it too old', async () => {
    const gov = t.hub.governance.client;
    const log = new SnapshotLogClient(gov);
    const before = (await log.latest())!;
    // New governance blocks, no registry change: the job compares them and commits nothing.
    for (let i = 0; i < 3; i++) await gov.provider.send('evm_mine', []);
    const head = BigInt(await gov.provider.getBlockNumber());
    await until(async () => (t.hub.relayer.snapshotProgress()?.checkedThrough ?? -1n) >= head, { timeoutMs: 20_000, what: 'the snapshot job compared the new blocks' });
    expect(await log.latest()).toEqual(before);

    // With a refresh age, the same tree is committed again once it is that old on the governance chain's clock.
    t.hub.relayer.enableSnapshots({ source, intervalMs: 300, refreshSeconds: 600 });
    await gov.provider.send('evm_increaseTime', [601]);
    await gov.provider.send('evm_mine', []);
    const refreshed = await snapshotOnBothPorts(before.snapshotNo);
    expect(refreshed.snapshotNo).toBe(before.snapshotNo + 1n);
    expect(refreshed.treeRoot).toBe(before.treeRoot);
    expect(refreshed.takenAt).toBeGreaterThanOrEqual(before.takenAt + 601n);
  });
});
