import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { goodCopyOf, repairStateFile } from '../../src/governance/anvil-state.ts';

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
});
