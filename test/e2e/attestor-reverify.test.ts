import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Contract, Interface, Wallet, getAddress, hexlify, randomBytes, type HDNodeWallet, type JsonRpcProvider } from 'ethers';
import { portArtifacts, type PortArtifacts } from '../../adapters/evm/artifacts.ts';
import { attestationsPlugin } from '../../src/api/attestations.ts';
import { startApi, type RunningApi } from '../../src/api/server.ts';
import { ROOT_TYPE } from '../../src/domain/attestation.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { MessageTree } from '../../src/domain/merkle.ts';
import { decodeMessage, encodeMessage, messageId } from '../../src/domain/message.ts';
import { makeProvider } from '../../src/evm/provider.ts';
import { TxSender } from '../../src/evm/signer.ts';
import { AttestorSetClient } from '../../src/governance/attestor-set.ts';
import { loadOrCreateKeys } from '../../src/governance/keys.ts';
import { silentLogger } from '../../src/logging.ts';
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
 * An attestor process that re-verifies every id of a batch against its source
 * chain (its own adapter, light client and proof) before signing: the hub's set
 * is handed to one such external attestor (1 of 1), honest traffic is delivered
 * through it, and batches a compromised committer key logs on the governance
 * chain (an id never sent, bytes that do not hash to the id, an id nobody has
 * bytes for) are never signed and nothing of them reaches a destination chain.
 * The attestor reaches the hub through a proxy that records every signature it
 * posts and serves the forger's bytes.
 */
