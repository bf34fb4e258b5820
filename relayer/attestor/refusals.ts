import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export interface RefusalEntry {
  /** refused: for good; wait: could not be checked yet (so a restart tries it again even if later batches were signed). */
  kind?: 'refused' | 'wait';
  rootType: number;
  batchNo: string;
  reason: string;
  detail: string;
  id?: string;
  at: string;
}

/**
 * The batches an attestor refused for good (an id its source chain's proof
 * shows was never committed) and those it held back (not checkable yet): an
 * append-only JSON-lines file next to its signed-root record, so a restart
 * neither signs nor re-proves the refused ones, and still retries the held-back
 * ones although it resumes after the last batch signed. An operator who finds
 * a refusal wrong removes its line.
 */
export class RefusalRecord {
  private readonly entries = new Map<string, RefusalEntry>();
  private readonly waits = new Map<string, RefusalEntry>();
  private readonly fd: number;

  private constructor(readonly file: string) {
    mkdirSync(dirname(file), { recursive: true });
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      // first use
    }
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      try {
        const e = JSON.parse(line) as RefusalEntry;
        (e.kind === 'wait' ? this.waits : this.entries).set(`${e.rootType}:${e.batchNo}`, e);
      } catch {
        // A torn line: the refusal is simply decided again (it never allowed a signature).
      }
    }
    this.fd = openSync(file, 'a');
  }

  static open(file: string): RefusalRecord {
    return new RefusalRecord(file);
  }

  get(rootType: number, batchNo: bigint): RefusalEntry | undefined {
    return this.entries.get(`${rootType}:${batchNo}`);
  }

  /** The batches that were held back at some point (a caller skips those signed or refused since). */
  waiting(rootType: number): bigint[] {
    return [...this.waits.values()].filter((e) => e.rootType === rootType).map((e) => BigInt(e.batchNo));
  }

  /** Notes, once per batch, that it could not be checked yet. */
  putWait(rootType: number, batchNo: bigint, r: { reason: string; detail: string; id?: string }): void {
    if (this.waits.has(`${rootType}:${batchNo}`)) return;
    this.waits.set(`${rootType}:${batchNo}`, this.append({ kind: 'wait', rootType, batchNo: batchNo.toString(), reason: r.reason, detail: r.detail.slice(0, 2000), ...(r.id ? { id: r.id } : {}), at: new Date().toISOString() }));
  }

  put(rootType: number, batchNo: bigint, r: { reason: string; detail: string; id?: string }): void {
    if (this.get(rootType, batchNo)) return;
    const e: RefusalEntry = { kind: 'refused', rootType, batchNo: batchNo.toString(), reason: r.reason, detail: r.detail.slice(0, 2000), ...(r.id ? { id: r.id } : {}), at: new Date().toISOString() };
    this.entries.set(`${rootType}:${batchNo}`, this.append(e));
  }

  private append(e: RefusalEntry): RefusalEntry {
    writeSync(this.fd, `${JSON.stringify(e)}\n`);
    fsyncSync(this.fd);
    return e;
  }

  close(): void {
    closeSync(this.fd);
  }
}
