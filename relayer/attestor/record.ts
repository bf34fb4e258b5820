import { mkdirSync, openSync, readFileSync, writeSync, fsyncSync, closeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Hex } from '../../src/domain/hex.ts';

export interface SignedEntry {
  rootType: number;
  batchNo: string;
  root: Hex;
  setId: string;
  at: string;
}

/**
 * The attestor's durable "one root per (root type, batch number)" record: an
 * append-only JSON-lines file, fsynced before any signature leaves the process,
 * so a crash can never let it sign two roots for one batch.
 */
export class SignedRootRecord {
  private readonly roots = new Map<string, SignedEntry>();
  private readonly fd: number;

  private constructor(readonly file: string) {
    mkdirSync(dirname(file), { recursive: true });
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      // first use
    }
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!.trim();
      if (!line) continue;
      try {
        const e = JSON.parse(line) as SignedEntry;
        this.roots.set(key(e.rootType, BigInt(e.batchNo)), e);
      } catch (cause) {
        // Only a torn last line (crash mid-append) may be unreadable: it was never fsynced, so never signed.
        if (i < lines.length - 1 && lines.slice(i + 1).some((l) => l.trim())) {
          throw new Error(`attestor record ${file} is corrupt at line ${i + 1}`, { cause });
        }
      }
    }
    this.fd = openSync(file, 'a');
  }

  static open(file: string): SignedRootRecord {
    return new SignedRootRecord(file);
  }

  get(rootType: number, batchNo: bigint): SignedEntry | undefined {
    return this.roots.get(key(rootType, batchNo));
  }

  /** Records the root; returns false (and records nothing) if another root is already recorded there. */
  put(rootType: number, batchNo: bigint, root: Hex, setId: bigint): boolean {
    const k = key(rootType, batchNo);
    const existing = this.roots.get(k);
    if (existing) return existing.root.toLowerCase() === root.toLowerCase();
    const e: SignedEntry = { rootType, batchNo: batchNo.toString(), root: root.toLowerCase() as Hex, setId: setId.toString(), at: new Date().toISOString() };
    writeSync(this.fd, `${JSON.stringify(e)}\n`);
    fsyncSync(this.fd);
    this.roots.set(k, e);
    return true;
  }

  highestBatch(rootType: number): bigint | null {
    let best: bigint | null = null;
    for (const e of this.roots.values()) if (e.rootType === rootType && (best === null || BigInt(e.batchNo) > best)) best = BigInt(e.batchNo);
    return best;
  }

  close(): void {
    closeSync(this.fd);
  }
}

function key(rootType: number, batchNo: bigint): string {
  return `${rootType}:${batchNo}`;
}