describe('attestor processes re-verify sources before signing', () => {
  let t: TestHub;
  let api: RunningApi;
  let proxy: Server;
  let proxyUrl: string;
  let artifacts: PortArtifacts;
  let portIface: Interface;
  let chains: Member[];
  let key: HDNodeWallet;
  let proc: AttestorProcess;
  let gov: Awaited<ReturnType<typeof attestorGovernance>>;
  let honest: Hex[] = [];
  let honestBatches: bigint[] = [];
  let forgedBatch: bigint;
  let child: ChildProcess | null = null;
  /** GET /messages/:id answers the proxy serves instead of the hub's (what a lying hub API would). */
  const served = new Map<string, unknown>();
  /** Every POST /attestations body the attestor sent. */
  const posts: { rootType: number; batchNo: string }[] = [];

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
    api = await startApi({ index: t.hub.index, health: async () => ({ ok: true, governance: null, chains: [], queues: {} }), plugins: [attestationsPlugin({ index: t.hub.index, gov: t.hub.governance.client })] });
    proxy = createServer((req, res) => {
      let body = '';
      req.on('data', (b: Buffer) => (body += b.toString()));
      req.on('end', () => {
        void (async () => {
          const m = /^\/messages\/(0x[0-9a-fA-F]{64})$/.exec(req.url ?? '');
          if (req.method === 'GET' && m && served.has(m[1]!.toLowerCase())) {
            res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(served.get(m[1]!.toLowerCase())));
            return;
          }
          if (req.method === 'POST' && req.url === '/attestations') posts.push(JSON.parse(body) as { rootType: number; batchNo: string });
          const r = await fetch(new URL(req.url ?? '/', api.url), { method: req.method ?? 'GET', headers: { 'content-type': 'application/json' }, ...(req.method === 'POST' ? { body } : {}) });
          res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/json' }).end(await r.text());
        })().catch((err: unknown) => res.writeHead(502).end(String(err)));
      });
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;

    // Hand the set to one external key the hub does not hold; the hub's attestor signs the hand-over.
    const sets = new AttestorSetClient(t.hub.governance.client);
    key = Wallet.createRandom();
    await sets.proposeSet(t.hub.governance.path, [key.address], 1);
    const setId = (await t.hub.governance.client.attestorSet.getFunction('lastProposedId')()) as bigint;
    await until(async () => (await sets.current()).setId === setId, { timeoutMs: 30_000, what: 'the new set active on the governance chain' });
    for (const c of chains) await until(async () => (await portOf(c).getFunction('setId')()) === setId, { timeoutMs: 30_000, what: `the hand-over on ${c.chainId}` });

    gov = await attestorGovernance(t.hub.governance.url, t.hub.governance.contracts.attestorSet, { expectChainId: t.hub.governance.chainId, chainRegistry: t.hub.governance.contracts.chainRegistry });
    proc = startProcess();
  }, 60_000);

  function startProcess(): AttestorProcess {
    const demo = new Set(chains.map((c) => c.chainId));
    return AttestorProcess.start({
      privateKey: key.privateKey as Hex,
      gov,
      recordFile: recordFile(),
      hubUrl: proxyUrl,
      finalityDepth: 0,
      pollMs: 200,
      logger: silentLogger(),
      // The demo chains are local-dev: this operator accepts that explicitly, chain by chain.
      reverify: { allowLocalDev: (c) => demo.has(c) },
    });
  }

  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL');
    await proc?.stop();
    gov?.provider.destroy();
    for (const c of chains ?? []) c.provider.destroy();
    await new Promise((resolve) => (proxy ? proxy.close(resolve) : resolve(undefined)));
    await api?.close();
    await t?.stop();
  });

  const portOf = (c: Member) => new Contract(c.port, artifacts.QiaoPort.abi as never, c.provider);
  const recordFile = () => join(t.dataDir, 'external', 'record.jsonl');

  async function send(from: Member, to: Member, label: string): Promise<Hex> {
    const data = portIface.encodeFunctionData('send', [to.chainId, to.port, to.receiver, 200_000n, 0n, 0n, new TextEncoder().encode(label)]);
    const r = await from.user.send({ to: from.port, data, gasLimit: 500_000n });
    const log = r.logs.map((l) => portIface.parseLog(l)).find((p) => p?.name === 'MessageSent')!;
    return messageId(log.args[3] as Hex);
  }

  async function delivered(c: Member): Promise<Set<string>> {
    const logs = await c.provider.getLogs({ address: c.port, topics: [portIface.getEvent('MessageDelivered')!.topicHash], fromBlock: 0n, toBlock: 'latest' });
    return new Set(logs.map((l) => (portIface.parseLog(l)!.args[0] as string).toLowerCase()));
  }

  it('re-verifies honest batches from the source chains, signs them and they are delivered', async () => {
    const [a, b] = chains as [Member, Member];
    honest = [await send(a, b, 'honest one'), await send(b, a, 'honest two')];
    await until(async () => (await delivered(b)).has(honest[0]!) && (await delivered(a)).has(honest[1]!), { timeoutMs: 40_000, intervalMs: 300, what: 'both honest messages delivered' });
    const rows = await t.hub.index.getMessages(honest);
    const batchNos = [...new Set(rows.map((r) => BigInt(r.batchNo!)))];
    honestBatches = batchNos;
    const rec = SignedRootRecord.open(recordFile());
    for (const n of batchNos) {
      expect(rec.get(ROOT_TYPE.messages, n)?.root).toBe((await t.hub.index.getBatch(n))!.root.toLowerCase());
      expect(posts.some((p) => p.rootType === ROOT_TYPE.messages && p.batchNo === n.toString())).toBe(true);
      expect(proc.refusal(n)).toBeUndefined();
    }
    rec.close();
    expect(proc.halted).toBeNull();
  }, 60_000);

  it('never signs a batch a compromised committer logged with ids that were never sent', async () => {
    const [a, b] = chains as [Member, Member];
    // A well-formed message a→b that a's port never committed (the nonce of no message sent).
    const real = (await (await fetch(new URL(`/messages/${honest[0]}`, api.url))).json()) as { encoded: Hex; srcHeight: string } & Record<string, unknown>;
    const forgedMsg = { ...decodeMessage(real.encoded), nonce: 1_000_000n, payload: hexlify(new TextEncoder().encode('never sent')) as Hex };
    const forgedBytes = encodeMessage(forgedMsg);
    const forged = messageId(forgedBytes);
    served.set(forged, { ...real, id: forged, encoded: forgedBytes, nonce: '1000000' });
    // An id whose bytes the hub's API serves, but they are another message's.
    const mismatched = hexlify(randomBytes(32)).toLowerCase() as Hex;
    served.set(mismatched, { ...real, id: mismatched });
    // An id nobody has bytes for.
    const unknown = hexlify(randomBytes(32)).toLowerCase() as Hex;

    // The compromised committer key (the hub's relayer key) logs them on the governance chain, the forgery next to an honest id.
    const { keys } = await loadOrCreateKeys(join(t.dataDir, 'keys.json'));
    const committer = new TxSender(keys.relayer, t.hub.governance.client.provider);
    const commit = async (ids: Hex[]) => {
      const no = await t.hub.governance.client.nextBatchNo();
      await t.hub.governance.client.commitBatch(committer, no, MessageTree.of(ids).root, ids);
      return no;
    };
    forgedBatch = await commit([honest[0]!, forged]);
    const mismatchBatch = await commit([mismatched]);
    const unknownBatch = await commit([unknown]);

    // The forgery is refused for good, from a's own proof at that height; the others wait, unsigned.
    const refusal = await until(async () => proc.refusal(forgedBatch), { timeoutMs: 30_000, what: 'the forged batch refused' });
    expect(refusal.reason).toMatch(/^proof_invalid:/);
    expect(refusal.id).toBe(forged);
    await until(async () => proc.waiting.has(mismatchBatch) && proc.waiting.has(unknownBatch), { timeoutMs: 30_000, what: 'the unverifiable batches held back' });
    expect(proc.waiting.get(mismatchBatch)!.reason).toBe('bytes_mismatch');
    expect(proc.waiting.get(unknownBatch)!.reason).toBe('bytes_unavailable');

    // Honest traffic after them is still signed and delivered: a refused batch holds up nothing.
    const after = await send(a, b, 'after the forgery');
    await until(async () => (await delivered(b)).has(after), { timeoutMs: 40_000, intervalMs: 300, what: 'the later honest message delivered' });
    // Let the held-back batches be tried again at least once more before the verdict.
    const attempts = proc.waiting.get(mismatchBatch)!.attempts;
    await until(async () => (proc.waiting.get(mismatchBatch)?.attempts ?? 0) > attempts, { timeoutMs: 20_000, what: 'a retry of the held-back batch' });

    const bad = [forgedBatch, mismatchBatch, unknownBatch];
    // Its durable record holds no root for them, it posted no signature for them, the hub holds none.
    const rec = SignedRootRecord.open(recordFile());
    for (const n of bad) {
      expect(rec.get(ROOT_TYPE.messages, n)).toBeUndefined();
      expect(posts.some((p) => p.rootType === ROOT_TYPE.messages && p.batchNo === n.toString())).toBe(false);
      expect(await t.hub.index.attestations(n, ROOT_TYPE.messages)).toEqual([]);
    }
    rec.close();
    // Refusals are durable too (a restart neither signs nor re-proves them).
    const refusals = readFileSync(recordFile().replace(/\.jsonl$/, '.refused.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { kind: string; batchNo: string });
    expect(refusals.filter((e) => e.kind === 'refused').map((e) => e.batchNo)).toEqual([forgedBatch.toString()]);
    // After a restart (which resumes after the last batch signed) the held-back batches are still tried, the refused one is not.
    await proc.stop();
    proc = startProcess();
    await until(async () => proc.waiting.get(mismatchBatch)?.reason === 'bytes_mismatch' && proc.waiting.get(unknownBatch)?.reason === 'bytes_unavailable', { timeoutMs: 20_000, what: 'the held-back batches tried again after a restart' });
    expect(proc.refusal(forgedBatch)?.reason).toMatch(/^proof_invalid:/);
    expect(proc.waiting.has(forgedBatch)).toBe(false);
    // The chains: nothing of the forged ids was delivered anywhere; the honest one exactly once.
    for (const c of chains) {
      const d = await delivered(c);
      for (const id of [forged, mismatched, unknown]) expect(d.has(id)).toBe(false);
    }
    expect(proc.halted).toBeNull();
    expect(getAddress(proc.address)).toBe(getAddress(key.address));
  }, 90_000);

  it('`qiao attestor start --chain-registry … --allow-local-dev …` re-verifies the same way', async () => {
    // The same member key in a second data folder (as after a move to a new machine): it signs the honest batches again and refuses the forgery.
    const dir = join(t.dataDir, 'external', 'cli');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'key'), `${key.privateKey}\n`, { mode: 0o600 });
    const args = ['attestor', 'start', '--key-file', join(dir, 'key'), '--hub', proxyUrl, '--governance-rpc', t.hub.governance.url, '--attestor-set', t.hub.governance.contracts.attestorSet, '--data-dir', dir, '--finality-depth', '0', '--poll-ms', '200'];
    args.push('--chain-registry', t.hub.governance.contracts.chainRegistry, ...chains.flatMap((c) => ['--allow-local-dev', c.chainId, '--source-rpc', `${c.chainId}=${c.url}`]));
    child = spawn(process.execPath, [`${REPO_ROOT}bin/qiao.mjs`, ...args], { cwd: REPO_ROOT, env: cleanEnv(), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
    const exited = new Promise<number | null>((resolve) => child!.on('exit', (code) => resolve(code)));
    const me = key.address.toLowerCase();
    const read = (f: string) => {
      try {
        return readFileSync(join(dir, f), 'utf8');
      } catch {
        return '';
      }
    };
    await until(async () => read(`attestor-${me}.refused.jsonl`).includes(`"batchNo":"${forgedBatch}"`), { timeoutMs: 30_000, what: `the CLI attestor refusing batch ${forgedBatch}: ${out}` });
    const rec = SignedRootRecord.open(join(dir, `attestor-${me}.jsonl`));
    for (const n of honestBatches) expect(rec.get(ROOT_TYPE.messages, n)?.root).toBe((await t.hub.index.getBatch(n))!.root.toLowerCase());
    expect(rec.get(ROOT_TYPE.messages, forgedBatch)).toBeUndefined();
    rec.close();
    expect(out).not.toContain('WARNING: no --chain-registry');
    process.kill(-child.pid!, 'SIGTERM');
    expect(await exited).toBe(0);
  }, 60_000);
});
