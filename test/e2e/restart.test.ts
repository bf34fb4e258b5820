import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Contract, Interface, Wallet, type JsonRpcProvider } from 'ethers';
import { portArtifacts, type PortArtifacts } from '../../adapters/evm/artifacts.ts';
import { deployDemoApps, deployPort } from '../../adapters/evm/deploy.ts';
import { evmChainId, type ChainId } from '../../src/domain/caip.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { messageId } from '../../src/domain/message.ts';
import { makeProvider } from '../../src/evm/provider.ts';
import { TxSender } from '../../src/evm/signer.ts';
import { startAnvil, type AnvilProcess } from '../../src/governance/anvil.ts';
import { governanceArtifacts } from '../../src/governance/artifacts.ts';
import { GovernanceClient } from '../../src/governance/client.ts';
import { addressOf, type HubKeys } from '../../src/governance/keys.ts';
import type { HubState } from '../../src/main/state.ts';
import { runCli } from '../helpers/cli.ts';
import { spawnHub, type HubProcess } from '../helpers/hub-process.ts';
import { until } from '../helpers/services.ts';

const N = 100;
/** Messages per wave; each wave waits for its receipts, so the sends spread over ~N/WAVE blocks. */
const WAVE = 5;
/** Delivered (on chain) before the hub is killed. */
const KILL_AFTER = 30;
const ONE_THOUSAND_ETH = '0x3635C9ADC5DEA00000';

interface MemberChain {
  chainId: ChainId;
  anvil: AnvilProcess;
  provider: JsonRpcProvider;
  port: string;
  receiver: string;
  user: TxSender;
}

function randomChainId(taken: Set<bigint>): bigint {
  for (;;) {
    const id = BigInt(100_000 + Math.floor(Math.random() * 1_000_000_000));
    if (id !== 31337n && !taken.has(id)) return id;
  }
}

/**
 * A power cut: the hub's whole process group (hub and its governance anvil) is
 * SIGKILLed while messages are in flight, and started again on the same data
 * folder. Every message is delivered, none twice, as the destination chains
 * (port events, receiver counters) and the governance chain say.
 */
