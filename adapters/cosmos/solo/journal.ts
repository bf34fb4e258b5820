import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, truncateSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { QiaoError } from '../../../src/errors.ts';
import { acquireLock } from './lock.ts';
import type { EncodedMsg } from './registry.ts';

/** One signed tx: the msgs that consume solo sequences [from, from + count). */
export interface JournalEntry {
  clientKey: string;
  from: string;
  count: number;
  msgs: EncodedMsg[];
  at: string;
}

export class SoloJournalCorruptError extends QiaoError {
  constructor(readonly file: string, readonly line: number, options: { cause?: unknown } = {}) {
    super('solo_journal_corrupt', `solo sequencer journal ${file} is corrupt at line ${line}`, { ...options, data: { file, line } });
  }
}

/**
 * The sequencer's own append-only journal of signed txs (JSON lines, fsynced before the tx is
 * submitted): after a crash the sequencer finds the tx it signed but may not have landed and sends
 * THAT again, instead of signing different data at the same sequence.
 */
export class SoloJournal {
  private readonly entries: JournalEntry[] = [];
  private fd: number | undefined;
  private readonly release: () => void;

  private constructor(readonly file: string) {
    mkdirSync(dirname(file), { recursive: true });
    this.release = acquireLock(file);
    try {
      let text = '';
      try {
        text = readFileSync(file, 'utf8');
      } catch {
        // first use
      }
      const lines = text.split('\n');
      let offset = 0;
      let truncated = false;
      for (let i = 0; i < lines.length; i++) {
        const raw = lines[i]!;
        const start = offset;
        offset += Buffer.byteLength(raw) + 1;
        const line = raw.trim();
        if (!line) continue;
        try {
          const e = JSON.parse(line) as JournalEntry;
          if (typeof e.clientKey !== 'string' || !Array.isArray(e.msgs) || !Number.isInteger(e.count)) throw new TypeError('bad entry');
          BigInt(e.from);
          this.entries.push(e);
        } catch (cause) {
          if (lines.slice(i + 1).some((l) => l.trim())) throw new SoloJournalCorruptError(file, i + 1, { cause });
          // A torn last line (crash mid-append) was never fsynced, so nothing it holds ever left: cut it off, so the next append does not turn it into a corrupt middle line.
          truncateSync(file, start);
          truncated = true;
        }
      }
      this.fd = openSync(file, 'a');
      if (!truncated && text.length > 0 && !text.endsWith('\n')) writeSync(this.fd, '\n');
      fsyncSync(this.fd);
    } catch (err) {
      this.release();
      throw err;
    }
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
    if (this.fd === undefined) throw new QiaoError('solo_journal_closed', `solo sequencer journal ${this.file} is closed`);
    const entry: JournalEntry = { ...e, at: new Date().toISOString() };
    writeSync(this.fd, `${JSON.stringify(entry)}\n`);
    fsyncSync(this.fd);
    this.entries.push(entry);
  }

  close(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
    this.release();
  }
}
