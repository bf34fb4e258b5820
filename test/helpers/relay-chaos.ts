import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Contract, ContractFactory, Interface, Wallet, type HDNodeWallet, type JsonRpcProvider } from 'ethers';
import { portArtifacts, type PortArtifacts } from '../../adapters/evm/artifacts.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { compileSolidity } from '../../src/governance/solc.ts';
import { REPO_ROOT } from './cli.ts';
import { until } from './services.ts';
import { seededRandom } from './seeded-random.ts';
export { seededRandom };

const ONE_THOUSAND_ETH = '0x3635C9ADC5DEA00000';
const BULK_SOL = join(dirname(fileURLToPath(import.meta.url)), '..', 'bench', 'contracts', 'BulkSender.sol');

/** A `qiao relayer start` child in its own process group (as a second machine's worker would run). */
export interface WorkerProc {
  pid: number;
  output(): string;
  ready: Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  isReady(): boolean;
  /** SIGKILLs the whole group and waits for the exit. */
  kill(): Promise<void>;
}

export function spawnRelayerWorker(dataDir: string, env: NodeJS.ProcessEnv, leaseTtlMs = 4000): WorkerProc {
  const child = spawn(process.execPath, ['bin/qiao.mjs', 'relayer', 'start', '--dev', '--data-dir', dataDir, '--lease-ttl', String(leaseTtlMs), '--log', 'stderr'], {
    cwd: REPO_ROOT,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let readyNow = false;
  const append = (b: Buffer) => {
    out += b.toString();
    if (out.length > 2_000_000) out = out.slice(-200_000);
  };
  child.stdout.on('data', append);
  child.stderr.on('data', append);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
  let gone = false;
  void exited.then(() => (gone = true));
  const ready = until(async () => {
    if (gone) throw new Error(`the worker exited before it was ready:\n${out.slice(-3000)}`);
    return out.includes('relayer worker ready');
  }, { timeoutMs: 90_000, intervalMs: 100, what: 'the relayer worker' }).then(() => {
    readyNow = true;
  });
  // A kill before ready is a legitimate outcome; whoever awaits `ready` sees the failure.
  ready.catch(() => {});
  return {
    pid: child.pid!,
    output: () => out,
    ready,
    exited,
    isReady: () => readyNow && !gone,
    async kill() {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // gone already
      }
      await exited;
    },
  };
}

export interface DemoEnd {
  chainId: string;
  port: string;
  receiver: string;
  provider: JsonRpcProvider;
}

/** The BulkSender of test/bench (100 port sends per transaction), deployed from a fresh funded wallet. */
export async function deployBulkSender(provider: JsonRpcProvider): Promise<{ sender: Contract; wallet: HDNodeWallet }> {
  const bulk = await compileSolidity([BULK_SOL]);
  const wallet = Wallet.createRandom().connect(provider);
  await provider.send('anvil_setBalance', [wallet.address, ONE_THOUSAND_ETH]);
  const B = bulk.BulkSender!;
  const sender = (await new ContractFactory(B.abi as never, B.bytecode, wallet).deploy()) as Contract;
  await sender.waitForDeployment();
  return { sender, wallet };
}

/**
 * Sends `n` messages from `from` to `to`, `perTx` per transaction, and returns
 * the message ids the source port emitted (MessageSent's first topic), with the
 * block each was sent in.
 */
export async function sendBulk(
  { sender, wallet }: { sender: Contract; wallet: HDNodeWallet },
  from: DemoEnd,
  to: DemoEnd,
  n: number,
  { perTx = 100, firstSeq = 0, payloadGas = 100_000n } = {},
): Promise<{ id: Hex; block: number }[]> {
  const sentTopic = new Interface((await portArtifacts()).QiaoPort.abi as never).getEvent('MessageSent')!.topicHash;
  let nonce = await from.provider.getTransactionCount(wallet.address);
  const txs = [];
  for (let i = 0; i < n; i += perTx) {
    const count = Math.min(perTx, n - i);
    txs.push(await sender.getFunction('sendMany')(from.port, to.chainId, to.port, to.receiver, payloadGas, count, firstSeq + i, { gasLimit: 25_000_000n, nonce: nonce++ }));
  }
  const out: { id: Hex; block: number }[] = [];
  for (const tx of txs) {
    const r = await tx.wait();
    if (r?.status !== 1) throw new Error(`bulk send ${tx.hash as string} reverted`);
    for (const l of r.logs) if (l.address.toLowerCase() === from.port.toLowerCase() && l.topics[0] === sentTopic) out.push({ id: l.topics[1]!.toLowerCase() as Hex, block: r.blockNumber });
  }
  if (out.length !== n) throw new Error(`expected ${n} MessageSent logs, found ${out.length}`);
  return out;
}

/**
 * What the destination chain says: MessageDelivered per id on the port (all of
 * them must be successes) and the receiver's counters.
 */
export async function onChainDeliveries(artifacts: PortArtifacts, to: DemoEnd): Promise<{ perId: Map<string, number>; failed: string[]; received: number; senders: Set<string> }> {
  const iface = new Interface(artifacts.QiaoPort.abi as never);
  const topic = iface.getEvent('MessageDelivered')!.topicHash;
  const logs = await to.provider.getLogs({ address: to.port, topics: [topic], fromBlock: 0n, toBlock: 'latest' });
  const perId = new Map<string, number>();
  const failed: string[] = [];
  for (const l of logs) {
    const p = iface.parseLog(l)!;
    const id = (p.args[0] as string).toLowerCase();
    if (p.args[1] !== true) failed.push(id);
    perId.set(id, (perId.get(id) ?? 0) + 1);
  }
  // Who paid for the deliveries (the transactions' signers, as the chain recovered them).
  const senders = new Set<string>();
  for (const h of new Set(logs.map((l) => l.transactionHash))) senders.add((await to.provider.getTransaction(h))!.from);
  const receiver = new Contract(to.receiver, artifacts.DemoReceiver.abi as never, to.provider);
  return { perId, failed, received: Number(await receiver.getFunction('received')()), senders };
}

/** DemoReceiver.timesReceived for every id, read in concurrent chunks (eth_call each). */
export async function timesReceived(artifacts: PortArtifacts, to: DemoEnd, ids: string[], chunk = 100): Promise<Map<string, number>> {
  const receiver = new Contract(to.receiver, artifacts.DemoReceiver.abi as never, to.provider);
  const out = new Map<string, number>();
  for (let i = 0; i < ids.length; i += chunk) {
    const part = ids.slice(i, i + chunk);
    const got = await Promise.all(part.map(async (id) => Number(await receiver.getFunction('timesReceived')(id))));
    part.forEach((id, k) => out.set(id, got[k]!));
  }
  return out;
}

export async function receivedCount(artifacts: PortArtifacts, to: DemoEnd): Promise<number> {
  return Number(await new Contract(to.receiver, artifacts.DemoReceiver.abi as never, to.provider).getFunction('received')());
}
