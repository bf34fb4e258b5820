import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as client from '../../src/api/client.ts';
import { startApi, type RunningApi } from '../../src/api/server.ts';
import { TransitionFeed } from '../../src/api/stream.ts';
import { chainId, type ChainId } from '../../src/domain/caip.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { encodeMessage, messageId, messageToJson, type QiaoMessage } from '../../src/domain/message.ts';
import { ValidationError } from '../../src/errors.ts';
import { openIndex } from '../../src/index/open.ts';
import type { MessageIndex, SentRecord, TransitionEvent } from '../../src/index/types.ts';

/* GET /messages/stream over real HTTP: filters, resume with Last-Event-ID, keepalive, shutdown, backpressure. */

const A = chainId('eip155:3001');
const B = chainId('eip155:3002');
const C = chainId('cosmos:hub-3');
const rnd = (n: number): Hex => `0x${randomBytes(n).toString('hex')}`;
const PORT = rnd(20);
const ALICE = rnd(20);
let nonce = 1n;

function sent(src: ChainId, dst: ChainId, over: Partial<QiaoMessage> = {}): SentRecord {
  const m: QiaoMessage = {
    version: 1,
    srcChain: src,
    srcPort: PORT,
    sender: rnd(20),
    dstChain: dst,
    dstPort: PORT,
    receiver: rnd(20),
    nonce: nonce++,
    gasLimit: 1n,
    timeoutHeight: 0n,
    timeoutUnixSeconds: 0n,
    payload: rnd(4),
    ...over,
  };
  const encoded = encodeMessage(m);
  return { id: messageId(encoded), encoded, message: messageToJson(m), height: 10n, txHash: rnd(32), blockHash: rnd(32), logIndex: 0 };
}

type Ev = client.TransitionEventView & { id: string; event: string };

interface OpenStream {
  status: number;
  contentType: string | null;
  events: Ev[];
  comments: string[];
  /** Resolves once `pred` holds over what has arrived; rejects at the deadline. */
  waitFor(pred: (s: OpenStream) => boolean, what: string, timeoutMs?: number): Promise<void>;
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  close(): void;
}

