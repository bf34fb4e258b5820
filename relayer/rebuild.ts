import { Interface, Wallet, getAddress, type JsonRpcProvider, type Log } from 'ethers';
import type { Logger } from 'pino';
import { portArtifacts } from '../adapters/evm/artifacts.ts';
import { decodeReason, REJECT_REASONS } from '../adapters/evm/adapter.ts';
import type { AdapterFactory } from '../src/domain/adapter.ts';
import { ROOT_TYPE, recoverAttestor } from '../src/domain/attestation.ts';
import { parseEvmChainId } from '../src/domain/caip.ts';
import type { ChainFamily, ChainRegistration } from '../src/domain/chain.ts';
import type { Hex } from '../src/domain/hex.ts';
import { messageToJson } from '../src/domain/message.ts';
import { MessageTree } from '../src/domain/merkle.ts';
import { ValidationError } from '../src/errors.ts';
import { makeProvider } from '../src/evm/provider.ts';
import { TxSender } from '../src/evm/signer.ts';
import type { GovernanceClient } from '../src/governance/client.ts';
import type { MessageIndex } from '../src/index/types.ts';
import { silentLogger } from '../src/logging.ts';
import type { ConnectedChain, StageContext } from './context.ts';
import { closeLightClients, lightClientsFor } from './light/connect.ts';
import { createMemoryBackend } from './queue/index.ts';
import type { AttestJob, CommitJob, DeliverJob, VerifyJob } from './jobs.ts';
import { verifyJob } from './stages/verify.ts';

export type RebuildPhase = 'registry' | 'messages' | 'verify' | 'batches' | 'deliveries' | 'done';

/** What the rebuild is doing now: `done` of `total` units (blocks or batches) of one phase, on one chain. */
export interface RebuildProgress {
  phase: RebuildPhase;
  chain?: string;
  done: number;
  total: number;
}

export interface ChainSummary {
  chainId: string;
  /** Heights scanned for MessageSent (inclusive), or null when the chain was skipped. */
  scanned: { from: string; to: string } | null;
  skipped?: string;
  messages: number;
  verified: number;
  quarantined: number;
  /** Left `sent`: no endpoint served a proof (e.g. the node pruned that state). */
  unverified: number;
  deliveryScan: { from: string; to: string } | null;
  delivered: number;
  failed: number;
  /** Messages to this chain its port cancelled (past their timeout): `timed_out`. */
  timedOut: number;
  /** Messages from this chain whose ack this port recorded: `acknowledged` (delivered) or `refunded` (cancelled). */
  acknowledged: number;
  refunded: number;
}

export interface RebuildSummary {
  from: string;
  chains: ChainSummary[];
  batches: {
    seen: number;
    /** Batches holding none of the messages the rebuild scanned (e.g. below `from`): not written. */
    skipped: number;
    committed: number;
    attested: number;
    /** Committed batches no destination port received, so no signatures exist on chain: they stay committed. */
    neverDelivered: string[];
  };
  attestations: { recovered: number; rejected: number };
  laneNonces: 'recorded' | 'skipped';
  /** Message ids in the index that are `sent` after the rebuild (could not be verified). */
  unverified: Hex[];
}

export interface RebuildDeps {
  index: MessageIndex;
  gov: GovernanceClient;
  adapterFactories: Record<ChainFamily, AdapterFactory>;
  /** local-dev header trust: only for chains the hub started itself, or with --dev (as in the live relayer). */
  allowLocalDev(chainId: string): boolean;
  logger?: Logger;
  onProgress?(p: RebuildProgress): void;
}

export interface RebuildOptions {
  /** First member-chain height scanned for MessageSent (default 0). Destination ports are scanned from 0. */
  from?: bigint;
  /** Widest eth_getLogs range. */
  maxLogRange?: number;
}

interface DstEvent {
  kind: 'delivered' | 'failed' | 'rejected' | 'cancelled';
  id: Hex;
  height: bigint;
  logIndex: number;
  txHash: Hex;
  reason?: string;
}

