import { Contract, Interface, parseUnits, type HDNodeWallet } from 'ethers';
import type { PortArtifacts } from '../../adapters/evm/artifacts.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { deployBulkSender, type DemoEnd } from '../helpers/relay-chaos.ts';
import { BlockClock } from './block-clock.ts';
import { splitStages, type StageSplit, type StageTimes } from './stage-times.ts';
import { percentile } from './stats.ts';

/** Every message asks the destination for this much gas for its receiver (as the other relay benchmarks do). */
const PAYLOAD_GAS = 100_000n;

interface Sent {
  id: Hex;
  block: number;
  from: number;
}

interface Lane {
  from: DemoEnd;
  to: DemoEnd;
  sender: Contract;
  senderAddress: string;
  wallet: HDNodeWallet;
  chainId: bigint;
  nonce: number;
  gasLimit: bigint;
}

/**
 * Fixed fees above the demo chains' base fee even after a phase of full blocks (each phase starts at 1 gwei and
 * 60 s of 90%-full blocks take it to ~300 gwei): a send never waits on its price.
 */
const MAX_FEE = parseUnits('2000', 'gwei');
/** Where every phase starts the chains' base fee: a settled fee market, whatever the phase before did to it. */
const START_BASE_FEE = parseUnits('1', 'gwei');
const TIP = parseUnits('1', 'gwei');

export interface PhaseResult {
  messages: number;
  /** First send submitted to the last delivery seen on chain (ms). */
  totalMs: number;
  sendingMs: number;
  /**
   * Source finality to delivery, per message (ms): when the delivery block was first seen minus when the source
   * block `finalityDepth` above the send's was first seen, both by wall clock (BlockClock, polls every `pollMs`).
   */
  latency: { p50: number; p99: number; max: number; pollMs: number; failedPolls: number };
  /** The same from block timestamps (whole seconds: a cross-check, ±1 s). */
  blockTimeLatency: { p50: number; p99: number };
  /** Where the latency went, step by step (when `LoadOptions.stageTimes` was given). */
  stages?: { steps: StageSplit[]; missing: number };
  /** Gas used per message: sending (BulkSender → port.send) and delivering (deliverBatch, receiver included). */
  gas: { sendPerMsg: number; deliverPerMsg: number; sendLimitPerMsg: number; deliverLimitPerMsg: number; blockLimit: bigint; blockTimeS: number; busiestBlockUse: number };
}

export interface LoadOptions {
  perTx: number;
  finalityDepth: number;
  label: string;
  timeoutMs: number;
  /** When each message reached each status in the hub's index: splits the latency into steps. */
  stageTimes?: () => Promise<StageTimes>;
  /** Called every few seconds with what the chains say so far. */
  onProgress?: (p: { sent: number; delivered: number; elapsedMs: number; sending: boolean }) => void;
  /** Called once the receivers have counted every message, before the chains are read for the report. */
  onDelivered?: () => void;
  /** How often the block clocks poll each chain (ms; default 20, and 100 in a saturation run). */
  clockPollMs?: number;
}

/**
 * Traffic both ways between the two demo chains (A→B and B→A in turn, so two
 * destination chains share the delivery gas), sent `perTx` messages to a
 * BulkSender transaction; deliveries are counted by the receivers and checked
 * per id on the destination ports. Everything it reports is read from the
 * chains.
 */
export class ScaleLoad {
  private readonly lanes: Lane[];
  private seq = 0;
  /** Transactions sent so far: the lanes take turns per transaction, whatever the batch size of each run. */
  private turn = 0;
  private readonly sentTopic: string;
  private readonly deliveredTopic: string;
  private readonly portIface: Interface;
  private readonly receivers: Contract[];

  private constructor(
    private readonly ends: [DemoEnd, DemoEnd],
    lanes: Lane[],
    artifacts: PortArtifacts,
  ) {
    this.lanes = lanes;
    this.portIface = new Interface(artifacts.QiaoPort.abi as never);
    this.sentTopic = this.portIface.getEvent('MessageSent')!.topicHash;
    this.deliveredTopic = this.portIface.getEvent('MessageDelivered')!.topicHash;
    this.receivers = ends.map((e) => new Contract(e.receiver, artifacts.DemoReceiver.abi as never, e.provider));
  }

