import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Contract, Interface, Wallet, type JsonRpcProvider } from 'ethers';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { portArtifacts, type PortArtifacts } from '../../adapters/evm/artifacts.ts';
import { deployDemoApps, deployPort } from '../../adapters/evm/deploy.ts';
import { RedisLeaseStore, type LeaseHolderInfo } from '../../relayer/lease.ts';
import { DEFAULT_LEASE_TTL_MS, watcherLeaseKey } from '../../relayer/relayer.ts';
import { senderSlotLeaseKey } from '../../relayer/sender-slot.ts';
import { evmChainId, type ChainId } from '../../src/domain/caip.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { messageId } from '../../src/domain/message.ts';
import { makeProvider } from '../../src/evm/provider.ts';
import { TxSender } from '../../src/evm/signer.ts';
import { startAnvil, type AnvilProcess } from '../../src/governance/anvil.ts';
import { governanceArtifacts } from '../../src/governance/artifacts.ts';
import { GovernanceClient } from '../../src/governance/client.ts';
import { addressOf, loadOrCreateKeys, relayerSenderAddresses, type HubKeys } from '../../src/governance/keys.ts';
import { openIndex } from '../../src/index/open.ts';
import type { HubState } from '../../src/main/state.ts';
import { cleanEnv, REPO_ROOT, runCli } from '../helpers/cli.ts';
import { spawnHub, type HubProcess } from '../helpers/hub-process.ts';
import { clearRedisPrefix, createTestDatabase, REDIS_URL, until } from '../helpers/services.ts';

const N = 60;
const WAVE = 5;
const KILL_AFTER = 15;
const WORKER_LEASE_TTL_MS = 4000;
const ONE_THOUSAND_ETH = '0x3635C9ADC5DEA00000';

interface MemberChain {
  chainId: ChainId;
  anvil: AnvilProcess;
  provider: JsonRpcProvider;
  port: string;
  receiver: string;
  user: TxSender;
}

interface Proc {
  pid: number;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `qiao relayer start` in its own process group, as an operator would run a second machine's worker. */
function spawnWorker(dataDir: string, env: NodeJS.ProcessEnv): Proc & { ready: Promise<void> } {
  const child = spawn(process.execPath, ['bin/qiao.mjs', 'relayer', 'start', '--dev', '--data-dir', dataDir, '--lease-ttl', String(WORKER_LEASE_TTL_MS), '--log', 'stderr'], {
    cwd: REPO_ROOT,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const append = (b: Buffer) => {
    out += b.toString();
    if (out.length > 2_000_000) out = out.slice(-200_000);
  };
  child.stdout.on('data', append);
  child.stderr.on('data', append);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
  const ready = until(async () => out.includes('relayer worker ready'), { timeoutMs: 60_000, intervalMs: 100, what: 'the relayer worker' }).then(() => undefined);
  return { pid: child.pid!, output: () => out, exited, ready };
}

function randomChainId(taken: Set<bigint>): bigint {
  for (;;) {
    const id = BigInt(100_000 + Math.floor(Math.random() * 1_000_000_000));
    if (id !== 31337n && !taken.has(id)) return id;
  }
}

const pidOf = (holder: string) => Number(holder.split(':')[1]);

/**
 * A hub on BullMQ + PostgreSQL and one extra `qiao relayer start` process
 * share the stages; each member chain is watched by exactly one of them (a
 * lease). The process holding the first chain's lease is SIGKILLed while
 * messages flow: the other takes its chains over within the lease's TTL, and
 * every message is delivered exactly once, as the destination chains say.
 */
describe('relayer worker processes: lease takeover after SIGKILL', () => {
  let dir: string;
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let govAnvil: AnvilProcess;
  const anvils: AnvilProcess[] = [];
  let hub: HubProcess | null = null;
  let worker: (Proc & { ready: Promise<void> }) | null = null;
  const chains: MemberChain[] = [];
  let artifacts: PortArtifacts;
  let state: HubState;
  let keys: HubKeys;
  let prefix = '';
  let redis: Redis;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'qiao-workers-'));
    db = await createTestDatabase();
    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
    const taken = new Set<bigint>();
    // Every chain is the test's own (outside both relayer processes), so killing either process kills no chain.
    const govId = randomChainId(taken);
    taken.add(govId);
    govAnvil = await startAnvil({ chainId: govId });
    for (let i = 0; i < 2; i++) {
      const id = randomChainId(taken);
      taken.add(id);
      anvils.push(await startAnvil({ chainId: id, blockTime: 1 }));
    }
    artifacts = await portArtifacts();
    keys = (await loadOrCreateKeys(join(dir, 'keys.json'))).keys;
    const funder = makeProvider(govAnvil.url, govAnvil.chainId);
    try {
      for (const k of [keys.governor, keys.relayer]) await funder.send('anvil_setBalance', [addressOf(k), ONE_THOUSAND_ETH]);
    } finally {
      funder.destroy();
    }
    env = cleanEnv({ DATABASE_URL: db.url, REDIS_URL });
    hub = spawnHub({ dataDir: dir, args: ['--governance-rpc', govAnvil.url], env });
    await hub.waitReady();
    state = JSON.parse(await readFile(join(dir, 'hub.json'), 'utf8')) as HubState;
    prefix = `qiao-${state.governance!.chainId}`;
  }, 120_000);

