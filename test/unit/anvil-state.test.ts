import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { goodCopyOf, keepGoodCopy, repairStateFile } from '../../src/governance/anvil-state.ts';
import { until } from '../helpers/services.ts';

describe('anvil state file guard', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'qiao-state-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('leaves a whole state file alone', async () => {
    const f = join(dir, 'state.json');
    await writeFile(f, '{"block":{"number":"0x5"}}');
    await repairStateFile(f);
    expect(await readFile(f, 'utf8')).toBe('{"block":{"number":"0x5"}}');
  });

  it('replaces a file torn by a kill mid-write with the last whole copy, and keeps the torn one aside', async () => {
    const f = join(dir, 'state.json');
    await writeFile(goodCopyOf(f), '{"block":{"number":"0x4"}}');
    await writeFile(f, '{"block":{"numb');
    await repairStateFile(f);
    expect(JSON.parse(await readFile(f, 'utf8'))).toEqual({ block: { number: '0x4' } });
    expect((await readdir(dir)).some((n) => n.startsWith('state.json.torn-'))).toBe(true);
  });

  it('refuses, naming the file, when a torn file has no whole copy', async () => {
    const f = join(dir, 'state.json');
    await writeFile(f, '{"block":');
    await expect(repairStateFile(f)).rejects.toThrow(/torn and no whole copy/);
    expect(existsSync(f)).toBe(false);
  });

  it('keeps a copy of each whole state, small or large (checked off the event loop), and never of a torn one', async () => {
    const f = join(dir, 'state.json');
    const big = (n: number) => JSON.stringify({ block: { number: `0x${n.toString(16)}` }, history: 'x'.repeat(9 << 20) });
    const stop = keepGoodCopy(f, 20);
    try {
      await writeFile(f, '{"block":{"number":"0x1"}}');
      await until(async () => existsSync(goodCopyOf(f)) && (await readFile(goodCopyOf(f), 'utf8')).includes('0x1'), { timeoutMs: 10_000, what: 'the small copy' });
      await writeFile(f, big(2));
      await until(async () => (await readFile(goodCopyOf(f), 'utf8')).includes('"0x2"'), { timeoutMs: 10_000, what: 'the large copy' });
      // Torn (a kill mid-write): the last whole copy stays.
      await writeFile(f, big(3).slice(0, 8.5 * (1 << 20)));
      await new Promise((r) => setTimeout(r, 300));
      expect(JSON.parse(await readFile(goodCopyOf(f), 'utf8')).block.number).toBe('0x2');
      await writeFile(f, '{"block":{"number":"0x4"}}');
      await until(async () => (await readFile(goodCopyOf(f), 'utf8')).includes('0x4'), { timeoutMs: 10_000, what: 'the copy after the torn file' });
      expect(JSON.parse(await readFile(goodCopyOf(f), 'utf8'))).toEqual({ block: { number: '0x4' } });
    } finally {
      stop();
    }
  });
});
