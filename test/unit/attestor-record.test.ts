import { appendFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SignedRootRecord } from '../../relayer/attestor/record.ts';

const R1 = ('0x' + '11'.repeat(32)) as `0x${string}`;
const R2 = ('0x' + '22'.repeat(32)) as `0x${string}`;

describe('attestor one-root-per-batch record', () => {
  it('keeps one root per (root type, batch) across reopen, and refuses another', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'qiao-att-')), 'a.jsonl');
    const r = SignedRootRecord.open(file);
    expect(r.put(1, 7n, R1, 1n)).toBe(true);
    expect(r.put(1, 7n, R1, 1n)).toBe(true);
    expect(r.put(1, 7n, R2, 1n)).toBe(false);
    expect(r.put(2, 7n, R2, 1n)).toBe(true);
    r.close();
    const again = SignedRootRecord.open(file);
    expect(again.get(1, 7n)?.root).toBe(R1);
    expect(again.put(1, 7n, R2, 1n)).toBe(false);
    expect(again.highestBatch(1)).toBe(7n);
    again.close();
    expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(2);
  });

  it('tolerates a torn last line (a crash mid-append), keeps appending after it, but refuses corruption in the middle', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'qiao-att-')), 'a.jsonl');
    const r = SignedRootRecord.open(file);
    r.put(1, 1n, R1, 1n);
    r.close();
    appendFileSync(file, '{"rootType":1,"batchNo":"2","ro');
    const torn = SignedRootRecord.open(file);
    expect(torn.get(1, 1n)?.root).toBe(R1);
    expect(torn.get(1, 2n)).toBeUndefined();
    // The torn line was cut off on open: the next entry starts a line of its own and reads back.
    expect(torn.put(1, 2n, R2, 1n)).toBe(true);
    torn.close();
    const again = SignedRootRecord.open(file);
    expect(again.get(1, 2n)?.root).toBe(R2);
    again.close();
    appendFileSync(file, '{"rootType":1,"batchNo":"3","ro\n{"rootType":1,"batchNo":"4","root":"' + R2 + '","setId":"1","at":"x"}\n');
    expect(() => SignedRootRecord.open(file)).toThrow(/corrupt/);
  });
});
