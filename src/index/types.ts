import type { ChainId } from '../domain/caip.ts';
import type { ChainRegistration } from '../domain/chain.ts';
import type { Hex } from '../domain/hex.ts';
import type { MessageJson } from '../domain/message.ts';
import type { MessageStatus } from '../domain/status.ts';

/** A message as the index holds it. Hex strings are lowercase; bigints are decimal strings. */
export interface MessageRow {
  id: Hex;
  encoded: Hex;
  message: MessageJson;
  srcChain: string;
  dstChain: string;
  sender: string;
  receiver: string;
  nonce: string;
  status: MessageStatus;
  reason: string | null;
  srcTxHash: Hex | null;
  srcHeight: string | null;
  dstTxHash: Hex | null;
  batchNo: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** One status change with the evidence that backed it (stored: nodes prune old state). */
export interface TransitionRow {
  seq: string;
  messageId: Hex;
  status: MessageStatus;
  at: Date;
  chain: string | null;
  height: string | null;
  txHash: Hex | null;
  reason: string | null;
  proof: unknown | null;
}

export interface TransitionEvidence {
  chain?: string;
  height?: bigint;
  txHash?: Hex;
  reason?: string;
  proof?: unknown;
  /** Per-message evidence (e.g. each message's own storage proof); a message not in it gets `proof`. */
  proofs?: ReadonlyMap<Hex, unknown>;
  /** The destination transaction, recorded on the message in the same write (`delivered`/`failed`). */
  dstTxHash?: Hex;
  batchNo?: bigint;
  at?: Date;
}

export interface SentRecord {
  id: Hex;
  encoded: Hex;
  message: MessageJson;
  height: bigint;
  txHash: Hex;
  blockHash: Hex;
  logIndex: number;
  /**
   * When the message was sent, if known (the source block's time: a rebuild
   * passes it so latency from a rebuilt index means something); else the time
   * it was recorded.
   */
  at?: Date;
}

export interface MessageFilter {
  /** Source or destination chain. */
  chain?: string;
  srcChain?: string;
  dstChain?: string;
  status?: MessageStatus;
  sender?: string;
  receiver?: string;
  /** `<srcChain>><dstChain>`, e.g. `eip155:1>eip155:10`. */
  lane?: string;
  /** createdAt >= since. */
  since?: Date;
  /** createdAt < until. */
  until?: Date;
  /** CAIP-10 account: the sender on its source chain or the receiver on its destination chain. */
  account?: string;
  /** Source or destination transaction hash. */
  txHash?: string;
  /** Opaque cursor from a previous page's `nextCursor`. */
  cursor?: string;
  /** 1..500, default 50. */
  limit?: number;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export type BatchStatus = 'pending' | 'committed' | 'attested';

export interface BatchRow {
  batchNo: string;
  root: Hex;
  ids: Hex[];
  status: BatchStatus;
  govTxHash: Hex | null;
  govHeight: string | null;
  createdAt: Date;
}

export interface AttestationRow {
  batchNo: string;
  rootType: number;
  setId: string;
  attestor: string;
  signature: Hex;
  createdAt: Date;
}

export interface ChainRow extends ChainRegistration {
  updatedAt: Date;
}

export interface NonceGap {
  srcChain: string;
  srcPort: string;
  dstChain: string;
  /** First missing nonce and the nonce seen after the gap. */
  expected: string;
  seen: string;
  detectedAt: Date;
}

/** A transition joined with the message fields a stream subscriber filters on (no proof: streams stay small). */
export interface TransitionEvent {
  seq: string;
  messageId: Hex;
  status: MessageStatus;
  at: Date;
  chain: string | null;
  height: string | null;
  txHash: Hex | null;
  reason: string | null;
  srcChain: string;
  dstChain: string;
  sender: string;
  receiver: string;
  nonce: string;
}

/** A transition that ends or breaks a message's way (what the metrics count), with its lane and when the message was recorded. */
export interface OutcomeEvent {
  seq: string;
  status: 'delivered' | 'failed' | 'quarantined' | 'timed_out';
  at: Date;
  reason: string | null;
  srcChain: string;
  dstChain: string;
  createdAt: Date;
}

export interface LatencyStats {
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** One (srcChain, dstChain) lane: counts by status, sent→delivered latency over its last 1000 deliveries. */
export interface LaneSummary {
  srcChain: string;
  dstChain: string;
  counts: Record<string, number>;
  total: number;
  latencyMs: LatencyStats | null;
  /** Highest contiguous nonce seen (highest over the lane's ports), or null before the first. */
  lastNonce: string | null;
  /** Nonce gaps ever detected on the lane. */
  gaps: number;
}

export interface LatencyBucket {
  /** Start of the minute. */
  t: Date;
  count: number;
  p50: number;
  p95: number;
}

/** One log of a governance-chain registry, as the index keeps it (a chain's status history, set rotations, ...). */
export interface RegistryEvent {
  /** Which registry: `ChainRegistry`, `AttestorSet`, `Council`, ... */
  contract: string;
  /** The event name, e.g. `ChainStatusChanged`. */
  kind: string;
  /** What it is about: a CAIP-2 chain id, a DID, an attestor set id. */
  subject: string;
  /** The status it moved the subject to, where it has one. */
  status: string | null;
  data: Record<string, unknown> | null;
  blockNumber: bigint;
  blockTime: Date;
  txHash: Hex;
  logIndex: number;
}

export interface RegistryEventRow extends Omit<RegistryEvent, 'blockNumber'> {
  seq: string;
  blockNumber: string;
}

/**
 * Two validly sealed headers at one height of a BFT member chain, each from
 * the same trusted parent: its validators signed two blocks (double signing).
 * The headers are kept as the endpoints served them, so anyone can re-verify.
 */
export interface MisbehaviourEvidence {
  chainId: string;
  height: bigint;
  /** The header the primary endpoint served (the one the light client had verified). */
  headerA: Record<string, unknown>;
  /** The conflicting header a witness endpoint served. */
  headerB: Record<string, unknown>;
  /** The endpoints that served headerA and headerB, in that order. */
  endpoints: [string, string];
}

export interface MisbehaviourRow {
  id: string;
  chainId: string;
  height: string;
  evidence: Omit<MisbehaviourEvidence, 'height'> & { height: string };
  detectedAt: Date;
  /** The governance transaction that froze the chain, once sent. */
  frozenTx: Hex | null;
}

/**
 * A lane whose messages the relayer holds: the destination's gas price passed
 * the bound its lane fee covers (issue 5). Written by the relayer process that
 * checked the lane last, read by every process.
 */
export interface LaneHold {
  srcChain: string;
  dstChain: string;
  /** The lane's governance bound (wei/gas). */
  maxDstGasPrice: bigint;
  /** The destination's gas price (wei/gas) at the last check. */
  gasPrice: bigint;
  /** Messages held at the last check (by the process that made it). */
  waiting: number;
  /** When the lane was first held. */
  since: Date;
}

export interface LaneHoldRow extends Omit<LaneHold, 'maxDstGasPrice' | 'gasPrice'> {
  maxDstGasPrice: string;
  gasPrice: string;
  /** The last check that found the lane held. */
  updatedAt: Date;
}

/**
 * The message index: one query layer over PGlite (embedded) or PostgreSQL.
 * Every write is idempotent, so a replayed job changes nothing.
 */
export interface MessageIndex {
  readonly backend: 'pglite' | 'postgres';

