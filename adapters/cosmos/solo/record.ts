import type { Hex } from '../../../src/domain/hex.ts';
import { QiaoError } from '../../../src/errors.ts';
import { openLockedLines } from './lock.ts';

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
export { DurableLinesCorruptError as SoloRecordCorruptError } from '../../../src/durable-lines.ts';

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
  private readonly lines: { append(entry: Entry): void; close(): void };

  private constructor(readonly file: string) {
    this.lines = openLockedLines<Entry>(file, (e) => {
      if (typeof e.clientKey !== 'string' || typeof e.sequence !== 'string' || typeof e.digest !== 'string') throw new TypeError('bad entry');
      this.entries.set(key(e.clientKey, BigInt(e.sequence)), e);
    });
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
    const e: Entry = { clientKey, sequence: sequence.toString(), digest: d, at: new Date().toISOString() };
    this.lines.append(e);
    this.entries.set(k, e);
    return true;
  }

  close(): void {
    this.lines.close();
  }

}

function key(clientKey: string, sequence: bigint): string {
  return `${clientKey}\u0000${sequence}`;
}
