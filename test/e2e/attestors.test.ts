import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Contract, Interface, SigningKey, Wallet, getAddress, type HDNodeWallet, type JsonRpcProvider } from 'ethers';
import { portArtifacts, type PortArtifacts } from '../../adapters/evm/artifacts.ts';
import { attestationsPlugin } from '../../src/api/attestations.ts';
import { startApi, type RunningApi } from '../../src/api/server.ts';
import { ROOT_TYPE, signAttestation } from '../../src/domain/attestation.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { messageId } from '../../src/domain/message.ts';
import { ContractRevertError } from '../../src/errors.ts';
import { makeProvider } from '../../src/evm/provider.ts';
import { TxSender } from '../../src/evm/signer.ts';
import { AttestorSetClient } from '../../src/governance/attestor-set.ts';
import { silentLogger } from '../../src/logging.ts';
import { pausePort } from '../../relayer/attestor/pause.ts';
import { AttestorProcess, attestorGovernance } from '../../relayer/attestor/process.ts';
import { SignedRootRecord } from '../../relayer/attestor/record.ts';
import { startTestHub, type TestHub } from '../helpers/hub.ts';
import { until } from '../helpers/services.ts';
import { cleanEnv, REPO_ROOT } from '../helpers/cli.ts';

interface Member {
  chainId: string;
  url: string;
  port: string;
  receiver: string;
  provider: JsonRpcProvider;
  user: TxSender;
}

/**
 * Attestors as separate processes: the hub's set is rotated to a 2-of-3 set of
 * keys the hub does not hold; attestor processes (own key, own record, own
 * governance reads) post their signatures to POST /attestations. One process
 * alone delivers nothing; the second makes k and the messages arrive.
 */
