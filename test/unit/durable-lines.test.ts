import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SoloJournal } from '../../adapters/cosmos/solo/journal.ts';
import { SoloSignatureRecord } from '../../adapters/cosmos/solo/record.ts';
import { DurableLines } from '../../src/durable-lines.ts';

const fresh = () => join(mkdtempSync(join(tmpdir(), 'qiao-lines-')), 'not', 'made', 'yet');

describe('durable JSON-lines records', () => {
  it('open in a folder that does not exist yet (a fresh data folder), for every record built on them', () => {
    const dir = fresh();
    const lines = DurableLines.open<{ n: number }>(join(dir, 'a.jsonl'), () => undefined);
    lines.append({ n: 1 });
    lines.close();
    expect(readFileSync(join(dir, 'a.jsonl'), 'utf8')).toBe('{"n":1}\n');
    const record = SoloSignatureRecord.open(join(fresh(), 'r.jsonl'));
    expect(record.put('c', 1n, `0x${'11'.repeat(32)}`)).toBe(true);
    record.close();
    const journal = SoloJournal.open(join(fresh(), 'j.jsonl'));
    journal.close();
  });

  it('hands every entry back on open, in order', () => {
    const file = join(fresh(), 'b.jsonl');
    const w = DurableLines.open<{ n: number }>(file, () => undefined);
    for (let n = 1; n <= 3; n++) w.append({ n });
    w.close();
    const seen: number[] = [];
    DurableLines.open<{ n: number }>(file, (e) => seen.push(e.n)).close();
    expect(seen).toEqual([1, 2, 3]);
  });
});