  afterAll(async () => {
    const errors: unknown[] = [];
    const attempt = async (f: () => Promise<unknown>) => {
      try {
        await f();
      } catch (err) {
        errors.push(err);
      }
    };
    if (worker) {
      await attempt(async () => {
        try {
          process.kill(-worker!.pid, 'SIGKILL');
        } catch {
          // gone already
        }
        await worker!.exited;
      });
    }
    if (hub) await attempt(() => hub!.killGroup('SIGKILL'));
    for (const c of chains) c.provider.destroy();
    for (const a of [...anvils, govAnvil]) if (a) await attempt(() => a.stop());
    if (prefix) await attempt(() => clearRedisPrefix(prefix));
    redis?.disconnect();
    if (db) await attempt(() => db.drop());
    if (dir && !process.env.QIAO_TEST_KEEP) await attempt(() => rm(dir, { recursive: true, force: true }));
    if (errors.length) throw new AggregateError(errors, 'cleanup failed');
  });

  const received = async (c: MemberChain) => Number(await new Contract(c.receiver, artifacts.DemoReceiver.abi as never, c.provider).getFunction('received')());

  it(`delivers all ${N} messages exactly once while the watcher's process is SIGKILLed`, async () => {
    const govChainId = BigInt(state.governance!.chainId);
    const govProvider = makeProvider(govAnvil.url, govChainId);
    const gov = new GovernanceClient(govProvider, govChainId, state.governance!.contracts, await governanceArtifacts());
    const leases = new RedisLeaseStore(redis, prefix);
    try {
      const set = await gov.attestors();
      for (const anvil of anvils) {
        const provider = makeProvider(anvil.url, anvil.chainId, { pollingMs: 100 });
        const deployer = Wallet.createRandom();
        const user = Wallet.createRandom();
        // The relayer key (the hub's deliveries) and the sender slots (config default 4), as an operator funds them.
        for (const a of [deployer.address, user.address, addressOf(keys.relayer), ...relayerSenderAddresses(keys.relayer, 4)]) await provider.send('anvil_setBalance', [a, ONE_THOUSAND_ETH]);
        const chainId = evmChainId(anvil.chainId);
        const d = new TxSender(deployer.privateKey, provider);
        const port = await deployPort(d, artifacts, { chainId, govChainId, messageLog: state.governance!.contracts.messageLog, attestors: set.members, threshold: set.threshold, setId: set.setId });
        const { receiver } = await deployDemoApps(d, artifacts, port);
        chains.push({ chainId, anvil, provider, port, receiver, user: new TxSender(user.privateKey, provider) });
      }
      for (const c of chains) {
        const genesis = (await c.provider.getBlock(0))!.hash!;
        const reg = await runCli(['chains', 'register', '--chain-id', c.chainId, '--genesis-hash', genesis, '--port', c.port, '--rpc', c.anvil.url, '--finality-depth', '2', '--data-dir', dir]);
        expect(reg.code, reg.stderr).toBe(0);
        const ok = await runCli(['chains', 'approve', c.chainId, '--data-dir', dir]);
        expect(ok.code, ok.stderr).toBe(0);
      }

      // ------------------------------------------- one watcher per chain, in all
      const holderOf = async (c: MemberChain): Promise<LeaseHolderInfo | undefined> => (await leases.holders()).find((h) => h.key === watcherLeaseKey(c.chainId));
      const firstHolders = await until(async () => {
        const hs = await Promise.all(chains.map(holderOf));
        return hs.every((h) => h) ? (hs as LeaseHolderInfo[]) : null;
      }, { timeoutMs: 30_000, what: 'a watcher lease on every member chain' });
      // The hub alone: it watches both chains.
      for (const h of firstHolders) expect(pidOf(h.holder)).toBe(hub!.pid);
      // A worker process joins; the hub hands one chain over (watcher balance): one chain per process.
      worker = spawnWorker(dir, env);
      await worker.ready;
      const pids = new Set([hub!.pid, worker.pid]);
      const spread = await until(async () => {
        const hs = await Promise.all(chains.map(holderOf));
        return hs.every((h) => h) && new Set(hs.map((h) => pidOf(h!.holder))).size === 2 ? (hs as LeaseHolderInfo[]) : null;
      }, { timeoutMs: 30_000, intervalMs: 200, what: 'one watcher lease per process' });
      for (const h of spread) expect(pids.has(pidOf(h.holder)), h.holder).toBe(true);

      // ------------------------------------------------------ traffic in waves
      const [a, b] = chains as [MemberChain, MemberChain];
      const portIface = new Interface(artifacts.QiaoPort.abi as never);
      const sent: { id: Hex; to: MemberChain }[] = [];
      const sending = (async () => {
        for (let w = 0; w < N / WAVE; w++) {
          const txs = [];
          for (let i = w * WAVE; i < (w + 1) * WAVE; i++) {
            const [from, to] = i % 5 < 3 ? [a, b] : [b, a];
            const data = portIface.encodeFunctionData('send', [to.chainId, to.port, to.receiver, 200_000n, 0n, 0n, new TextEncoder().encode(`workers #${i}`)]);
            txs.push({ tx: await from.user.signer.sendTransaction({ to: from.port, data, gasLimit: 500_000n }), to });
          }
          for (const { tx, to } of txs) {
            const r = await tx.wait();
            if (!r || r.status !== 1) throw new Error(`send ${tx.hash} failed`);
            const log = r.logs.map((l) => portIface.parseLog(l)).find((p) => p?.name === 'MessageSent')!;
            sent.push({ id: messageId(log.args[3] as Hex), to });
          }
        }
      })();
      const sendFailure = sending.then(() => new Promise<never>(() => {}));
      const total = async () => (await received(a)) + (await received(b));
      await Promise.race([until(async () => (await total()) >= KILL_AFTER, { timeoutMs: 60_000, intervalMs: 200, what: `${KILL_AFTER} delivered before the kill` }), sendFailure]);

      // -------------------------------------- SIGKILL the first chain's watcher
      const victim = (await holderOf(a))!;
      const victimPid = pidOf(victim.holder);
      const survivorPid = victimPid === hub!.pid ? worker!.pid : hub!.pid;
      const victimChains = (await Promise.all(chains.map(async (c) => ((await holderOf(c))?.holder === victim.holder ? c : null)))).filter((c): c is MemberChain => c !== null);
      const killedAt = Date.now();
      process.kill(victimPid, 'SIGKILL');
      const exited = victimPid === hub!.pid ? await hub!.exited : await worker!.exited;
      expect(exited.signal).toBe('SIGKILL');
      // Takeover: every chain the victim watched gets a new holder, the survivor, with a larger fence.
      await until(async () => {
        for (const c of victimChains) {
          const h = await holderOf(c);
          if (!h || pidOf(h.holder) !== survivorPid) return false;
          expect(h.fence).toBeGreaterThan(victim.fence);
        }
        return true;
      }, { timeoutMs: 30_000, intervalMs: 50, what: 'the survivor taking the leases over' });
      const takeoverMs = Date.now() - killedAt;
      // The victim renewed until it died, so its lease lasted at most one full TTL; the survivor tries every poll interval (500 ms).
      const fullTtl = victimPid === hub!.pid ? DEFAULT_LEASE_TTL_MS : WORKER_LEASE_TTL_MS;
      expect(takeoverMs).toBeLessThan(fullTtl + 2_000);
      console.info(`[workers] killed the ${victimPid === hub!.pid ? 'hub' : 'worker'} (watching ${victimChains.length} chain(s), TTL ${victimPid === hub!.pid ? DEFAULT_LEASE_TTL_MS : WORKER_LEASE_TTL_MS} ms) after ${await total()} deliveries; takeover in ${takeoverMs} ms`);

      await sending;
      expect(sent.length).toBe(N);
      const expected = new Map(chains.map((c) => [c.chainId, sent.filter((s) => s.to === c).length]));
      await until(
        async () => {
          for (const c of chains) if ((await received(c)) < expected.get(c.chainId)!) return false;
          return true;
        },
        { timeoutMs: 90_000, intervalMs: 500, what: `all ${N} delivered after the kill (survivor printed:\n${(survivorPid === hub!.pid ? hub!.output() : worker!.output()).slice(-2000)})` },
      );

      // ------------------------------- exactly once, from the destination chains
      const deliveredTopic = portIface.getEvent('MessageDelivered')!.topicHash;
      // Who paid for each delivery, read from the chains: the hub from the relayer key, the worker from its sender slot's.
      const [slot1] = relayerSenderAddresses(keys.relayer, 1);
      const senders = new Set<string>();
      for (const c of chains) {
        const logs = await c.provider.getLogs({ address: c.port, topics: [deliveredTopic], fromBlock: 0n, toBlock: 'latest' });
        for (const h of new Set(logs.map((l) => l.transactionHash))) senders.add((await c.provider.getTransaction(h))!.from);
        const perId = new Map<string, number>();
        for (const l of logs) {
          const p = portIface.parseLog(l)!;
          expect(p.args[1], `delivery of ${p.args[0] as string} failed`).toBe(true);
          const id = (p.args[0] as string).toLowerCase();
          perId.set(id, (perId.get(id) ?? 0) + 1);
        }
        const mine = sent.filter((s) => s.to === c);
        expect(perId.size).toBe(mine.length);
        for (const s of mine) expect(perId.get(s.id), s.id).toBe(1);
        const receiver = new Contract(c.receiver, artifacts.DemoReceiver.abi as never, c.provider);
        expect(Number(await receiver.getFunction('received')())).toBe(mine.length);
        const times = await Promise.all(mine.map(async (s) => Number(await receiver.getFunction('timesReceived')(s.id))));
        expect(times).toEqual(mine.map(() => 1));
      }
      expect([...senders].filter((a) => a !== addressOf(keys.relayer) && a !== slot1)).toEqual([]);
      // After the kill only the survivor delivers, so a surviving worker's slot key is on chain.
      if (survivorPid === worker!.pid) expect(senders.has(slot1!)).toBe(true);
      // Every id in exactly one committed batch on the governance chain.
      const batchTopic = gov.interfaces.messageLog.getEvent('BatchCommitted')!.topicHash;
      const batchLogs = await govProvider.getLogs({ address: state.governance!.contracts.messageLog, topics: [batchTopic], fromBlock: 0n, toBlock: 'latest' });
      const inBatches = new Map<string, number>();
      for (const l of batchLogs) for (const id of gov.interfaces.messageLog.parseLog(l)!.args[2] as string[]) inBatches.set(id.toLowerCase(), (inBatches.get(id.toLowerCase()) ?? 0) + 1);
      for (const s of sent) expect(inBatches.get(s.id), `${s.id} in committed batches`).toBe(1);
      // The shared index agrees.
      const index = await openIndex({ databaseUrl: db.url });
      try {
        const rows = await until(async () => {
          const r = await index.getMessages(sent.map((s) => s.id));
          return r.length === N && r.every((m) => m.status === 'delivered') ? r : null;
        }, { timeoutMs: 20_000, what: 'the index shows every message delivered' });
        expect(rows).toHaveLength(N);
      } finally {
        await index.close();
      }

      // ------------------------------------ status: the survivor holds every lease
      const status = await runCli(['relayer', 'status', '--json', '--data-dir', dir], { env: cleanEnv({ REDIS_URL }) });
      expect(status.code, status.stderr).toBe(0);
      const s = JSON.parse(status.stdout) as { queues: Record<string, { waiting: number; dead: number }>; leases: { key: string; holder: string; fence: string }[]; deadLetters: number };
      expect(Object.keys(s.queues)).toEqual(expect.arrayContaining(['attest', 'commit', 'deliver', 'verify']));
      const watchLeases = s.leases.filter((l) => l.key.startsWith('watch:'));
      expect(watchLeases.map((l) => l.key).sort(), JSON.stringify(s.leases)).toEqual(chains.map((c) => watcherLeaseKey(c.chainId)).sort());
      for (const l of watchLeases) expect(pidOf(l.holder)).toBe(survivorPid);
      // The hub sends from the relayer key and takes no slot; a surviving worker holds slot 1, a killed one's lapsed.
      const slotLeases = await until(async () => {
        const now = JSON.parse((await runCli(['relayer', 'status', '--json', '--data-dir', dir], { env: cleanEnv({ REDIS_URL }) })).stdout) as typeof s;
        const held = now.leases.filter((l) => l.key.startsWith('sender:'));
        return survivorPid === worker!.pid ? (held.length === 1 ? held : null) : held.length === 0 ? held : null;
      }, { timeoutMs: 20_000, intervalMs: 500, what: 'the sender slot leases settling' });
      for (const l of slotLeases) expect([l.key, pidOf(l.holder)]).toEqual([senderSlotLeaseKey(1), worker!.pid]);
      expect(s.deadLetters).toBe(0);
    } finally {
      govProvider.destroy();
    }
  });
});
