import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, truncateSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Hex } from '../../../src/domain/hex.ts';
import { QiaoError } from '../../../src/errors.ts';
import { acquireLock } from './lock.ts';

/** A solo-machine signer was asked to sign different bytes at a sequence it already signed. */
export class SoloEquivocationError extends QiaoError {
  constructor(readonly clientKey: string, readonly sequence: bigint, options: { cause?: unknown } = {}) {
    super('solo_equivocation', `refusing to sign different data at ${clientKey} sequence ${sequence}`, {
      ...options,
      data: { clientKey, sequence: sequence.toString() },
    });
  }
}

/** The record file cannot be trusted (corrupt before its last line): the signer must not start. */
export class SoloRecordCorruptError extends QiaoError {
  constructor(readonly file: string, readonly line: number, options: { cause?: unknown } = {}) {
    super('solo_record_corrupt', `solo signature record ${file} is corrupt at line ${line}`, { ...options, data: { file, line } });
  }
}

interface Entry {
  clientKey: string;
  sequence: string;
  digest: Hex;
  at: string;
}

/**
 * One attestor key's durable "one payload per (client, sequence)" record. A solo machine that
 * signs two different payloads at one sequence has equivocated (ibc-go freezes it on misbehaviour
 * evidence), so the entry is fsynced BEFORE the signature leaves — a crash can only lose an entry
 * whose signature never left. Append-only JSON lines, like relayer/attestor/record.ts.
 */
export class SoloSignatureRecord {
  private readonly entries = new Map<string, Entry>();
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
          const e = JSON.parse(line) as Entry;
          if (typeof e.clientKey !== 'string' || typeof e.sequence !== 'string' || typeof e.digest !== 'string') throw new TypeError('bad entry');
          this.entries.set(key(e.clientKey, BigInt(e.sequence)), e);
        } catch (cause) {
          if (lines.slice(i + 1).some((l) => l.trim())) throw new SoloRecordCorruptError(file, i + 1, { cause });
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

  static open(file: string): SoloSignatureRecord {
    return new SoloSignatureRecord(file);
  }

  get(clientKey: string, sequence: bigint): Hex | undefined {
    return this.entries.get(key(clientKey, sequence))?.digest;
  }

  /** Records the digest; false (nothing recorded) if a different digest is recorded at (clientKey, sequence). */
  put(clientKey: string, sequence: bigint, digest: Hex): boolean {
    const k = key(clientKey, sequence);
    const existing = this.entries.get(k);
    const d = digest.toLowerCase() as Hex;
    if (existing) return existing.digest === d;
    if (this.fd === undefined) throw new QiaoError('solo_record_closed', `solo signature record ${this.file} is closed`);
    const e: Entry = { clientKey, sequence: sequence.toString(), digest: d, at: new Date().toISOString() };
    writeSync(this.fd, `${JSON.stringify(e)}\n`);
    fsyncSync(this.fd);
    this.entries.set(k, e);
    return true;
  }

  close(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
    this.release();
  }
}

function key(clientKey: string, sequence: bigint): string {
  return `${clientKey}\u0000${sequence}`;
}