/** Reads an SSE stream with fetch and a reader, parsing it independently of the client under test. */
async function openStream(url: string, headers: Record<string, string> = {}): Promise<OpenStream> {
  const ctl = new AbortController();
  const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: ctl.signal });
  const waiters = new Set<() => void>();
  const s: OpenStream = {
    status: res.status,
    contentType: res.headers.get('content-type'),
    events: [],
    comments: [],
    waitFor: (pred, what, timeoutMs = 10_000) =>
      new Promise<void>((resolve, reject) => {
        if (pred(s)) return resolve();
        const check = () => {
          if (!pred(s)) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out waiting for ${what}; got ${s.events.length} events`));
        }, timeoutMs);
        waiters.add(check);
      }),
    ended: Promise.resolve(),
    close: () => ctl.abort(),
  };
  s.ended = (async () => {
    const reader = res.body!.getReader();
    const dec = new TextDecoder();
    let buf = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buf += dec.decode(value, { stream: true });
        let end: number;
        while ((end = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, end);
          buf = buf.slice(end + 2);
          const fields: Record<string, string> = {};
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) s.comments.push(line.slice(1).trim());
            else {
              const i = line.indexOf(': ');
              fields[line.slice(0, i)] = line.slice(i + 2);
            }
          }
          if (fields.data !== undefined) s.events.push({ ...(JSON.parse(fields.data) as client.TransitionEventView), id: fields.id!, event: fields.event! });
        }
        for (const w of [...waiters]) w();
      }
    } catch (err) {
      if (!ctl.signal.aborted) throw err;
    } finally {
      for (const w of [...waiters]) w();
    }
  })();
  if (res.status === 200) await s.waitFor((x) => x.comments.includes('stream open'), 'the stream to open');
  return s;
}

const lastSeq = (s: OpenStream) => (s.events.length === 0 ? 0n : BigInt(s.events.at(-1)!.seq));

describe('GET /messages/stream', () => {
  let index: MessageIndex;
  let api: RunningApi;

  beforeAll(async () => {
    index = await openIndex({});
    api = await startApi({ index, health: async () => ({ ok: true, governance: null, chains: [], queues: {} }), stream: { pollMs: 20, keepaliveMs: 100, batch: 3 } });
  });
  afterAll(async () => {
    await api?.close();
    await index?.close();
  });

  /** What the index holds after `start`, for checking streams against. */
  const after = async (start: string): Promise<TransitionEvent[]> => index.transitionsAfter(start, 1000);

  it('sends each matching transition as event: transition with id = seq and the contract fields', async () => {
    const s = await openStream(`${api.url}/messages/stream?lane=${encodeURIComponent(`${A}>${B}`)}`);
    try {
      expect(s.status).toBe(200);
      expect(s.contentType).toMatch(/^text\/event-stream/);
      const m1 = sent(A, B);
      const m2 = sent(B, A);
      await index.recordSent(B, [m2]);
      await index.recordSent(A, [m1]);
      await index.transition([m2.id], 'verified');
      await index.transition([m1.id], 'verified', { chain: A, height: 7n, txHash: rnd(32), proof: { secret: 'not streamed' } });
      await s.waitFor((x) => x.events.some((e) => e.messageId === m1.id && e.status === 'verified'), 'm1 verified');
      // m2's events have seqs between m1's: had they passed the filter they would be here.
      expect(s.events.map((e) => [e.messageId, e.status])).toEqual([
        [m1.id, 'sent'],
        [m1.id, 'verified'],
      ]);
      const v = s.events[1]!;
      expect(v.event).toBe('transition');
      expect(v.id).toBe(v.seq);
      expect(Object.keys(v).filter((k) => k !== 'id' && k !== 'event')).toEqual([
        'seq', 'messageId', 'status', 'at', 'chain', 'height', 'txHash', 'reason', 'srcChain', 'dstChain', 'sender', 'receiver', 'nonce',
      ]);
      expect(v).toMatchObject({ srcChain: A, dstChain: B, chain: A, height: '7', sender: m1.message.sender, receiver: m1.message.receiver, nonce: m1.message.nonce, reason: null });
      expect(new Date(v.at).toISOString()).toBe(v.at);
    } finally {
      s.close();
    }
  });

  it('applies every filter of /messages, each stream getting exactly its own transitions', async () => {
    const start = await index.lastTransitionSeq();
    const filters: [string, (e: TransitionEvent) => boolean][] = [
      [`chain=${C}`, (e) => e.srcChain === C || e.dstChain === C],
      [`srcChain=${B}`, (e) => e.srcChain === B],
      [`dstChain=${C}`, (e) => e.dstChain === C],
      [`status=verified`, (e) => e.status === 'verified'],
      [`sender=${ALICE.toUpperCase().replace('0X', '0x')}`, (e) => e.sender === ALICE],
      [`receiver=${ALICE}`, (e) => e.receiver === ALICE],
      [`account=${encodeURIComponent(`${A}:${ALICE}`)}`, (e) => (e.srcChain === A && e.sender === ALICE) || (e.dstChain === A && e.receiver === ALICE)],
      [`lane=${encodeURIComponent(`${C}>${A}`)}&status=delivered`, (e) => e.srcChain === C && e.dstChain === A && e.status === 'delivered'],
    ];
    const streams = await Promise.all(filters.map(([q]) => openStream(`${api.url}/messages/stream?${q}`)));
    try {
      const recs = [sent(A, B, { sender: ALICE }), sent(B, A, { receiver: ALICE }), sent(A, C), sent(C, A), sent(B, C, { receiver: ALICE }), sent(A, B, { receiver: ALICE })];
      for (const r of recs) await index.recordSent(r.message.srcChain, [r]);
      await index.transition([recs[0]!.id, recs[3]!.id, recs[4]!.id], 'verified');
      await index.transition([recs[3]!.id, recs[1]!.id], 'delivered');
      const truth = await after(start);
      for (const [i, [q, pred]] of filters.entries()) {
        const expected = truth.filter(pred).map((e) => e.seq);
        expect(expected.length, q).toBeGreaterThan(0);
        const s = streams[i]!;
        await s.waitFor((x) => lastSeq(x) >= BigInt(expected.at(-1)!), q);
        expect(s.events.filter((e) => BigInt(e.seq) > BigInt(start)).map((e) => e.seq), q).toEqual(expected);
      }
    } finally {
      for (const s of streams) s.close();
    }
  });

  it('resumes after Last-Event-ID: the missed transitions first, in order, then live ones, no repeats', async () => {
    const first = await openStream(`${api.url}/messages/stream?srcChain=${A}`);
    const recs = [sent(A, B), sent(A, B), sent(A, C)];
    let seen: string;
    try {
      for (const r of recs) await index.recordSent(A, [r]);
      await first.waitFor((x) => x.events.filter((e) => recs.some((r) => r.id === e.messageId)).length === 3, 'three sent');
      seen = first.events.find((e) => e.messageId === recs[0]!.id)!.seq;
    } finally {
      first.close();
    }
    // Missed while disconnected: more than one replay page (batch is 3), other lanes mixed in.
    await index.transition(recs.map((r) => r.id), 'verified');
    const other = sent(B, C);
    await index.recordSent(B, [other]);
    await index.transition(recs.map((r) => r.id), 'committed');

    const resumed = await openStream(`${api.url}/messages/stream?srcChain=${A}`, { 'Last-Event-ID': seen });
    try {
      const live = sent(A, B);
      await index.recordSent(A, [live]);
      await index.transition([live.id], 'verified');
      const expected = (await after(seen)).filter((e) => e.srcChain === A).map((e) => e.seq);
      expect(expected.length).toBeGreaterThanOrEqual(2 + 3 + 3 + 2);
      await resumed.waitFor((x) => x.events.some((e) => e.messageId === live.id && e.status === 'verified'), 'the live transition');
      expect(resumed.events.map((e) => e.seq)).toEqual(expected);
    } finally {
      resumed.close();
    }
  });

  it('replays everything from Last-Event-ID 0', async () => {
    const s = await openStream(`${api.url}/messages/stream?dstChain=${C}`, { 'last-event-id': '0' });
    try {
      const expected = (await after('0')).filter((e) => e.dstChain === C).map((e) => e.seq);
      expect(expected.length).toBeGreaterThan(3);
      await s.waitFor((x) => x.events.length >= expected.length, 'the replay');
      expect(s.events.map((e) => e.seq)).toEqual(expected);
    } finally {
      s.close();
    }
  });

  it('sends keepalive comments', async () => {
    const s = await openStream(`${api.url}/messages/stream?chain=${A}`);
    try {
      await s.waitFor((x) => x.comments.includes('keepalive'), 'a keepalive');
    } finally {
      s.close();
    }
  });

  it.each([
    [{ 'Last-Event-ID': 'abc' }, '', 'Last-Event-ID'],
    [{ 'Last-Event-ID': '-1' }, '', 'Last-Event-ID'],
    [{ 'Last-Event-ID': '99999999999999999999' }, '', 'Last-Event-ID'],
    [{}, '?cursor=abc', 'cursor'],
    [{}, '?account=nope', 'account'],
    [{}, '?chain=x', 'chain'],
  ])('rejects bad input %o %s with 400 naming %s', async (headers, qs, f) => {
    const res = await fetch(`${api.url}/messages/stream${qs}`, { headers });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { field: string; message: string } };
    expect(body.error.field).toBe(f);
    expect(body.error.message).toContain(f);
  });

  it('is followed by the client, with filters and resume', async () => {
    const got: client.TransitionEventView[] = [];
    const ctl = new AbortController();
    const start = await index.lastTransitionSeq();
    let opened!: () => void;
    const open = new Promise<void>((r) => (opened = r));
    const done = client.streamTransitions(
      api.url,
      { lane: `${B}>${C}` },
      (e) => {
        got.push(e);
        if (e.status === 'verified') ctl.abort();
      },
      ctl.signal,
      { lastEventId: start, onOpen: opened },
    );
    try {
      await open;
      const r = sent(B, C);
      await index.recordSent(B, [r]);
      await index.recordSent(C, [sent(C, B)]);
      await index.transition([r.id], 'verified');
      await done;
      expect(got.map((e) => [e.messageId, e.status])).toEqual([
        [r.id, 'sent'],
        [r.id, 'verified'],
      ]);
    } finally {
      ctl.abort();
    }
    const bad = await client.streamTransitions(api.url, { lane: 'nope' }, () => undefined, new AbortController().signal).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(ValidationError);
    expect((bad as ValidationError).field).toBe('lane');
  });

  it('ends open streams when the app closes', async () => {
    const own = await startApi({ index, health: async () => ({ ok: true, governance: null, chains: [], queues: {} }), stream: { pollMs: 20 } });
    const s = await openStream(`${own.url}/messages/stream`);
    await own.close();
    await s.ended;
    const err = await fetch(`${own.url}/messages/stream`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
  });
});

describe('TransitionFeed backpressure', () => {
  /** A response that never drains: write() says "buffer full" and the backlog grows. */
  class StuckResponse extends EventEmitter {
    writableLength = 0;
    writableEnded = false;
    destroyed = false;
    chunks: string[] = [];
    write(chunk: string): boolean {
      this.chunks.push(chunk);
      this.writableLength += chunk.length;
      return this.writableLength < 100;
    }
    end(): void {
      this.writableEnded = true;
      this.emit('close');
    }
    destroy(): void {
      this.destroyed = true;
      this.emit('close');
    }
  }

  function event(seq: number): TransitionEvent {
    return { seq: String(seq), messageId: rnd(32), status: 'sent', at: new Date(), chain: null, height: null, txHash: null, reason: null, srcChain: A, dstChain: B, sender: ALICE, receiver: ALICE, nonce: '1' };
  }

  it('drops a client that does not read, keeps one that does, and polls once for both', async () => {
    let last = 0;
    const rows: TransitionEvent[] = [];
    let polls = 0;
    const fake = {
      lastTransitionSeq: async () => '0',
      transitionsAfter: async (afterSeq: string, limit: number) => {
        polls++;
        return rows.filter((r) => Number(r.seq) > Number(afterSeq)).slice(0, limit);
      },
    } as unknown as MessageIndex;
    const feed = new TransitionFeed(fake, { pollMs: 5, maxBufferBytes: 2000, keepaliveMs: 60_000 });
    const slow = new StuckResponse();
    const fast = new StuckResponse();
    fast.write = function (chunk: string) {
      this.chunks.push(chunk);
      return true;
    };
    await feed.ready();
    feed.subscribe(slow as unknown as ServerResponse, {});
    feed.subscribe(fast as unknown as ServerResponse, {});
    expect(feed.subscribers).toBe(2);
    for (let i = 0; i < 50; i++) rows.push(event(++last));
    const deadline = Date.now() + 10_000;
    while ((!slow.destroyed || fast.chunks.length < 50) && Date.now() < deadline) await new Promise((r) => setImmediate(r));
    expect(slow.destroyed).toBe(true);
    expect(fast.chunks).toHaveLength(50);
    expect(fast.chunks.every((c, i) => c.startsWith(`id: ${i + 1}\n`))).toBe(true);
    expect(feed.subscribers).toBe(1);
    // 50 rows at 500 per read: one poller read them once for both subscribers, not once each.
    expect(polls).toBeLessThan(50);
    await feed.close();
    expect(fast.writableEnded).toBe(true);
    expect(feed.subscribers).toBe(0);
  });

  it('holds events behind a hole in the seqs until it fills, and skips a hole that never does', async () => {
    const rows: TransitionEvent[] = [];
    let polls = 0;
    const fake = {
      lastTransitionSeq: async () => '0',
      transitionsAfter: async (afterSeq: string, limit: number) =>
        ++polls &&
        rows
          .filter((r) => Number(r.seq) > Number(afterSeq))
          .sort((x, y) => Number(x.seq) - Number(y.seq))
          .slice(0, limit),
    } as unknown as MessageIndex;
    // A long wait for the first part: the hole at 3 must be filled, not skipped.
    const feed = new TransitionFeed(fake, { pollMs: 5, gapWaitMs: 60_000, keepaliveMs: 60_000 });
    const res = new StuckResponse();
    res.write = function (chunk: string) {
      this.chunks.push(chunk);
      return true;
    };
    const seqs = () => res.chunks.map((c) => Number(/^id: (\d+)/.exec(c)![1]));
    const until = async (pred: () => boolean) => {
      const deadline = Date.now() + 10_000;
      while (!pred() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      expect(pred()).toBe(true);
    };
    await feed.ready();
    feed.subscribe(res as unknown as ServerResponse, {});
    rows.push(event(1), event(2), event(4));
    await until(() => seqs().length === 2);
    // 4 stays held while 3 (a transaction not yet committed) is missing...
    rows.push(event(5));
    const seen = polls;
    await until(() => polls > seen + 5);
    expect(seqs()).toEqual([1, 2]);
    // ...and goes out, in order, once 3 commits.
    rows.push(event(3));
    await until(() => seqs().length === 5);
    expect(seqs()).toEqual([1, 2, 3, 4, 5]);
    await feed.close();

    const skipping = new TransitionFeed(fake, { pollMs: 5, gapWaitMs: 20, keepaliveMs: 60_000 });
    const res2 = new StuckResponse();
    res2.write = res.write;
    rows.length = 0;
    rows.push(event(1), event(3));
    await skipping.ready();
    skipping.subscribe(res2 as unknown as ServerResponse, {});
    const seqs2 = () => res2.chunks.map((c) => Number(/^id: (\d+)/.exec(c)![1]));
    await until(() => seqs2().length === 2);
    expect(seqs2()).toEqual([1, 3]);
    await skipping.close();
  });
});
