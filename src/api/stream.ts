import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { MessageIndex, TransitionEvent } from '../index/types.ts';
import { matcher, type StreamFilter } from './filters.ts';

export interface TransitionFeedOptions {
  /** How often the index is polled for new transitions. */
  pollMs?: number;
  /** A `: keepalive` comment this often, so proxies keep idle streams open. */
  keepaliveMs?: number;
  /** Transitions read per query. */
  batch?: number;
  /** A subscriber whose socket holds more unsent bytes than this is dropped. */
  maxBufferBytes?: number;
  /** How long a hole in the seq range is waited for before it is skipped (see #poll). */
  gapWaitMs?: number;
  maxSubscribers?: number;
}

interface Subscriber {
  res: ServerResponse;
  match: (e: TransitionEvent) => boolean;
  /** The last seq this subscriber has been given (or deliberately passed over). */
  cursor: bigint;
  /** While replaying from Last-Event-ID: live events wait here. */
  pending: TransitionEvent[] | null;
  closed: boolean;
}

/** The SSE wire form of one transition: `id` is the seq, so Last-Event-ID resumes after it. */
export function sseEvent(e: TransitionEvent): string {
  const data = {
    seq: e.seq,
    messageId: e.messageId,
    status: e.status,
    at: e.at.toISOString(),
    chain: e.chain,
    height: e.height,
    txHash: e.txHash,
    reason: e.reason,
    srcChain: e.srcChain,
    dstChain: e.dstChain,
    sender: e.sender,
    receiver: e.receiver,
    nonce: e.nonce,
  };
  return `id: ${e.seq}\nevent: transition\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * One poller per API instance, not per client: it reads new transitions from the
 * index by seq and fans them out to every subscriber whose filter matches. Polling
 * the table (rather than an in-process event) sees writes from every process, on
 * both backends. The poller runs only while someone is subscribed.
 */
export class TransitionFeed {
  readonly #index: MessageIndex;
  readonly #log: Logger | undefined;
  readonly #pollMs: number;
  readonly #keepaliveMs: number;
  readonly #batch: number;
  readonly #maxBufferBytes: number;
  readonly #gapWaitMs: number;
  readonly #maxSubscribers: number;
  readonly #subs = new Set<Subscriber>();
  /** Every seq up to here has been fanned out (or its hole given up on); null while stopped. */
  #cursor: bigint | null = null;
  #starting: Promise<void> | null = null;
  #timer: NodeJS.Timeout | null = null;
  #keepalive: NodeJS.Timeout | null = null;
  #polling: Promise<void> | null = null;
  #gap: { at: bigint; since: number } | null = null;
  /** Bumped on every stop, so a poll that outlives a stop/restart does not schedule a second loop. */
  #generation = 0;
  #closed = false;

  constructor(index: MessageIndex, opts: TransitionFeedOptions = {}, logger?: Logger) {
    const { pollMs = 200, keepaliveMs = 15_000, batch = 500, maxBufferBytes = 1 << 20, gapWaitMs = 2000, maxSubscribers = 1000 } = opts;
    this.#index = index;
    this.#log = logger;
    this.#pollMs = pollMs;
    this.#keepaliveMs = keepaliveMs;
    this.#batch = batch;
    this.#maxBufferBytes = maxBufferBytes;
    this.#gapWaitMs = gapWaitMs;
    this.#maxSubscribers = maxSubscribers;
  }

  get subscribers(): number {
    return this.#subs.size;
  }

  get full(): boolean {
    return this.#subs.size >= this.#maxSubscribers;
  }

  /** Starts the poller if it is stopped (reading where the index ends now). */
  async ready(): Promise<void> {
    if (this.#closed) throw new Error('transition feed closed');
    if (this.#cursor !== null) return;
    this.#starting ??= this.#index
      .lastTransitionSeq()
      .then((last) => {
        this.#cursor = BigInt(last);
        this.#schedule(this.#pollMs);
        this.#keepalive = setInterval(() => this.#broadcast(': keepalive\n\n'), this.#keepaliveMs);
      })
      .finally(() => {
        this.#starting = null;
      });
    await this.#starting;
  }

  /**
   * Adds a subscriber on a response whose SSE headers are already written. Call
   * right after `ready()`. With `after`, transitions after that seq are replayed
   * first, then live ones follow without a gap or a repeat.
   */
  subscribe(res: ServerResponse, filter: StreamFilter, after?: bigint): void {
    const live = this.#cursor;
    if (live === null || this.#closed) {
      res.end();
      return;
    }
    const replay = after !== undefined && after < live;
    const sub: Subscriber = { res, match: matcher(filter), cursor: replay ? after : (after ?? live), pending: replay ? [] : null, closed: false };
    this.#subs.add(sub);
    res.on('close', () => this.#drop(sub));
    res.on('error', () => this.#drop(sub));
    if (replay) {
      this.#replay(sub, live).catch((err: unknown) => {
        this.#log?.warn({ err }, 'stream replay failed');
        this.#drop(sub);
      });
    }
  }

  /** Ends every stream and stops polling; for app shutdown. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#starting?.catch(() => undefined);
    this.#stop();
    for (const sub of [...this.#subs]) this.#drop(sub);
    await this.#polling;
  }

  #schedule(ms: number): void {
    if (this.#closed || this.#cursor === null) return;
    const gen = this.#generation;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#polling = this.#poll(gen).finally(() => {
        this.#polling = null;
      });
    }, ms);
  }

  #stop(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    if (this.#keepalive !== null) clearInterval(this.#keepalive);
    this.#timer = null;
    this.#keepalive = null;
    this.#cursor = null;
    this.#gap = null;
    this.#generation++;
  }

  async #poll(gen: number): Promise<void> {
    const from = this.#cursor;
    if (from === null || gen !== this.#generation) return;
    let rows: TransitionEvent[];
    try {
      rows = await this.#index.transitionsAfter(from.toString(), this.#batch);
    } catch (err) {
      this.#log?.warn({ err }, 'polling transitions failed');
      if (gen === this.#generation) this.#schedule(this.#pollMs);
      return;
    }
    if (gen !== this.#generation) return; // stopped (and maybe restarted) meanwhile
    // Seqs are handed out when rows are inserted, not when they commit: on
    // PostgreSQL a lower seq can become visible after a higher one. So a hole is
    // waited for (gapWaitMs) before the rows after it go out; a hole that stays
    // (a rolled-back insert) is then skipped. Events leave in seq order, which is
    // what makes Last-Event-ID a complete resume point.
    const out: TransitionEvent[] = [];
    let expected = from + 1n;
    for (const r of rows) {
      const s = BigInt(r.seq);
      if (s !== expected) {
        const now = Date.now();
        if (this.#gap?.at !== expected) this.#gap = { at: expected, since: now };
        if (now - this.#gap.since < this.#gapWaitMs) break;
        this.#log?.debug({ from: expected.toString(), to: (s - 1n).toString() }, 'skipping a hole in transition seqs');
      }
      this.#gap = null;
      out.push(r);
      expected = s + 1n;
    }
    if (out.length > 0) {
      this.#cursor = expected - 1n;
      this.#fanOut(out);
    }
    // A full batch means more is waiting: read on at once to keep up.
    this.#schedule(rows.length === this.#batch && out.length === rows.length ? 0 : this.#pollMs);
  }

  #fanOut(events: TransitionEvent[]): void {
    const wire = new Map<TransitionEvent, string>();
    for (const sub of this.#subs) {
      if (sub.pending !== null) {
        sub.pending.push(...events);
        if (sub.pending.length > this.#batch * 20) this.#drop(sub, 'replay fell too far behind');
        continue;
      }
      for (const e of events) {
        if (sub.closed) break;
        const s = BigInt(e.seq);
        if (s <= sub.cursor) continue;
        sub.cursor = s;
        if (!sub.match(e)) continue;
        let text = wire.get(e);
        if (text === undefined) {
          text = sseEvent(e);
          wire.set(e, text);
        }
        this.#write(sub, text);
      }
    }
  }

  /** Replays (after, live] from the index, then releases the live events held meanwhile. */
  async #replay(sub: Subscriber, live: bigint): Promise<void> {
    while (!sub.closed && sub.cursor < live) {
      const rows = await this.#index.transitionsAfter(sub.cursor.toString(), this.#batch);
      for (const e of rows) {
        const s = BigInt(e.seq);
        // Past `live` the poller is the source: it may still be holding a hole open.
        if (s > live) break;
        sub.cursor = s;
        if (sub.match(e) && !this.#write(sub, sseEvent(e))) await drained(sub);
        if (sub.closed) return;
      }
      if (rows.length < this.#batch || BigInt(rows.at(-1)!.seq) > live) break;
    }
    sub.cursor = live > sub.cursor ? live : sub.cursor;
    const held = sub.pending ?? [];
    sub.pending = null;
    if (!sub.closed && held.length > 0) this.#fanOutTo(sub, held);
  }

  #fanOutTo(sub: Subscriber, events: TransitionEvent[]): void {
    for (const e of events) {
      const s = BigInt(e.seq);
      if (s <= sub.cursor) continue;
      sub.cursor = s;
      if (sub.match(e)) this.#write(sub, sseEvent(e));
      if (sub.closed) return;
    }
  }

  /** Writes, and drops a subscriber that is not reading (its unsent bytes would grow without end). */
  #write(sub: Subscriber, text: string): boolean {
    if (sub.closed) return false;
    const ok = sub.res.write(text);
    if (!ok && sub.res.writableLength > this.#maxBufferBytes) {
      this.#drop(sub, 'slow client');
      return false;
    }
    return ok;
  }

  #broadcast(text: string): void {
    for (const sub of this.#subs) if (sub.pending === null) this.#write(sub, text);
  }

  #drop(sub: Subscriber, why?: string): void {
    if (sub.closed) return;
    sub.closed = true;
    this.#subs.delete(sub);
    if (why !== undefined) {
      this.#log?.info({ why }, 'dropping a stream subscriber');
      // Unsent bytes would keep the socket alive: cut it.
      sub.res.destroy();
    } else if (!sub.res.writableEnded) {
      sub.res.end();
    }
    sub.res.emit('qiao:dropped');
    if (this.#subs.size === 0) this.#stop();
  }
}

/** Waits until the socket takes more, or the subscriber is gone. */
function drained(sub: Subscriber): Promise<void> {
  if (sub.closed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      sub.res.off('drain', done);
      sub.res.off('close', done);
      sub.res.off('qiao:dropped', done);
      resolve();
    };
    sub.res.on('drain', done);
    sub.res.on('close', done);
    sub.res.on('qiao:dropped', done);
  });
}