  static async create(ends: [DemoEnd, DemoEnd], artifacts: PortArtifacts, perTx: number): Promise<ScaleLoad> {
    const lanes: Lane[] = [];
    for (const [from, to] of [
      [ends[0], ends[1]],
      [ends[1], ends[0]],
    ] as const) {
      const { sender, wallet } = await deployBulkSender(from.provider);
      // A gas limit near what a transaction uses lets several share a block (a fixed 25M would take the whole block).
      const estimate = await sender.getFunction('sendMany').estimateGas(from.port, to.chainId, to.port, to.receiver, PAYLOAD_GAS, perTx, 0);
      lanes.push({
        from,
        to,
        sender,
        senderAddress: await sender.getAddress(),
        wallet,
        chainId: (await from.provider.getNetwork()).chainId,
        nonce: await from.provider.getTransactionCount(wallet.address),
        gasLimit: (estimate * 13n) / 10n,
      });
    }
    return new ScaleLoad(ends, lanes, artifacts);
  }

  async delivered(): Promise<number> {
    const counts = await Promise.all(this.receivers.map(async (r) => Number(await r.getFunction('received')())));
    return counts[0]! + counts[1]!;
  }

  /**
   * Sends one transaction of `perTx` messages on the lane whose turn it is;
   * the receipt is read later. Signed here with fixed fees and sent raw, so
   * the sender needs no RPC round trips of its own besides the send (it shares
   * its event loop with an embedded hub).
   */
  private async sendOne(perTx: number, pending: Promise<Sent[]>[]): Promise<void> {
    const laneNo = this.turn++ % 2;
    const lane = this.lanes[laneNo]!;
    const first = this.seq;
    this.seq += perTx;
    const data = lane.sender.interface.encodeFunctionData('sendMany', [lane.from.port, lane.to.chainId, lane.to.port, lane.to.receiver, PAYLOAD_GAS, perTx, first]);
    const raw = await lane.wallet.signTransaction({ type: 2, chainId: lane.chainId, to: lane.senderAddress, data, nonce: lane.nonce++, gasLimit: lane.gasLimit, maxFeePerGas: MAX_FEE, maxPriorityFeePerGas: TIP });
    const hash = (await lane.from.provider.send('eth_sendRawTransaction', [raw])) as string;
    const port = lane.from.port.toLowerCase();
    pending.push(
      lane.from.provider.waitForTransaction(hash).then((r) => {
        if (r?.status !== 1) throw new Error(`bulk send ${hash} reverted`);
        const out = r.logs.filter((l) => l.address.toLowerCase() === port && l.topics[0] === this.sentTopic).map((l) => ({ id: l.topics[1]!.toLowerCase() as Hex, block: r.blockNumber, from: laneNo }));
        if (out.length !== perTx) throw new Error(`bulk send ${hash}: ${out.length} MessageSent logs, expected ${perTx}`);
        return out;
      }),
    );
  }

  /**
   * Closed loop: keeps at most `window` messages sent and not yet delivered
   * for `seconds`, so the relayer always has work and the backlog stays
   * bounded; then waits for every delivery. Measures sustained capacity.
   */
  async saturate(seconds: number, window: number, o: LoadOptions): Promise<PhaseResult> {
    // Latency at saturation is reported in whole seconds: 10 polls a second per chain do for it. At 50 a second per
    // chain the clocks were the load generator's busiest requests, on the two cores the relayer being measured shares.
    return this.run({ clockPollMs: 100, ...o }, async (pending, state) => {
      const end = state.t0 + seconds * 1000;
      while (performance.now() < end) {
        const outstanding = state.sent - (await this.delivered()) + state.before;
        if (outstanding + o.perTx <= window) {
          await this.sendOne(o.perTx, pending);
          state.sent += o.perTx;
        } else {
          await sleep(100);
        }
        state.tick();
      }
    });
  }

  /** Open loop: `rate` messages per second for `seconds`, whatever the relayer does; then waits for every delivery. */
  async offer(rate: number, seconds: number, o: LoadOptions): Promise<PhaseResult> {
    return this.run(o, async (pending, state) => {
      const txs = Math.max(1, Math.round((rate * seconds) / o.perTx));
      const every = (o.perTx * 1000) / rate;
      for (let k = 0; k < txs; k++) {
        const wait = state.t0 + k * every - performance.now();
        if (wait > 0) await sleep(wait);
        await this.sendOne(o.perTx, pending);
        state.sent += o.perTx;
        state.tick();
      }
    });
  }