  upsertChain(c: ChainRegistration): Promise<void>;
  getChain(chainId: ChainId | string): Promise<ChainRow | null>;
  listChains(): Promise<ChainRow[]>;

  /** Inserts messages not yet known (status `sent` + a transition); returns the ids that were new. */
  recordSent(chain: ChainId | string, records: readonly SentRecord[]): Promise<Hex[]>;
  /**
   * Moves each message to `to` where `canTransition(current, to)` allows it,
   * appends a transition row with the evidence, and returns the ids that moved.
   * `evidence.batchNo` sets the message's batch; `reason` is stored on the message too.
   */
  transition(ids: readonly Hex[], to: MessageStatus, evidence?: TransitionEvidence): Promise<Hex[]>;
  /** Records the destination transaction without changing status rules (used with `delivered`/`failed`). */
  setDstTx(id: Hex, txHash: Hex): Promise<void>;
  getMessage(id: Hex | string): Promise<MessageRow | null>;
  getMessages(ids: readonly Hex[]): Promise<MessageRow[]>;
  timeline(id: Hex | string): Promise<TransitionRow[]>;
  /** Newest first; throws ValidationError('cursor' | 'limit' | 'status' | ...) on bad input. */
  listMessages(filter: MessageFilter): Promise<Page<MessageRow>>;
  /** Oldest first, for the pipeline (e.g. verified and not yet in a batch; `withTimeout`: only messages that have a timeout). */
  messagesByStatus(status: MessageStatus, limit: number, opts?: { dstChain?: string; unbatched?: boolean; withTimeout?: boolean }): Promise<MessageRow[]>;
  countByStatus(): Promise<Record<string, number>>;
  /**
   * Retention: deletes messages finished for good (delivered, acknowledged,
   * refunded, quarantined) last updated before `cutoff`, with their
   * transitions and stored proofs; at most `limit` per call. Returns how many.
   */
  pruneFinishedBefore(cutoff: Date, limit?: number): Promise<number>;

