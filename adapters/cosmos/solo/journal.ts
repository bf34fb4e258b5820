import { openLockedLines } from './lock.ts';
import type { EncodedMsg } from './registry.ts';

/** One signed tx: the msgs that consume solo sequences [from, from + count). */
export interface JournalEntry {
  clientKey: string;
  from: string;
  count: number;
  msgs: EncodedMsg[];
  at: string;
}

/** The journal cannot be trusted (corrupt before its last line): the sequencer must not start. */
export { DurableLinesCorruptError as SoloJournalCorruptError } from '../../../src/durable-lines.ts';

/**
 * The sequencer's own append-only journal of signed txs (JSON lines, fsynced before the tx is
 * submitted): after a crash the sequencer finds the tx it signed but may not have landed and sends
 * THAT again, instead of signing different data at the same sequence.
 */
export class SoloJournal {
  private readonly entries: JournalEntry[] = [];
  private readonly lines: { append(entry: JournalEntry): void; close(): void };

  private constructor(readonly file: string) {
    this.lines = openLockedLines<JournalEntry>(file, (e) => {
      if (typeof e.clientKey !== 'string' || !Array.isArray(e.msgs) || !Number.isInteger(e.count)) throw new TypeError('bad entry');
      BigInt(e.from);
      this.entries.push(e);
    });
  }

  static open(file: string): SoloJournal {
    return new SoloJournal(file);
  }

  /** The latest journaled tx of `clientKey` whose sequences include `sequence`. */
  covering(clientKey: string, sequence: bigint): JournalEntry | undefined {
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const e = this.entries[i]!;
      const from = BigInt(e.from);
      if (e.clientKey === clientKey && from <= sequence && sequence < from + BigInt(e.count)) return e;
    }
    return undefined;
  }

  append(e: Omit<JournalEntry, 'at'>): void {
    const entry: JournalEntry = { ...e, at: new Date().toISOString() };
    this.lines.append(entry);
    this.entries.push(entry);
  }

  close(): void {
    this.lines.close();
  }

}
