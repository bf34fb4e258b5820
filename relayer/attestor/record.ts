import type { Hex } from '../../src/domain/hex.ts';
import { DurableLines } from '../../src/durable-lines.ts';

export interface SignedEntry {
  rootType: number;
  batchNo: string;
  root: Hex;
  setId: string;
  at: string;
}

/**
 * The attestor's durable "one root per (root type, batch number)" record: an
 * append-only JSON-lines file (src/durable-lines.ts), fsynced before any
 * signature leaves the process, so a crash can never let it sign two roots for
 * one batch.
 */
export class SignedRootRecord {
  private readonly roots = new Map<string, SignedEntry>();
  private readonly lines: DurableLines<SignedEntry>;

  private constructor(readonly file: string) {
    this.lines = DurableLines.open<SignedEntry>(file, (e) => {
      if (typeof e.root !== 'string' || typeof e.rootType !== 'number') throw new TypeError('bad entry');
      this.roots.set(key(e.rootType, BigInt(e.batchNo)), e);
    });
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
    this.lines.append(e);
    this.roots.set(k, e);
    return true;
  }

  highestBatch(rootType: number): bigint | null {
    let best: bigint | null = null;
    for (const e of this.roots.values()) if (e.rootType === rootType && (best === null || BigInt(e.batchNo) > best)) best = BigInt(e.batchNo);
    return best;
  }

  close(): void {
    this.lines.close();
  }
}

function key(rootType: number, batchNo: bigint): string {
  return `${rootType}:${batchNo}`;
}