/** What a source port recorded when an ack message came back: `Acknowledged`, and `MessageRefunded` after a cancel. */
interface SrcAck {
  /** The original message the ack answers. */
  id: Hex;
  outcome: 'delivered' | 'failed' | 'cancelled';
  height: bigint;
  logIndex: number;
  txHash: Hex;
  /** The ack message whose delivery made the port record it (delivered in the same transaction). */
  ack: Hex | null;
  refund: { sender: string; value: string; paid: boolean } | null;
}

interface SignedRoot {
  setId: bigint;
  batchNo: bigint;
  root: Hex;
  signatures: Hex[];
}

interface ChainScan {
  conn: ConnectedChain;
  provider: JsonRpcProvider;
  summary: ChainSummary;
}

function* ranges(from: bigint, to: bigint, size: number): Generator<[bigint, bigint]> {
  for (let a = from; a <= to; a += BigInt(size)) {
    const b = a + BigInt(size) - 1n;
    yield [a, b > to ? to : b];
  }
}

const span = (from: bigint, to: bigint) => (to >= from ? Number(to - from + 1n) : 0);

/**
 * Re-derives the message index from chain data alone: the registry, the source
 * ports' MessageSent logs (each block's commitments proven again, through the
 * live verify stage itself), the MessageLog's batches, the attestors'
 * signatures as the destination ports received them in calldata, and the
 * ports' delivery events. Every index write is idempotent, so running it twice,
 * or over a live index, changes nothing that is already right.
 */
