import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Contract, Interface, Wallet, getAddress, type JsonRpcProvider } from 'ethers';
import { portArtifacts, type PortArtifacts } from '../../adapters/evm/artifacts.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { messageId } from '../../src/domain/message.ts';
import { makeProvider } from '../../src/evm/provider.ts';
import { TxSender } from '../../src/evm/signer.ts';
import { AttestorSetClient } from '../../src/governance/attestor-set.ts';
import { silentLogger } from '../../src/logging.ts';
import { Attestor } from '../../relayer/attestor/attestor.ts';
import { SignedRootRecord } from '../../relayer/attestor/record.ts';
import { startTestHub, type TestHub } from '../helpers/hub.ts';
import { until } from '../helpers/services.ts';

interface Member {
  chainId: string;
  port: string;
  receiver: string;
  provider: JsonRpcProvider;
  user: TxSender;
}

/**
 * An attestor-set rotation on a running hub: governance proposes a new 2-of-3
 * set of fresh keys, the hub's current set signs the hand-over, it is activated
 * on the governance chain and carried to both demo ports, and messages sent
 * before, during and after all arrive exactly once.
 */
describe('attestor-set rotation end to end', () => {
  let t: TestHub;
  let artifacts: PortArtifacts;
  let portIface: Interface;
  let chains: Member[];
  const records: SignedRootRecord[] = [];

  beforeAll(async () => {
    t = await startTestHub();
    artifacts = await portArtifacts();
    portIface = new Interface(artifacts.QiaoPort.abi as never);
    chains = [];
    for (const c of t.hub.demo!.chains) {
      const provider = makeProvider(c.url, BigInt(c.numericId), { pollingMs: 100 });
      const wallet = Wallet.createRandom();
      await provider.send('anvil_setBalance', [wallet.address, '0x3635C9ADC5DEA00000']);
      chains.push({ chainId: c.chainId, port: c.port, receiver: c.receiver, provider, user: new TxSender(wallet.privateKey, provider) });
    }
  });

  afterAll(async () => {
    for (const c of chains ?? []) c.provider.destroy();
    for (const r of records) r.close();
    await t?.stop();
  });

  /** Sends `n` messages alternating A→B and B→A, back to back; resolves with their ids and destinations. */
  async function sendSome(n: number, label: string): Promise<{ id: Hex; to: Member }[]> {
    const [a, b] = chains as [Member, Member];
    const sends: Promise<{ id: Hex; to: Member }>[] = [];
    for (let i = 0; i < n; i++) {
      const [from, to] = i % 2 === 0 ? [a, b] : [b, a];
      const data = portIface.encodeFunctionData('send', [to.chainId, to.port, to.receiver, 200_000n, 0n, 0n, new TextEncoder().encode(`${label} #${i}`)]);
      const tx = await from.user.signer.sendTransaction({ to: from.port, data, gasLimit: 500_000n });
      sends.push(
        tx.wait().then((r) => {
          const log = r!.logs.map((l) => portIface.parseLog(l)).find((p) => p?.name === 'MessageSent')!;
          return { id: messageId(log.args[3] as Hex), to };
        }),
      );
    }
    return Promise.all(sends);
  }

  const portOf = (c: Member) => new Contract(c.port, artifacts.QiaoPort.abi as never, c.provider);

  /** Successful MessageDelivered events per id at a destination port, read from the chain. */
  async function deliveredAt(c: Member): Promise<Map<string, number>> {
    const logs = await c.provider.getLogs({ address: c.port, topics: [portIface.getEvent('MessageDelivered')!.topicHash], fromBlock: 0n, toBlock: 'latest' });
    const perId = new Map<string, number>();
    for (const l of logs) {
      const p = portIface.parseLog(l)!;
      expect(p.args[1]).toBe(true);
      const id = (p.args[0] as string).toLowerCase();
      perId.set(id, (perId.get(id) ?? 0) + 1);
    }
    return perId;
  }

  it('rotates to a new 2-of-3 set on the governance chain and on both ports; messages keep flowing, each delivered once', async () => {
    const gov = t.hub.governance.client;
    const sets = new AttestorSetClient(gov);
    const before = await sets.current();
    expect(before.members).toHaveLength(1);

    // The new set's keys, run by this hub (in a consortium, each by its own member).
    const keys = [0, 1, 2].map(() => Wallet.createRandom());
    for (const k of keys) {
      const record = SignedRootRecord.open(join(t.dataDir, 'attestor', `${k.address.toLowerCase()}.jsonl`));
      records.push(record);
      t.hub.relayer.addAttestor(new Attestor(k.privateKey as Hex, gov, record, { finalityDepth: 0, logger: silentLogger() }));
    }
    const newMembers = keys.map((k) => getAddress(k.address));

    // Traffic before the proposal, still in flight while the hand-over happens.
    const early = await sendSome(6, 'before');
    const proposed = await sets.proposeSet(t.hub.governance.path, newMembers, 2);
    expect(proposed.executed).toBe(true);
    const newSetId = (await gov.attestorSet.getFunction('lastProposedId')()) as bigint;
    expect(newSetId).toBeGreaterThan(before.setId);

    // Activated on the governance chain with the old set's signature.
    const current = await until(async () => {
      const c = await sets.current();
      return c.setId === newSetId ? c : null;
    }, { timeoutMs: 30_000, what: 'the new set active on the governance chain' });
    expect(current).toEqual({ setId: newSetId, threshold: 2, members: newMembers });
    const hop = (await sets.handOversSince(before.setId))!;
    expect(hop.map((h) => h.setId)).toEqual([newSetId]);
    expect(hop[0]!.previousSetId).toBe(before.setId);

    // Carried to BOTH demo ports, read from each chain.
    for (const c of chains) {
      await until(async () => (await portOf(c).getFunction('setId')()) === newSetId, { timeoutMs: 30_000, what: `the hand-over on ${c.chainId}` });
      const port = portOf(c);
      expect((await port.getFunction('attestors')()).map(getAddress)).toEqual(newMembers);
      expect(await port.getFunction('threshold')()).toBe(2n);
      expect(await port.getFunction('previousSetId')()).toBe(before.setId);
      const rotated = await c.provider.getLogs({ address: c.port, topics: [portIface.getEvent('AttestorsRotated')!.topicHash], fromBlock: 0n, toBlock: 'latest' });
      expect(rotated.map((l) => portIface.parseLog(l)!.args.slice(0, 2))).toEqual([[before.setId, newSetId]]);
    }

    // Traffic after the rotation: signed by the new set only.
    const late = await sendSome(6, 'after');
    const all = [...early, ...late];
    expect(new Set(all.map((s) => s.id)).size).toBe(all.length);

    await until(
      async () => {
        for (const c of chains) {
          const got = await deliveredAt(c);
          if (all.filter((s) => s.to.chainId === c.chainId).some((s) => !got.has(s.id))) return false;
        }
        return true;
      },
      { timeoutMs: 90_000, intervalMs: 500, what: 'every message delivered on chain' },
    );

    // Exactly once, from the destination chains: events and the receivers' own counters.
    for (const c of chains) {
      const got = await deliveredAt(c);
      const mine = all.filter((s) => s.to.chainId === c.chainId);
      expect(got.size).toBe(mine.length);
      for (const s of mine) expect(got.get(s.id)).toBe(1);
      const r = new Contract(c.receiver, artifacts.DemoReceiver.abi as never, c.provider);
      expect(Number(await r.getFunction('received')())).toBe(mine.length);
    }

    // The roots of the late messages were accepted under the new set, with the new keys' signatures.
    const accepted = new Set<bigint>();
    for (const c of chains) {
      const logs = await c.provider.getLogs({ address: c.port, topics: [portIface.getEvent('RootAccepted')!.topicHash], fromBlock: 0n, toBlock: 'latest' });
      for (const l of logs) accepted.add(portIface.parseLog(l)!.args[0] as bigint);
    }
    expect(accepted.has(newSetId)).toBe(true);
    for (const s of late) {
      const tl = await until(async () => {
        const x = await t.hub.index.timeline(s.id);
        return x.some((e) => e.status === 'delivered') ? x : null;
      }, { timeoutMs: 10_000, what: 'the index shows the delivery' });
      const attested = tl.find((e) => e.status === 'attested')!.proof as { setId: string; signatures: { attestor: string }[] };
      expect(attested.setId).toBe(newSetId.toString());
      for (const sig of attested.signatures) expect(newMembers).toContain(getAddress(sig.attestor));
    }
  });
});
