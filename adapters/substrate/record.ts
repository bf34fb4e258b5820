import { join } from 'node:path';
import { z } from 'zod';
import type { Hex } from '../../src/domain/hex.ts';
import { DurableLines } from '../../src/durable-lines.ts';

/**
 * What the Substrate deliverer knows about its port account, kept in memory and
 * (with a data folder) as fsynced JSON lines under
 * `<dataDir>/substrate/<chain>/<port>.jsonl`, so a restart after any downtime
 * loses nothing the chain no longer shows within the lookback window:
 *
 * - `remarked`: Remarked hashes of the port account (deliveries: blake2(id);
 *   cancel markers: blake2("qiao:cancel:" ++ id); its ack messages) with the
 *   extrinsic and height;
 * - `failed`: ids whose dispatch by the port failed, with the pallet error;
 * - lane nonces of messages naming the port as their source port, and the ids
 *   the port has sent an ack for;
 * - dispatches sent whose outcome was not seen yet (a timeout, a crash), with
 *   the head they were sent at and the ack nonce they reserve: written BEFORE
 *   the extrinsic is submitted, so a crash cannot lose one;
 * - the last block scanned, so the next start scans from there (not only the
 *   window) and cannot skip blocks.
 *
 * Every entry is a fact that only grows (a receipt, a used nonce); loading
 * takes the union, so duplicate lines are harmless. Processes sharing a data
 * folder append to one file (whole lines, O_APPEND) and read each other's lines
 * only at start.
 */
export type InflightKind = 'deliver' | 'ack' | 'cancel';

export interface Inflight {
  kind: InflightKind;
  /** the head when it was sent */
  head: number;
  /** the ack nonce it uses, if it carries an ack */
  lane?: { dst: string; nonce: bigint };
}

export interface SeenRemark {
  txHash: Hex;
  height: bigint;
}

export interface SeenFailure extends SeenRemark {
  id: Hex;
  reason: string;
}

const hex = z.string().regex(/^0x[0-9a-f]*$/);
const uint = z.string().regex(/^\d+$/);
const Entry = z.discriminatedUnion('t', [
  z.object({ t: z.literal('remarked'), key: hex, txHash: hex, height: uint }),
  z.object({ t: z.literal('failed'), key: hex, id: hex, txHash: hex, height: uint, reason: z.string() }),
  z.object({ t: z.literal('nonce'), dst: z.string().min(1), nonce: uint }),
  z.object({ t: z.literal('acked'), id: hex }),
  z.object({
    t: z.literal('sending'),
    id: hex,
    kind: z.enum(['deliver', 'ack', 'cancel']),
    head: z.number().int().nonnegative(),
    lane: z.object({ dst: z.string().min(1), nonce: uint }).optional(),
  }),
  z.object({ t: z.literal('settled'), id: hex }),
  z.object({ t: z.literal('scanned'), height: z.number().int().nonnegative() }),
]);
type Entry = z.infer<typeof Entry>;

/** How many blocks may be scanned before the scanned height is written again (a restart rescans at most these). */
const SCANNED_EVERY = 100;

export function substrateRecordFile(dataDir: string, chainId: string, port: Hex): string {
  return join(dataDir, 'substrate', chainId.replace(/[^A-Za-z0-9._-]/g, '_'), `${port.toLowerCase()}.jsonl`);
}

export class PortRecord {
  readonly remarked = new Map<string, SeenRemark>();
  readonly failed = new Map<string, SeenFailure>();
  readonly laneNonces = new Map<string, bigint>();
  readonly acked = new Set<string>();
  readonly inflight = new Map<string, Inflight>();
  /** the last block scanned (-1: none yet) */
  scanned = -1;
  private scannedWritten = -1;

  private constructor(private readonly lines: DurableLines<Entry> | null) {}

  /** In memory only (no data folder): rebuilt from the lookback window at each start. */
  static memory(): PortRecord {
    return new PortRecord(null);
  }

  /** Loads the file (a corrupt line before the last refuses to open: DurableLinesCorruptError). */
  static open(file: string): PortRecord {
    const pending: Entry[] = [];
    const lines = DurableLines.open<unknown>(file, (raw) => pending.push(Entry.parse(raw)));
    const r = new PortRecord(lines as DurableLines<Entry>);
    for (const e of pending) r.apply(e);
    r.scannedWritten = r.scanned;
    return r;
  }

  get durable(): boolean {
    return this.lines !== null;
  }

  private apply(e: Entry): void {
    switch (e.t) {
      case 'remarked':
        if (!this.remarked.has(e.key)) this.remarked.set(e.key, { txHash: e.txHash as Hex, height: BigInt(e.height) });
        return;
      case 'failed':
        this.failed.set(e.key, { id: e.id as Hex, txHash: e.txHash as Hex, height: BigInt(e.height), reason: e.reason });
        return;
      case 'nonce': {
        const n = BigInt(e.nonce);
        if (n > (this.laneNonces.get(e.dst) ?? 0n)) this.laneNonces.set(e.dst, n);
        return;
      }
      case 'acked':
        this.acked.add(e.id);
        return;
      case 'sending':
        this.inflight.set(e.id, { kind: e.kind, head: e.head, ...(e.lane ? { lane: { dst: e.lane.dst, nonce: BigInt(e.lane.nonce) } } : {}) });
        return;
      case 'settled':
        this.inflight.delete(e.id);
        return;
      case 'scanned':
        if (e.height > this.scanned) this.scanned = e.height;
        return;
    }
  }

  private write(e: Entry): void {
    this.lines?.append(e);
    this.apply(e);
  }

  /** A Remarked event of the port account (first sighting kept). */
  noteRemark(key: string, r: SeenRemark): void {
    if (this.remarked.has(key)) return;
    this.write({ t: 'remarked', key: key.toLowerCase(), txHash: r.txHash.toLowerCase(), height: r.height.toString() });
  }

  /** A failed dispatch of the port account carrying `id`. */
  noteFailure(key: string, f: SeenFailure): void {
    const old = this.failed.get(key);
    if (old && old.txHash === f.txHash) return;
    this.write({ t: 'failed', key: key.toLowerCase(), id: f.id.toLowerCase(), txHash: f.txHash.toLowerCase(), height: f.height.toString(), reason: f.reason });
  }

  noteNonce(dst: string, nonce: bigint): void {
    if (nonce <= (this.laneNonces.get(dst) ?? 0n)) return;
    this.write({ t: 'nonce', dst, nonce: nonce.toString() });
  }

  noteAcked(id: Hex): void {
    if (this.acked.has(id.toLowerCase())) return;
    this.write({ t: 'acked', id: id.toLowerCase() });
  }

  /** Written before the extrinsic leaves: the id is in flight (and its ack nonce taken) until `settled`. */
  sending(id: Hex, f: Inflight): void {
    this.write({ t: 'sending', id: id.toLowerCase(), kind: f.kind, head: f.head, ...(f.lane ? { lane: { dst: f.lane.dst, nonce: f.lane.nonce.toString() } } : {}) });
  }

  settled(id: Hex): void {
    if (!this.inflight.has(id.toLowerCase())) return;
    this.write({ t: 'settled', id: id.toLowerCase() });
  }

  /** Blocks up to `height` are scanned (written every SCANNED_EVERY blocks: a restart rescans the rest, which is idempotent). */
  scannedTo(height: number): void {
    this.scanned = height;
    if (this.lines && height - this.scannedWritten >= SCANNED_EVERY) {
      this.lines.append({ t: 'scanned', height });
      this.scannedWritten = height;
    }
  }

  close(): void {
    this.lines?.close();
  }
}