export async function rebuildIndex(deps: RebuildDeps, { from = 0n, maxLogRange = 2000 }: RebuildOptions = {}): Promise<RebuildSummary> {
  if (from < 0n) throw new ValidationError('from', 'must be a height >= 0');
  if (!Number.isInteger(maxLogRange) || maxLogRange < 1) throw new ValidationError('maxLogRange', 'must be a positive integer');
  const { index, gov } = deps;
  const logger = deps.logger ?? silentLogger();
  const progress = deps.onProgress ?? (() => {});
  const iface = new Interface((await portArtifacts()).QiaoPort.abi as never);
  const queues = createMemoryBackend();
  const scans = new Map<string, ChainScan>();
  const summary: RebuildSummary = {
    from: from.toString(),
    chains: [],
    batches: { seen: 0, skipped: 0, committed: 0, attested: 0, neverDelivered: [] },
    attestations: { recovered: 0, rejected: 0 },
    laneNonces: from === 0n ? 'recorded' : 'skipped',
    unverified: [],
  };
  try {
    // ------------------------------------------------------------- registry
    progress({ phase: 'registry', done: 0, total: 1 });
    const regs = await gov.chains();
    for (const reg of regs) await index.upsertChain(reg);
    progress({ phase: 'registry', done: 1, total: 1 });
    for (const reg of regs) {
      const s: ChainSummary = { chainId: reg.chainId, scanned: null, messages: 0, verified: 0, quarantined: 0, unverified: 0, deliveryScan: null, delivered: 0, failed: 0, timedOut: 0, acknowledged: 0, refunded: 0 };
      summary.chains.push(s);
      if (reg.status !== 'approved') s.skipped = `status ${reg.status}`;
      else if (reg.family !== 'evm') s.skipped = `the ${reg.family} family has no rebuild scanner yet`;
      if (s.skipped) continue;
      try {
        scans.set(reg.chainId, { conn: await connect(reg, deps, logger), provider: makeProvider(reg.endpoints[0]!, BigInt(parseEvmChainId(reg.chainId, 'chainId'))), summary: s });
      } catch (err) {
        s.skipped = `cannot connect: ${err instanceof Error ? err.message : String(err)}`;
        logger.warn({ err, chain: reg.chainId }, 'rebuild: chain skipped');
      }
    }

    // The live verify stage, run on a context whose queues are never worked:
    // the proofs, anchors and quarantine rules are the pipeline's own.
    const ctx: StageContext = {
      index,
      gov,
      // Never used by the verify stage; a fresh key with no funds could not send anyway.
      committer: new TxSender(Wallet.createRandom().privateKey, gov.provider),
      chains: new Map([...scans].map(([id, s]) => [id, s.conn])),
      attestors: [],
      queues: {
        verify: queues.queue<VerifyJob>('verify'),
        commit: queues.queue<CommitJob>('commit'),
        attest: queues.queue<AttestJob>('attest'),
        deliver: queues.queue<DeliverJob>('deliver'),
      },
      settings: { pollIntervalMs: 1000, maxLogRange, batchSize: 1000, batchDelayMs: 1000, deliverChunk: 50, attempts: 1, concurrency: 1, govFinalityDepth: 0 },
      logger,
      allowLocalDev: (id) => deps.allowLocalDev(id),
    };

    const blockTimes = blockTimeReader();

    // ------------------------------------------------ messages, then proofs
    for (const [chainId, scan] of scans) {
      const { finalized } = await scan.conn.adapter.watcher.heads();
      const byHeight = new Map<bigint, Hex[]>();
      if (finalized >= from) {
        scan.summary.scanned = { from: from.toString(), to: finalized.toString() };
        const total = span(from, finalized);
        for (const [a, b] of ranges(from, finalized, maxLogRange)) {
          const found = await scan.conn.adapter.watcher.messagesIn(a, b);
          if (found.length) {
            const times = await blockTimes(scan.provider, found.map((m) => m.height));
            await index.recordSent(
              chainId,
              found.map((m) => ({ id: m.id, encoded: m.encoded, message: messageToJson(m.message), height: m.height, txHash: m.txHash, blockHash: m.blockHash, logIndex: m.logIndex, at: times.get(m.height)! })),
            );
            if (from === 0n) {
              const gaps = await index.recordLaneNonces(found.map((m) => ({ srcChain: chainId, srcPort: m.message.srcPort, dstChain: m.message.dstChain, nonce: m.message.nonce })));
              for (const g of gaps) logger.error({ chain: chainId, gap: g }, 'lane nonce gap: a message was skipped or a log is missing');
            }
            for (const m of found) byHeight.set(m.height, [...(byHeight.get(m.height) ?? []), m.id]);
            scan.summary.messages += found.length;
          }
          progress({ phase: 'messages', chain: chainId, done: span(from, b), total });
        }
      }
      let done = 0;
      for (const [height, ids] of byHeight) {
        for (let i = 0; i < ids.length; i += 5000) {
          const part = ids.slice(i, i + 5000);
          try {
            await verifyJob(ctx, { id: `rebuild:${chainId}:${height}`, name: 'verify', data: { chainId, height: height.toString(), ids: part }, attemptsMade: 0 });
          } catch (err) {
            // No endpoint answered (or the node pruned that state): the messages stay `sent`, as the live pipeline leaves them until a retry.
            logger.warn({ err, chain: chainId, height: String(height) }, 'rebuild: this block could not be verified; its messages stay sent');
          }
        }
        for (const r of await index.getMessages(ids)) {
          if (r.status === 'quarantined') scan.summary.quarantined++;
          else if (r.status === 'sent') scan.summary.unverified++;
          else scan.summary.verified++;
        }
        progress({ phase: 'verify', chain: chainId, done: ++done, total: byHeight.size });
      }
      if (finalized >= 0n) await index.setCheckpoint(chainId, finalized);
    }

    // ------------------------------------------------------------- batches
    const govHead = BigInt(await gov.provider.getBlockNumber());
    const sets = await attestorSets(gov, govHead, maxLogRange);
    const batches = await committedBatches(gov, govHead, maxLogRange);
    summary.batches.seen = batches.length;
    let bdone = 0;
    const written = new Map<bigint, { root: Hex; ready: Hex[] }>();
    for (const b of batches) {
      const known = await index.getMessages(b.ids);
      progress({ phase: 'batches', done: ++bdone, total: batches.length });
      if (known.length === 0) {
        summary.batches.skipped++;
        continue;
      }
      if (MessageTree.of(b.ids).root !== b.root) {
        // The attestors would refuse this root too: it is not written.
        logger.error({ batchNo: String(b.batchNo), root: b.root }, 'rebuild: a MessageLog batch root is not the root of its logged ids; skipped');
        summary.batches.skipped++;
        continue;
      }
      await index.createBatch(b.batchNo, b.root, b.ids);
      await index.markBatch(b.batchNo, 'committed', { txHash: b.txHash, height: b.height });
      // Only what this rebuild (or the index) holds as verified moves on: a message whose proof failed is not committed over it.
      const ready = known.filter((m) => m.status !== 'sent').map((m) => m.id);
      await index.transition(ready, 'committed', {
        chain: `eip155:${gov.chainId}`,
        at: (await blockTimes(gov.provider, [b.height])).get(b.height)!,
        height: b.height,
        txHash: b.txHash,
        batchNo: b.batchNo,
        proof: { messageLog: gov.addresses.messageLog, batchNo: b.batchNo.toString(), root: b.root },
      });
      written.set(b.batchNo, { root: b.root, ready });
      summary.batches.committed++;
    }

    // ------------------------------------------- destinations: roots and outcomes
    const signed = new Map<bigint, SignedRoot>();
    const events: { chainId: string; ev: DstEvent }[] = [];
    const acks: { chainId: string; ack: SrcAck }[] = [];
    for (const [chainId, scan] of scans) {
      const { finalized } = await scan.conn.adapter.watcher.heads();
      if (finalized < 0n) continue;
      scan.summary.deliveryScan = { from: '0', to: finalized.toString() };
      const port = getAddress(scan.conn.registration.port);
      const topics = ['RootAccepted', 'MessageDelivered', 'MessageRejected', 'MessageCancelled', 'Acknowledged', 'MessageRefunded'].map((n) => iface.getEvent(n)!.topicHash);
      const txs = new Set<string>();
      const total = span(0n, finalized);
      for (const [a, b] of ranges(0n, finalized, maxLogRange)) {
        const logs = await scan.provider.getLogs({ address: port, topics: [topics], fromBlock: a, toBlock: b });
        for (const log of logs) {
          txs.add(log.transactionHash);
          const ev = dstEvent(iface, log);
          if (ev) events.push({ chainId, ev });
        }
        for (const ack of srcAcks(iface, logs)) acks.push({ chainId, ack });
        progress({ phase: 'deliveries', chain: chainId, done: span(0n, b), total });
      }
      for (const hash of txs) {
        const tx = await scan.provider.getTransaction(hash);
        if (!tx || !tx.to || getAddress(tx.to) !== port) continue; // called through another contract: no calldata of ours to read
        const root = signedRootOf(iface, tx.data);
        if (!root) continue;
        const prev = signed.get(root.batchNo);
        if (!prev) signed.set(root.batchNo, root);
        else if (prev.root === root.root && prev.setId === root.setId) prev.signatures.push(...root.signatures.filter((s) => !prev.signatures.includes(s)));
        else logger.warn({ batchNo: String(root.batchNo), chain: chainId }, 'rebuild: ports received different roots or sets for one batch number');
      }
    }

    // ------------------------------------------------------- attestations
    const domain = { chainId: gov.chainId, verifyingContract: gov.addresses.messageLog };
    for (const [batchNo, batch] of written) {
      const s = signed.get(batchNo);
      const set = s ? sets.get(s.setId) : undefined;
      if (!s || !set) {
        summary.batches.neverDelivered.push(batchNo.toString());
        continue;
      }
      if (s.root !== batch.root) {
        logger.error({ batchNo: String(batchNo), signed: s.root, logged: batch.root }, 'rebuild: a port accepted a root the MessageLog does not hold for this batch');
        summary.attestations.rejected += s.signatures.length;
        summary.batches.neverDelivered.push(batchNo.toString());
        continue;
      }
      const members = new Set(set.members.map((m) => getAddress(m)));
      for (const sig of s.signatures) {
        let who: string;
        try {
          who = recoverAttestor(domain, { rootType: ROOT_TYPE.messages, setId: s.setId, batchNo, root: batch.root }, sig);
        } catch {
          summary.attestations.rejected++;
          continue;
        }
        if (!members.has(who)) {
          summary.attestations.rejected++;
          continue;
        }
        await index.addAttestation({ batchNo, rootType: ROOT_TYPE.messages, setId: s.setId, attestor: who, signature: sig });
        summary.attestations.recovered++;
      }
      const lower = new Set([...members].map((m) => m.toLowerCase()));
      const sigs = (await index.attestations(batchNo, ROOT_TYPE.messages)).filter((a) => a.setId === s.setId.toString() && lower.has(a.attestor.toLowerCase()));
      if (sigs.length < set.threshold) {
        summary.batches.neverDelivered.push(batchNo.toString());
        continue;
      }
      await index.markBatch(batchNo, 'attested');
      await index.transition(batch.ready, 'attested', {
        chain: `eip155:${gov.chainId}`,
        batchNo,
        proof: { setId: s.setId.toString(), threshold: set.threshold, root: batch.root, signatures: sigs.map((a) => ({ attestor: a.attestor, signature: a.signature })) },
      });
      summary.batches.attested++;
    }

    // --------------------------------------------------------- deliveries
    events.sort((x, y) => (x.chainId < y.chainId ? -1 : x.chainId > y.chainId ? 1 : x.ev.height !== y.ev.height ? (x.ev.height < y.ev.height ? -1 : 1) : x.ev.logIndex - y.ev.logIndex));
    for (const { chainId, ev } of events) {
      const s = scans.get(chainId)!.summary;
      const row = await index.getMessage(ev.id);
      // Only messages this index holds as verified, and for which this chain is the destination.
      if (!row || row.dstChain !== chainId || row.status === 'sent') continue;
      // The destination block's time, so latency from a rebuilt index is chain time to chain time.
      const at = (await blockTimes(scans.get(chainId)!.provider, [ev.height])).get(ev.height)!;
      if (ev.kind === 'delivered') {
        await index.setDstTx(ev.id, ev.txHash);
        if ((await index.transition([ev.id], 'delivered', { chain: chainId, height: ev.height, txHash: ev.txHash, at })).length) s.delivered++;
      } else if (ev.kind === 'failed') {
        await index.setDstTx(ev.id, ev.txHash);
        if ((await index.transition([ev.id], 'failed', { chain: chainId, height: ev.height, txHash: ev.txHash, reason: ev.reason!, at })).length) s.failed++;
      } else if (ev.kind === 'cancelled') {
        // As the live timeout stage records the marker it wrote: the attested batch it was cancelled under.
        const batch = row.batchNo === null ? null : await index.getBatch(BigInt(row.batchNo));
        const proof = { cancelMarker: true, port: scans.get(chainId)!.conn.registration.port, ...(batch ? { batchNo: row.batchNo, root: batch.root } : {}) };
        if ((await index.transition([ev.id], 'timed_out', { chain: chainId, height: ev.height, txHash: ev.txHash, reason: 'cancel_marker', proof, at })).length) s.timedOut++;
      } else if ((await index.transition([ev.id], 'failed', { chain: chainId, reason: `refused_by_port:${ev.reason!}` })).length) s.failed++;
    }

    // ------------------------------------------- sources: acknowledgements and refunds
    // After every destination outcome: an ack moves a message that is delivered (or timed out) already.
    // The last record per id wins, as the live ack stage reads the port (an error ack may precede a delivery ack).
    acks.sort((x, y) => (x.chainId < y.chainId ? -1 : x.chainId > y.chainId ? 1 : x.ack.height !== y.ack.height ? (x.ack.height < y.ack.height ? -1 : 1) : x.ack.logIndex - y.ack.logIndex));
    const lastAck = new Map<Hex, { chainId: string; ack: SrcAck }>();
    for (const a of acks) lastAck.set(a.ack.id, a);
    for (const { chainId, ack } of lastAck.values()) {
      if (ack.outcome === 'failed') continue; // an error ack: the original stays failed, as live
      const row = await index.getMessage(ack.id);
      if (!row || row.srcChain !== chainId || row.status === 'sent') continue;
      const s = scans.get(chainId)!.summary;
      const at = (await blockTimes(scans.get(chainId)!.provider, [ack.height])).get(ack.height)!;
      const evidence = { chain: chainId, txHash: ack.txHash, height: ack.height, at };
      const proof = { ack: ack.ack, outcome: ack.outcome, port: row.message.srcPort };
      if (ack.outcome === 'delivered') {
        if ((await index.transition([ack.id], 'acknowledged', { ...evidence, proof })).length) s.acknowledged++;
      } else if ((await index.transition([ack.id], 'refunded', { ...evidence, proof: { ...proof, refund: ack.refund } })).length) s.refunded++;
    }

    summary.unverified = (await index.messagesByStatus('sent', 10_000)).map((m) => m.id);
    progress({ phase: 'done', done: 1, total: 1 });
    return summary;
  } finally {
    await queues.close().catch(() => undefined);
    for (const s of scans.values()) {
      s.provider.destroy();
      await s.conn.adapter.close().catch(() => undefined);
      await closeLightClients(s.conn);
    }
  }
}