describe('SIGKILL of the hub mid-run, then a restart', () => {
  let dir: string;
  let hub: HubProcess | null = null;
  const anvils: AnvilProcess[] = [];
  const chains: MemberChain[] = [];
  let artifacts: PortArtifacts;
  let state: HubState;
  let keys: HubKeys;

  const readState = async () => JSON.parse(await readFile(join(dir, 'hub.json'), 'utf8')) as HubState;
  const received = async (c: MemberChain) => Number(await new Contract(c.receiver, artifacts.DemoReceiver.abi as never, c.provider).getFunction('received')());

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'qiao-restart-'));
    const taken = new Set<bigint>();
    // The member chains play real chains: they are not in the hub's process group and survive its death.
    const [, art] = await Promise.all([
      (async () => {
        for (let i = 0; i < 2; i++) {
          const id = randomChainId(taken);
          taken.add(id);
          anvils.push(await startAnvil({ chainId: id, blockTime: 1 }));
        }
      })(),
      portArtifacts(),
    ]);
    artifacts = art;
    hub = spawnHub({ dataDir: dir });
    await hub.waitReady();
    state = await readState();
    keys = JSON.parse(await readFile(join(dir, 'keys.json'), 'utf8')) as HubKeys;
    expect(state.governance && state.governanceUrl).toBeTruthy();
  });

  afterAll(async () => {
    const errors: unknown[] = [];
    const attempt = async (f: () => Promise<unknown>) => {
      try {
        await f();
      } catch (err) {
        errors.push(err);
      }
    };
    if (hub) await attempt(() => hub!.killGroup('SIGKILL'));
    for (const c of chains) c.provider.destroy();
    for (const a of anvils) await attempt(() => a.stop());
    if (dir && !process.env.QIAO_TEST_KEEP) await attempt(() => rm(dir, { recursive: true, force: true }));
    if (errors.length) throw new AggregateError(errors, 'cleanup failed');
  });

  it(`delivers all ${N} messages exactly once across a SIGKILL and a restart`, async () => {
    // ------------------------------------------------------------ member chains
    const govChainId = BigInt(state.governance!.chainId);
    const govProvider = makeProvider(state.governanceUrl!, govChainId);
    const gov = new GovernanceClient(govProvider, govChainId, state.governance!.contracts, await governanceArtifacts());
    let set: Awaited<ReturnType<GovernanceClient['attestors']>>;
    try {
      set = await gov.attestors();
    } finally {
      govProvider.destroy();
    }
    expect(set.members.length).toBeGreaterThan(0);
    for (const anvil of anvils) {
      const provider = makeProvider(anvil.url, anvil.chainId, { pollingMs: 100 });
      const deployer = Wallet.createRandom();
      const user = Wallet.createRandom();
      for (const a of [deployer.address, user.address, addressOf(keys.relayer)]) await provider.send('anvil_setBalance', [a, ONE_THOUSAND_ETH]);
      const chainId = evmChainId(anvil.chainId);
      const d = new TxSender(deployer.privateKey, provider);
      const port = await deployPort(d, artifacts, { chainId, govChainId, messageLog: state.governance!.contracts.messageLog, attestors: set.members, threshold: set.threshold, setId: set.setId });
      const { receiver } = await deployDemoApps(d, artifacts, port);
      chains.push({ chainId, anvil, provider, port, receiver, user: new TxSender(user.privateKey, provider) });
    }

    // ------------------------------------- registration through the CLI, live
    for (const c of chains) {
      const genesis = (await c.provider.getBlock(0))!.hash!;
      const reg = await runCli(['chains', 'register', '--chain-id', c.chainId, '--genesis-hash', genesis, '--port', c.port, '--rpc', c.anvil.url, '--finality-depth', '2', '--data-dir', dir]);
      expect(reg.code, reg.stderr).toBe(0);
      const ok = await runCli(['chains', 'approve', c.chainId, '--data-dir', dir]);
      expect(ok.code, ok.stderr).toBe(0);
    }

    // ---------------------------------------------------- traffic, paced in waves
    const [a, b] = chains as [MemberChain, MemberChain];
    const portIface = new Interface(artifacts.QiaoPort.abi as never);
    const sent: { id: Hex; to: MemberChain }[] = [];
    const sendOne = async (i: number) => {
      const [from, to] = i % 5 < 3 ? [a, b] : [b, a];
      const data = portIface.encodeFunctionData('send', [to.chainId, to.port, to.receiver, 200_000n, 0n, 0n, new TextEncoder().encode(`restart #${i}`)]);
      const tx = await from.user.signer.sendTransaction({ to: from.port, data, gasLimit: 500_000n });
      return { tx, to };
    };
    // The waves keep going while the hub is dead: the member chains do not wait for it.
    const sending = (async () => {
      for (let w = 0; w < N / WAVE; w++) {
        const txs = [];
        for (let i = w * WAVE; i < (w + 1) * WAVE; i++) txs.push(await sendOne(i));
        for (const { tx, to } of txs) {
          const r = await tx.wait();
          if (!r || r.status !== 1) throw new Error(`send ${tx.hash} failed`);
          const log = r.logs.map((l) => portIface.parseLog(l)).find((p) => p?.name === 'MessageSent')!;
          const id = messageId(log.args[3] as Hex);
          expect(id).toBe((log.args[0] as string).toLowerCase());
          sent.push({ id, to });
        }
      }
    })();
    // A send failure ends the wait at once instead of as a delivery timeout.
    const sendFailure = sending.then(() => new Promise<never>(() => {}));
    const total = async () => (await received(a)) + (await received(b));
    await Promise.race([
      until(async () => (await total()) >= KILL_AFTER, { timeoutMs: 90_000, intervalMs: 200, what: `${KILL_AFTER} messages delivered before the kill` }),
      sendFailure,
    ]);

    // ------------------------------------------------------------- power cut
    const beforeKill = await total();
    expect(beforeKill).toBeLessThan(N);
    // Only to report whether this run lost governance blocks (the anvil saves once a second).
    const govBefore = makeProvider(state.governanceUrl!, govChainId);
    const govHashes: string[] = [];
    try {
      const head = await govBefore.getBlockNumber();
      for (let n = 0; n <= head; n++) govHashes.push((await govBefore.getBlock(n))!.hash!);
    } finally {
      govBefore.destroy();
    }
    await hub!.killGroup('SIGKILL');
    expect((await hub!.exited).signal).toBe('SIGKILL');
    const firstRun = hub!;
    hub = null;

    await sending;
    expect(sent.length).toBe(N);
    expect(new Set(sent.map((s) => s.id)).size).toBe(N);
    const expected = new Map(chains.map((c) => [c.chainId, sent.filter((s) => s.to === c).length]));

    // ---------------------------------------------------------------- restart
    hub = spawnHub({ dataDir: dir });
    await hub.waitReady();
    // The chains stay registered and approved across the lost governance second.
    state = await readState();
    const gov2Provider = makeProvider(state.governanceUrl!, govChainId);
    const gov2 = new GovernanceClient(gov2Provider, govChainId, state.governance!.contracts, await governanceArtifacts());
    try {
      let kept = 0;
      while (kept < govHashes.length && (await gov2Provider.getBlock(kept))?.hash === govHashes[kept]) kept++;
      const lost = kept === govHashes.length ? 'none' : `blocks ${kept}..${govHashes.length - 1} (head was ${govHashes.length - 1})`;
      console.info(`[restart] delivered before the kill: ${beforeKill}/${N}; governance blocks lost by the kill: ${lost}`);
      await until(
        async () => {
          for (const c of chains) if ((await received(c)) < expected.get(c.chainId)!) return false;
          return true;
        },
        { timeoutMs: 120_000, intervalMs: 500, what: `all ${N} messages delivered after the restart (delivered before the kill: ${beforeKill}; first run printed:\n${firstRun.output().slice(-1500)})` },
      );

      // ------------------------------- exactly once, from the destination chains
      const deliveredTopic = portIface.getEvent('MessageDelivered')!.topicHash;
      const txOf = new Map<string, string>();
      for (const c of chains) {
        const logs = await c.provider.getLogs({ address: c.port, topics: [deliveredTopic], fromBlock: 0n, toBlock: 'latest' });
        const perId = new Map<string, number>();
        for (const l of logs) {
          const p = portIface.parseLog(l)!;
          expect(p.args[1], `delivery of ${p.args[0] as string} failed`).toBe(true);
          const id = (p.args[0] as string).toLowerCase();
          perId.set(id, (perId.get(id) ?? 0) + 1);
          txOf.set(id, l.transactionHash.toLowerCase());
        }
        const mine = sent.filter((s) => s.to === c);
        expect(perId.size).toBe(mine.length);
        for (const s of mine) expect(perId.get(s.id), s.id).toBe(1);
        const receiver = new Contract(c.receiver, artifacts.DemoReceiver.abi as never, c.provider);
        expect(Number(await receiver.getFunction('received')())).toBe(mine.length);
        const times = await Promise.all(mine.map(async (s) => Number(await receiver.getFunction('timesReceived')(s.id))));
        expect(times).toEqual(mine.map(() => 1));
      }

      // ------------- the governance chain: every id in exactly one committed batch
      const batchTopic = gov2.interfaces.messageLog.getEvent('BatchCommitted')!.topicHash;
      const batchLogs = await gov2Provider.getLogs({ address: state.governance!.contracts.messageLog, topics: [batchTopic], fromBlock: 0n, toBlock: 'latest' });
      const inBatches = new Map<string, number>();
      for (const l of batchLogs) {
        for (const id of gov2.interfaces.messageLog.parseLog(l)!.args[2] as string[]) inBatches.set(id.toLowerCase(), (inBatches.get(id.toLowerCase()) ?? 0) + 1);
      }
      for (const s of sent) expect(inBatches.get(s.id), `${s.id} in committed batches`).toBe(1);

      // ---------------------------------------------- the index agrees (API)
      const api = state.apiUrl!;
      const listDelivered = async () => {
        const items: { id: string; status: string; dstTxHash: string | null }[] = [];
        let cursor: string | null = null;
        do {
          const res = await fetch(`${api}/messages?status=delivered&limit=40${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
          expect(res.status).toBe(200);
          const page = (await res.json()) as { items: typeof items; nextCursor: string | null };
          items.push(...page.items);
          cursor = page.nextCursor;
        } while (cursor);
        return items;
      };
      const items = await until(async () => {
        const all = await listDelivered();
        return all.length >= N ? all : null;
      }, { timeoutMs: 30_000, what: 'the index shows every message delivered' });
      expect(items.length).toBe(N);
      expect(new Set(items.map((m) => m.id))).toEqual(new Set(sent.map((s) => s.id)));
      // The index's destination transaction is the one the chain shows, also for
      // deliveries mined after the kill and only found again after the restart.
      for (const m of items) expect(m.dstTxHash, m.id).toBe(txOf.get(m.id));
      const one = await fetch(`${api}/messages/${sent[0]!.id}`);
      const detail = (await one.json()) as { status: string; timeline: { status: string }[] };
      expect(detail.status).toBe('delivered');
      expect(detail.timeline.map((t) => t.status)).toEqual(['sent', 'verified', 'committed', 'attested', 'delivered']);
    } finally {
      gov2Provider.destroy();
    }
  });
});