describe('attestor processes with their own keys', () => {
  let t: TestHub;
  let api: RunningApi;
  let artifacts: PortArtifacts;
  let portIface: Interface;
  let chains: Member[];
  let keys: HDNodeWallet[];
  let newSetId: bigint;
  const procs: AttestorProcess[] = [];
  const govs: { provider: JsonRpcProvider }[] = [];
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    t = await startTestHub();
    artifacts = await portArtifacts();
    portIface = new Interface(artifacts.QiaoPort.abi as never);
    chains = [];
    for (const c of t.hub.demo!.chains) {
      const provider = makeProvider(c.url, BigInt(c.numericId), { pollingMs: 100 });
      const wallet = Wallet.createRandom();
      await provider.send('anvil_setBalance', [wallet.address, '0x3635C9ADC5DEA00000']);
      chains.push({ chainId: c.chainId, url: c.url, port: c.port, receiver: c.receiver, provider, user: new TxSender(wallet.privateKey, provider) });
    }
    // The hub's API with the attestations route (a hub wires it into its own API the same way).
    api = await startApi({ index: t.hub.index, health: async () => ({ ok: true, governance: null, chains: [], queues: {} }), plugins: [attestationsPlugin({ index: t.hub.index, gov: t.hub.governance.client })] });

    // Rotate to 2-of-3 fresh keys the hub does not hold; the hub's attestor signs the hand-over.
    const gov = t.hub.governance.client;
    const sets = new AttestorSetClient(gov);
    const before = await sets.current();
    keys = [0, 1, 2].map(() => Wallet.createRandom());
    await sets.proposeSet(t.hub.governance.path, keys.map((k) => k.address), 2);
    newSetId = (await gov.attestorSet.getFunction('lastProposedId')()) as bigint;
    await until(async () => (await sets.current()).setId === newSetId, { timeoutMs: 30_000, what: 'the new set active on the governance chain' });
    for (const c of chains) {
      await until(async () => (await portOf(c).getFunction('setId')()) === newSetId, { timeoutMs: 30_000, what: `the hand-over on ${c.chainId}` });
    }
    expect(before.setId).toBeLessThan(newSetId);
  }, 90_000);

  afterAll(async () => {
    for (const p of procs) await p.stop();
    for (const c of children) if (c.exitCode === null && c.signalCode === null) process.kill(-c.pid!, 'SIGKILL');
    for (const g of govs) g.provider.destroy();
    for (const c of chains ?? []) c.provider.destroy();
    await api?.close();
    await t?.stop();
  });

  const portOf = (c: Member) => new Contract(c.port, artifacts.QiaoPort.abi as never, c.provider);

  const recordFile = (k: HDNodeWallet) => join(t.dataDir, 'external', k.address.toLowerCase(), 'record.jsonl');

  async function startProcess(k: HDNodeWallet): Promise<AttestorProcess> {
    const gov = await attestorGovernance(t.hub.governance.url, t.hub.governance.contracts.attestorSet, { expectChainId: t.hub.governance.chainId, chainRegistry: t.hub.governance.contracts.chainRegistry });
    govs.push(gov);
    const demoIds = new Set(chains.map((c) => c.chainId));
    const p = AttestorProcess.start({
      privateKey: k.privateKey as Hex,
      gov,
      recordFile: recordFile(k),
      hubUrl: api.url,
      finalityDepth: 0,
      pollMs: 200,
      // Every external attestor re-verifies each message's source; the demo chains are local-dev by the operator's choice.
      reverify: { allowLocalDev: (c: string) => demoIds.has(c) },
      logger: silentLogger(),
    });
    procs.push(p);
    return p;
  }

  async function keyFile(k: HDNodeWallet): Promise<string> {
    const dir = join(t.dataDir, 'external', k.address.toLowerCase());
    await mkdir(dir, { recursive: true });
    const file = join(dir, 'key');
    await writeFile(file, `${k.privateKey}\n`, { mode: 0o600 });
    return file;
  }

  /** `qiao attestor start` as a real process, as an attestor's operator runs it. */
  async function spawnAttestor(k: HDNodeWallet): Promise<{ child: ChildProcess; exited: Promise<number | null>; output: () => string }> {
    const args = ['attestor', 'start', '--key-file', await keyFile(k), '--hub', api.url, '--governance-rpc', t.hub.governance.url, '--attestor-set', t.hub.governance.contracts.attestorSet, '--data-dir', join(t.dataDir, 'external', k.address.toLowerCase(), 'cli'), '--finality-depth', '0', '--poll-ms', '200', '--chain-registry', t.hub.governance.contracts.chainRegistry, ...chains.flatMap((c) => ['--allow-local-dev', c.chainId])];
    const child = spawn(process.execPath, [`${REPO_ROOT}bin/qiao.mjs`, ...args], { cwd: REPO_ROOT, env: cleanEnv(), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    return { child, exited, output: () => out };
  }

  async function send(from: Member, to: Member, label: string): Promise<Hex> {
    const data = portIface.encodeFunctionData('send', [to.chainId, to.port, to.receiver, 200_000n, 0n, 0n, new TextEncoder().encode(label)]);
    const tx = await from.user.signer.sendTransaction({ to: from.port, data, gasLimit: 500_000n });
    const r = await tx.wait();
    const log = r!.logs.map((l) => portIface.parseLog(l)).find((p) => p?.name === 'MessageSent')!;
    return messageId(log.args[3] as Hex);
  }

  async function deliveredAt(c: Member): Promise<Map<string, number>> {
    const logs = await c.provider.getLogs({ address: c.port, topics: [portIface.getEvent('MessageDelivered')!.topicHash], fromBlock: 0n, toBlock: 'latest' });
    const perId = new Map<string, number>();
    for (const l of logs) {
      const p = portIface.parseLog(l)!;
      const id = (p.args[0] as string).toLowerCase();
      perId.set(id, (perId.get(id) ?? 0) + 1);
    }
    return perId;
  }

  it('delivers only once k of the external attestors signed; one alone gets nothing delivered', async () => {
    const [a, b] = chains as [Member, Member];
    const first = await startProcess(keys[0]!);
    const ids = [await send(a, b, 'one'), await send(b, a, 'two')];

    // The batches are committed and the one running attestor's signatures are in the hub's index...
    const batchNos = await until(async () => {
      const rows = await t.hub.index.getMessages(ids);
      if (rows.length < ids.length || rows.some((r) => r.batchNo === null)) return null;
      const nos = [...new Set(rows.map((r) => BigInt(r.batchNo!)))];
      for (const n of nos) {
        const sigs = await t.hub.index.attestations(n, ROOT_TYPE.messages);
        if (!sigs.some((s) => s.attestor.toLowerCase() === first.address.toLowerCase() && s.setId === newSetId.toString())) return null;
      }
      return nos;
    }, { timeoutMs: 30_000, what: 'the first attestor\'s signatures stored' });
    // ... and while the attest stage keeps asking (both member chains move on meanwhile), nothing is attested or delivered.
    const heads = await Promise.all(chains.map((c) => c.provider.getBlockNumber()));
    await until(async () => (await Promise.all(chains.map((c, i) => c.provider.getBlockNumber().then((h) => h >= heads[i]! + 3)))).every(Boolean), { timeoutMs: 20_000, what: 'three more blocks on each chain' });
    for (const c of chains) for (const id of ids) expect((await deliveredAt(c)).has(id)).toBe(false);
    for (const r of await t.hub.index.getMessages(ids)) expect(r.status).toBe('committed');
    for (const n of batchNos) {
      const sigs = (await t.hub.index.attestations(n, ROOT_TYPE.messages)).filter((s) => s.setId === newSetId.toString());
      expect(sigs.map((s) => getAddress(s.attestor))).toEqual([getAddress(first.address)]);
    }

    // The second attestor, a real `qiao attestor start` process, makes two of three: delivered, exactly once, read from the destination chains.
    const second = await spawnAttestor(keys[1]!);
    await until(async () => (await deliveredAt(b)).has(ids[0]!) && (await deliveredAt(a)).has(ids[1]!), { timeoutMs: 40_000, intervalMs: 300, what: 'both messages delivered' });
    expect((await deliveredAt(b)).get(ids[0]!)).toBe(1);
    expect((await deliveredAt(a)).get(ids[1]!)).toBe(1);
    for (const n of batchNos) {
      const signers = (await t.hub.index.attestations(n, ROOT_TYPE.messages)).filter((s) => s.setId === newSetId.toString()).map((s) => getAddress(s.attestor));
      expect(signers.sort()).toEqual([getAddress(first.address), getAddress(keys[1]!.address)].sort());
    }
    expect(first.halted).toBeNull();
    expect(second.output()).toContain(`attestor ${getAddress(keys[1]!.address)} running`);
    // Its own durable record, in its own data folder.
    const rec = SignedRootRecord.open(join(t.dataDir, 'external', keys[1]!.address.toLowerCase(), 'cli', `attestor-${keys[1]!.address.toLowerCase()}.jsonl`));
    for (const n of batchNos) expect(rec.get(ROOT_TYPE.messages, n)?.root).toBe((await t.hub.index.getBatch(n))!.root.toLowerCase());
    rec.close();
    process.kill(-second.child.pid!, 'SIGTERM');
    expect(await second.exited).toBe(0);
  }, 90_000);

  it('POST /attestations refuses a non-member (403) and a signature over another root (409)', async () => {
    const gov = t.hub.governance.client;
    const batch = (await t.hub.index.lastBatchNo())!;
    const root = (await t.hub.index.getBatch(batch))!.root;
    const domain = { chainId: gov.chainId, verifyingContract: gov.addresses.messageLog };
    const post = (body: unknown) => api.app.inject({ method: 'POST', url: '/attestations', payload: body as object });

    const outsider = Wallet.createRandom();
    const sigOut = signAttestation(new SigningKey(outsider.privateKey), domain, { rootType: 1, setId: newSetId, batchNo: batch, root });
    const r403 = await post({ rootType: 1, batchNo: batch.toString(), setId: newSetId.toString(), signature: sigOut, attestor: outsider.address });
    expect(r403.statusCode).toBe(403);
    expect(r403.json().error.field).toBe('signature');

    const member = new SigningKey(keys[2]!.privateKey);
    const other = `0x${'ab'.repeat(32)}` as Hex;
    const sigOther = signAttestation(member, domain, { rootType: 1, setId: newSetId, batchNo: batch, root: other });
    const r409 = await post({ rootType: 1, batchNo: batch.toString(), setId: newSetId.toString(), signature: sigOther, attestor: keys[2]!.address });
    expect(r409.statusCode).toBe(409);
    expect(r409.json().error.code).toBe('root_mismatch');

    // A member of an old set: not a set the stages count now.
    const sigOld = signAttestation(member, domain, { rootType: 1, setId: newSetId - 1n, batchNo: batch, root });
    const rOld = await post({ rootType: 1, batchNo: batch.toString(), setId: (newSetId - 1n).toString(), signature: sigOld, attestor: keys[2]!.address });
    expect(rOld.statusCode).toBe(403);
    expect(rOld.json().error.field).toBe('setId');

    // The right one is stored, and posting it again is idempotent.
    const good = signAttestation(member, domain, { rootType: 1, setId: newSetId, batchNo: batch, root });
    const body = { rootType: 1, batchNo: batch.toString(), setId: newSetId.toString(), signature: good, attestor: keys[2]!.address };
    expect((await post(body)).statusCode).toBe(201);
    expect((await post(body)).statusCode).toBe(200);
    const stored = (await t.hub.index.attestations(batch, 1)).filter((s) => getAddress(s.attestor) === getAddress(keys[2]!.address));
    expect(stored).toHaveLength(1);
    // Nothing from the refused posts was stored.
    expect((await t.hub.index.attestations(batch, 1)).some((s) => getAddress(s.attestor) === getAddress(outsider.address))).toBe(false);

    // A root the hub does not hold: 404 naming batchNo.
    const r404 = await post({ ...body, batchNo: (batch + 1000n).toString() });
    expect(r404.statusCode).toBe(404);
    expect(r404.json().error.field).toBe('batchNo');
  });

  it('any single attestor of the port\'s set pauses delivery; an outsider cannot', async () => {
    const b = chains[1]!;
    const outsider = Wallet.createRandom();
    await b.provider.send('anvil_setBalance', [outsider.address, '0x3635C9ADC5DEA00000']);
    await expect(pausePort({ privateKey: outsider.privateKey as Hex, port: b.port, rpcUrl: b.url })).rejects.toSatisfy((e: unknown) => e instanceof ContractRevertError && e.errorName === 'NotAdmin');
    expect(await portOf(b).getFunction('paused')()).toBe(false);

    const k = keys[2]!;
    await b.provider.send('anvil_setBalance', [k.address, '0x3635C9ADC5DEA00000']);
    // (the same call as `qiao attestor pause`; spawning the CLI here would cost the file seconds)
    const r = await pausePort({ privateKey: k.privateKey as Hex, port: b.port, rpcUrl: b.url });
    expect(r.paused).toBe(true);
    expect(await portOf(b).getFunction('paused')()).toBe(true);
    const ev = await b.provider.getLogs({ address: b.port, topics: [portIface.getEvent('Paused')!.topicHash], fromBlock: r.receipt.blockNumber, toBlock: r.receipt.blockNumber });
    expect(getAddress(portIface.parseLog(ev[0]!)!.args[0] as string)).toBe(getAddress(k.address));
  });

  it('an attestor process whose record holds another root for a batch halts and posts nothing for it', async () => {
    const k = keys[2]!;
    const batch = (await t.hub.index.lastBatchNo())!;
    const signedBefore = (await t.hub.index.attestations(batch, 1)).filter((s) => getAddress(s.attestor) === getAddress(k.address)).map((s) => s.signature);
    const r = SignedRootRecord.open(recordFile(k));
    expect(r.put(ROOT_TYPE.messages, batch, `0x${'cd'.repeat(32)}` as Hex, newSetId)).toBe(true);
    r.close();
    const p = await startProcess(k);
    await p.done;
    expect(p.halted).toMatch(/already signed/);
    expect(p.posted.messages).toBe(0);
    // Nothing new from it in the hub's index for that batch.
    expect((await t.hub.index.attestations(batch, 1)).filter((s) => getAddress(s.attestor) === getAddress(k.address)).map((s) => s.signature)).toEqual(signedBefore);
  });
});