/** As the live relayer connects a chain: its adapter, and a header light client where the registry names one. */
async function connect(reg: ChainRegistration, deps: RebuildDeps, logger: Logger): Promise<ConnectedChain> {
  const log = logger.child({ chain: reg.chainId });
  const adapter = await deps.adapterFactories[reg.family](reg, { logger: log });
  try {
    return { registration: reg, adapter, ...lightClientsFor(reg, adapter, { logger: log }) };
  } catch (err) {
    await adapter.close();
    throw err;
  }
}

/** Every attestor set the AttestorSet ever held, by set id. */
async function attestorSets(gov: GovernanceClient, head: bigint, maxLogRange: number): Promise<Map<bigint, { members: string[]; threshold: number }>> {
  const ev = gov.interfaces.attestorSet.getEvent('SetChanged')!;
  const out = new Map<bigint, { members: string[]; threshold: number }>();
  for (const [a, b] of ranges(0n, head, maxLogRange)) {
    for (const log of await gov.provider.getLogs({ address: gov.addresses.attestorSet, topics: [ev.topicHash], fromBlock: a, toBlock: b })) {
      const p = gov.interfaces.attestorSet.parseLog(log)!;
      out.set(p.args[0] as bigint, { members: [...(p.args[1] as string[])], threshold: Number(p.args[2]) });
    }
  }
  return out;
}