  private async run(
    o: LoadOptions,
    send: (pending: Promise<Sent[]>[], state: { t0: number; sent: number; before: number; tick(): void }) => Promise<void>,
  ): Promise<PhaseResult> {
    // Full blocks raise the base fee 10% a block: without a reset, each phase would start where the last one
    // left the fee market (hundreds of gwei), and what it measured would depend on the order of the phases.
    await Promise.all(this.ends.map((e) => e.provider.send('anvil_setNextBlockBaseFeePerGas', [`0x${START_BASE_FEE.toString(16)}`])));
    const clocks = await Promise.all(this.ends.map((e) => BlockClock.start(e.provider._getConnection().url, o.clockPollMs)));
    try {
      return await this.measured(o, send, clocks);
    } finally {
      for (const c of clocks) c.stop();
    }
  }

  private async measured(
    o: LoadOptions,
    send: (pending: Promise<Sent[]>[], state: { t0: number; sent: number; before: number; tick(): void }) => Promise<void>,
    clocks: BlockClock[],
  ): Promise<PhaseResult> {
    const startBlocks = await Promise.all(this.ends.map((e) => e.provider.getBlockNumber()));
    const before = await this.delivered();
    const pending: Promise<Sent[]>[] = [];
    let lastReport = 0;
    let sending = true;
    const state = {
      t0: performance.now(),
      sent: 0,
      before,
      tick: () => undefined as void,
    };
    let delivered = 0;
    const report = async (force = false) => {
      const now = performance.now();
      if (!force && now - lastReport < 5000) return;
      lastReport = now;
      delivered = (await this.delivered()) - before;
      o.onProgress?.({ sent: state.sent, delivered, elapsedMs: now - state.t0, sending });
    };
    state.tick = () => void report().catch(() => undefined);
    await send(pending, state);
    const sendingMs = performance.now() - state.t0;
    sending = false;
    // A failed receipt read fails the phase: every send must be accounted for.
    const sent = (await Promise.all(pending)).flat();
    if (sent.length !== state.sent) throw new Error(`${o.label}: ${sent.length} messages sent on chain, ${state.sent} meant`);
    while (delivered < sent.length) {
      delivered = (await this.delivered()) - before;
      if (delivered >= sent.length) break;
      if (performance.now() - state.t0 > o.timeoutMs) throw new Error(`${o.label}: only ${delivered} of ${sent.length} delivered after ${o.timeoutMs / 1000} s`);
      await report();
      await sleep(200);
    }
    const totalMs = performance.now() - state.t0;
    o.onDelivered?.();
    if (delivered !== sent.length) throw new Error(`${o.label}: the receivers counted ${delivered} deliveries, ${sent.length} were sent`);
    await report(true);
    return { messages: sent.length, totalMs, sendingMs, ...(await this.fromChains(sent, startBlocks, o, clocks)) };
  }