  /** Write-ahead: the batch exists here before its commit transaction is sent. */
  createBatch(batchNo: bigint, root: Hex, ids: readonly Hex[]): Promise<void>;
  markBatch(batchNo: bigint, status: BatchStatus, evidence?: { txHash?: Hex; height?: bigint }): Promise<void>;
  getBatch(batchNo: bigint): Promise<BatchRow | null>;
  /** Oldest first; `fromBatchNo` skips older batches (the pipeline only ever needs the newest few). */
  batchesWithStatus(status: BatchStatus, limit?: number, opts?: { fromBatchNo?: bigint }): Promise<BatchRow[]>;
  /** Numbers of the batches that hold messages in `status`, oldest first (the startup sweep's work list). */
  batchNosWithMessagesIn(status: MessageStatus, limit?: number): Promise<bigint[]>;
  /** Highest batch number in the index, or null. */
  lastBatchNo(): Promise<bigint | null>;

  addAttestation(a: { batchNo: bigint; rootType: number; setId: bigint; attestor: string; signature: Hex }): Promise<void>;
  attestations(batchNo: bigint, rootType?: number): Promise<AttestationRow[]>;

  getCheckpoint(chainId: string): Promise<bigint | null>;
  /** Only moves forward. */
  setCheckpoint(chainId: string, height: bigint): Promise<void>;
  /**
   * The watcher's checkpoint write, guarded by its lease's fencing token: applied
   * only while no later token has written (`fence <= token`), moving the height
   * only forward. False when refused: the caller's lease was taken over.
   */
  setCheckpointFenced(chainId: string, height: bigint, fence: bigint): Promise<boolean>;

  /** Lane nonce bookkeeping: records the highest contiguous nonce and any gap seen. */
  recordLaneNonces(entries: readonly { srcChain: string; srcPort: string; dstChain: string; nonce: bigint }[]): Promise<NonceGap[]>;
  nonceGaps(): Promise<NonceGap[]>;

  /** Transitions with seq > `afterSeq` (decimal string, "0" for all), oldest first, at most `limit` (1..1000). */
  transitionsAfter(afterSeq: string, limit: number): Promise<TransitionEvent[]>;
  /**
   * Delivered, failed, quarantined and timed-out transitions with seq in (afterSeq, upToSeq], oldest first: one
   * transition in five or so, joined with its message only where it is one of these.
   */
  outcomesAfter(afterSeq: string, upToSeq: string, limit: number): Promise<OutcomeEvent[]>;
  /** The highest transition seq, "0" when there is none. */
  lastTransitionSeq(): Promise<string>;
  /** Every lane that has messages or nonce bookkeeping, ordered by srcChain, dstChain. */
  laneSummaries(): Promise<LaneSummary[]>;
  /** Sent→delivered latency per minute over the last `buckets` whole minutes, the one holding `now` included (oldest first, empty minutes omitted). */
  laneLatency(srcChain: string, dstChain: string, buckets: number, now?: Date): Promise<LatencyBucket[]>;

  /** Appends registry logs not yet known (idempotent on txHash + logIndex); returns how many were new. */
  recordRegistryEvents(events: readonly RegistryEvent[]): Promise<number>;
  /** Registry events in chain order, optionally about one subject, after `afterSeq`. */
  registryEvents(opts?: { subject?: string; afterSeq?: string; limit?: number }): Promise<RegistryEventRow[]>;

  /**
   * Stores misbehaviour evidence, one row per (chain, height): recording the
   * same height again keeps the first evidence and only fills in `frozenTx`.
   */
  recordMisbehaviour(e: MisbehaviourEvidence, opts?: { frozenTx?: Hex }): Promise<MisbehaviourRow>;
  /** Stored evidence, newest first, optionally of one chain. */
  misbehaviour(chainId?: string): Promise<MisbehaviourRow[]>;

  /**
   * Records a held lane, one row per (srcChain, dstChain): prices and count are
   * replaced, `since` stays that of the first record while the row exists.
   */
  setLaneHold(hold: LaneHold): Promise<void>;
  /** The lane is no longer held; false when there was no row. */
  clearLaneHold(srcChain: string, dstChain: string): Promise<boolean>;
  /** Held lanes by srcChain, dstChain; with `lane`, that lane's row only (one indexed read). */
  laneHolds(lane?: { srcChain: string; dstChain: string }): Promise<LaneHoldRow[]>;

  close(): Promise<void>;
}