async function committedBatches(gov: GovernanceClient, head: bigint, maxLogRange: number): Promise<{ batchNo: bigint; root: Hex; ids: Hex[]; txHash: Hex; height: bigint }[]> {
  const ev = gov.interfaces.messageLog.getEvent('BatchCommitted')!;
  const out = [];
  for (const [a, b] of ranges(0n, head, maxLogRange)) {
    for (const log of await gov.provider.getLogs({ address: gov.addresses.messageLog, topics: [ev.topicHash], fromBlock: a, toBlock: b })) {
      const p = gov.interfaces.messageLog.parseLog(log)!;
      out.push({
        batchNo: p.args[0] as bigint,
        root: (p.args[1] as string).toLowerCase() as Hex,
        ids: (p.args[2] as string[]).map((x) => x.toLowerCase() as Hex),
        txHash: log.transactionHash.toLowerCase() as Hex,
        height: BigInt(log.blockNumber),
      });
    }
  }
  return out;
}

function dstEvent(iface: Interface, log: Log): DstEvent | null {
  const p = iface.parseLog(log);
  if (!p || (p.name !== 'MessageDelivered' && p.name !== 'MessageRejected' && p.name !== 'MessageCancelled')) return null;
  const base = { id: (p.args[0] as string).toLowerCase() as Hex, height: BigInt(log.blockNumber), logIndex: log.index, txHash: log.transactionHash.toLowerCase() as Hex };
  if (p.name === 'MessageCancelled') return { ...base, kind: 'cancelled' };
  if (p.name === 'MessageDelivered') return p.args[1] ? { ...base, kind: 'delivered' } : { ...base, kind: 'failed', reason: decodeReason(p.args[2] as string) };
  const code = Number(p.args[1]);
  // "already delivered" is the echo of an earlier delivery, which its own event records; "cancelled" likewise is
  // recorded by the MessageCancelled event (the live deliver stage records nothing for it either); "out of order"
  // (an ordered lane's message behind its head) waited, it was not refused, as the live index has it.
  if (code === 6 || code === 8 || code === 9) return null;
  return { ...base, kind: 'rejected', reason: REJECT_REASONS[code] ?? `rejected_${code}` };
}