  /** Exactly once per id (destination port events), latency from block times, gas per message. */
  private async fromChains(sent: Sent[], startBlocks: number[], o: LoadOptions, clocks: BlockClock[]): Promise<Pick<PhaseResult, 'latency' | 'blockTimeLatency' | 'gas' | 'stages'>> {
    const deliveredAt = new Map<string, { block: number; ok: boolean; count: number; tx: string }>();
    const txMessages = new Map<string, { chain: number; n: number }>();
    for (const [i, e] of this.ends.entries()) {
      const logs = await e.provider.getLogs({ address: e.port, topics: [this.deliveredTopic], fromBlock: startBlocks[i]!, toBlock: 'latest' });
      for (const l of logs) {
        const p = this.portIface.parseLog(l)!;
        const id = (p.args[0] as string).toLowerCase();
        const had = deliveredAt.get(id);
        deliveredAt.set(id, { block: l.blockNumber, ok: p.args[1] === true, count: (had?.count ?? 0) + 1, tx: l.transactionHash });
        const t = txMessages.get(l.transactionHash) ?? { chain: i, n: 0 };
        t.n++;
        txMessages.set(l.transactionHash, t);
      }
    }
    const times = this.ends.map(() => new Map<number, number>());
    const blockTime = async (chain: number, n: number): Promise<number> => {
      const cached = times[chain]!.get(n);
      if (cached !== undefined) return cached;
      const b = await this.ends[chain]!.provider.getBlock(n);
      if (!b) throw new Error(`${o.label}: block ${n} of chain ${this.ends[chain]!.chainId} not found`);
      times[chain]!.set(n, b.timestamp * 1000);
      return b.timestamp * 1000;
    };
    const lat: number[] = [];
    const blockLat: number[] = [];
    const seenAt = (chain: number, n: number): number => {
      const t = clocks[chain]!.at(n);
      if (t === undefined) throw new Error(`${o.label}: block ${n} of chain ${this.ends[chain]!.chainId} was never seen by the block clock`);
      return t;
    };
    const perMessage: { id: Hex; final: number; deliveryBlock: number }[] = [];
    for (const s of sent) {
      const d = deliveredAt.get(s.id);
      if (!d || d.count !== 1 || !d.ok) throw new Error(`${o.label}: message ${s.id} delivered ${d?.count ?? 0} times on chain${d && !d.ok ? ' (failed)' : ''}`);
      const [final, deliveryBlock] = [seenAt(s.from, s.block + o.finalityDepth), seenAt(1 - s.from, d.block)];
      lat.push(deliveryBlock - final);
      perMessage.push({ id: s.id, final: performance.timeOrigin + final, deliveryBlock: performance.timeOrigin + deliveryBlock });
      blockLat.push((await blockTime(1 - s.from, d.block)) - (await blockTime(s.from, s.block + o.finalityDepth)));
    }
    lat.sort((a, b) => a - b);
    blockLat.sort((a, b) => a - b);

    // Gas: a few delivery transactions (per message each carried) and send transactions.
    const deliverTxs = [...txMessages].slice(0, 12);
    const deliverGas = await Promise.all(
      deliverTxs.map(async ([hash, t]) => Number((await this.ends[t.chain]!.provider.getTransactionReceipt(hash))!.gasUsed) / t.n),
    );
    // What a block must have room for is the gas limit a transaction asks, not what it ends up using.
    const deliverLimit = await Promise.all(deliverTxs.map(async ([hash, t]) => Number((await this.ends[t.chain]!.provider.getTransaction(hash))!.gasLimit) / t.n));
    const sendLimit: number[] = [];
    const sendBlocks = [...new Set(sent.filter((s) => s.from === 0).map((s) => s.block))].slice(0, 4);
    const sendGas: number[] = [];
    for (const n of sendBlocks) {
      const b = await this.ends[0].provider.getBlock(n, true);
      for (const tx of b?.prefetchedTransactions ?? []) {
        if (tx.to?.toLowerCase() !== this.lanes[0]!.senderAddress.toLowerCase()) continue;
        const r = await this.ends[0].provider.getTransactionReceipt(tx.hash);
        if (r) sendGas.push(Number(r.gasUsed) / o.perTx);
        sendLimit.push(Number(tx.gasLimit) / o.perTx);
      }
    }
    const head = await this.ends[0].provider.getBlock('latest');
    const prev = await this.ends[0].provider.getBlock(head!.number - 10);
    // Busiest block of the phase on either chain: how close the chains came to their gas limit.
    let busiest = 0;
    for (const [i, e] of this.ends.entries()) {
      const top = await e.provider.getBlockNumber();
      for (let n = startBlocks[i]! + 1; n <= top; n += 1) {
        const b = await e.provider.getBlock(n);
        if (b) busiest = Math.max(busiest, Number(b.gasUsed) / Number(b.gasLimit));
      }
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
    return {
      ...(o.stageTimes ? { stages: splitStages(await o.stageTimes(), perMessage) } : {}),
      latency: { p50: percentile(lat, 50), p99: percentile(lat, 99), max: lat[lat.length - 1] ?? NaN, pollMs: clocks[0]!.pollMs, failedPolls: clocks.reduce((n, c) => n + c.failedPolls, 0) },
      blockTimeLatency: { p50: percentile(blockLat, 50), p99: percentile(blockLat, 99) },
      gas: {
        sendPerMsg: mean(sendGas),
        deliverPerMsg: mean(deliverGas),
        sendLimitPerMsg: mean(sendLimit),
        deliverLimitPerMsg: mean(deliverLimit),
        blockLimit: head!.gasLimit,
        blockTimeS: (head!.timestamp - prev!.timestamp) / 10,
        busiestBlockUse: busiest,
      },
    };
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