const ACK_OUTCOMES = { 1: 'delivered', 2: 'failed', 3: 'cancelled' } as const;

/**
 * The acks a source port recorded in these logs (one eth_getLogs range holds whole transactions). Inside one
 * delivery transaction the port's qiaoReceive emits Acknowledged (and MessageRefunded after a cancel) while the
 * ack message is being delivered, so that message's own MessageDelivered is the next one after it.
 */
function srcAcks(iface: Interface, logs: readonly Log[]): SrcAck[] {
  const out: SrcAck[] = [];
  const byTx = new Map<string, Log[]>();
  for (const l of logs) byTx.set(l.transactionHash, [...(byTx.get(l.transactionHash) ?? []), l]);
  for (const txLogs of byTx.values()) {
    const parsed = txLogs.sort((x, y) => x.index - y.index).map((l) => ({ l, p: iface.parseLog(l) }));
    for (const [k, { l, p }] of parsed.entries()) {
      if (p?.name !== 'Acknowledged') continue;
      const outcome = ACK_OUTCOMES[Number(p.args[1]) as keyof typeof ACK_OUTCOMES];
      if (!outcome) continue;
      const id = (p.args[0] as string).toLowerCase() as Hex;
      const later = parsed.slice(k + 1);
      const delivered = later.find((x) => x.p?.name === 'MessageDelivered');
      const refund = later.find((x) => x.p?.name === 'MessageRefunded' && (x.p.args[0] as string).toLowerCase() === id)?.p;
      out.push({
        id,
        outcome,
        height: BigInt(l.blockNumber),
        logIndex: l.index,
        txHash: l.transactionHash.toLowerCase() as Hex,
        ack: delivered ? ((delivered.p!.args[0] as string).toLowerCase() as Hex) : null,
        refund: refund ? { sender: getAddress(refund.args[1] as string), value: (refund.args[2] as bigint).toString(), paid: refund.args[3] as boolean } : null,
      });
    }
  }
  return out;
}

/** The attested root a port call carries: deliverBatch and acceptRoot both take (setId, batchNo, root, signatures). */
function signedRootOf(iface: Interface, data: string): SignedRoot | null {
  let p;
  try {
    p = iface.parseTransaction({ data });
  } catch {
    return null;
  }
  if (!p || (p.name !== 'deliverBatch' && p.name !== 'acceptRoot')) return null;
  return {
    setId: p.args[0] as bigint,
    batchNo: p.args[1] as bigint,
    root: (p.args[2] as string).toLowerCase() as Hex,
    signatures: (p.args[3] as string[]).map((s) => s.toLowerCase() as Hex),
  };
}

/** Block timestamps by height, fetched once per block and provider (one cache per rebuild). */
function blockTimeReader(): (provider: JsonRpcProvider, heights: readonly bigint[]) => Promise<Map<bigint, Date>> {
  const caches = new WeakMap<JsonRpcProvider, Map<bigint, Date>>();
  return async (provider, heights) => {
    let cache = caches.get(provider);
    if (!cache) caches.set(provider, (cache = new Map()));
    for (const h of new Set(heights)) {
      if (cache.has(h)) continue;
      const block = await provider.getBlock(h);
      if (!block) throw new ValidationError('height', `block ${h} is not served by the endpoint`);
      cache.set(h, new Date(block.timestamp * 1000));
    }
    return cache;
  };
}
