import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliInProcess } from '../helpers/cli.ts';
import { addressOf, loadOrCreateKeys, relayerSenderAddresses, type HubKeys } from '../../src/governance/keys.ts';

describe('qiao relayer senders', () => {
  let dir: string;
  let keys: HubKeys;

  const qiao = async (...args: string[]) => {
    const r = await runCliInProcess(['relayer', 'senders', ...args]);
    return { code: r.code, out: r.stdout, err: r.stderr };
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'qiao-senders-'));
    keys = (await loadOrCreateKeys(join(dir, 'keys.json'))).keys;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('lists the relayer address and one address per sender slot, never a key', async () => {
    const r = await qiao('--json', '--data-dir', dir);
    expect(r.code, r.err).toBe(0);
    const rows = JSON.parse(r.out) as { slot: number; address: string }[];
    expect(rows.map((x) => x.slot)).toEqual([0, 1, 2, 3, 4]);
    expect(rows.map((x) => x.address)).toEqual([addressOf(keys.relayer), ...relayerSenderAddresses(keys.relayer, 4)]);
    expect(r.out.toLowerCase()).not.toContain(keys.relayer.slice(2).toLowerCase());
    const table = await qiao('--data-dir', dir);
    expect(table.code, table.err).toBe(0);
    for (const a of rows.map((x) => x.address)) expect(table.out).toContain(a);
  });

  it('follows relayer.senderSlots from the config', async () => {
    const cfg = join(dir, 'two.json');
    writeFileSync(cfg, JSON.stringify({ relayer: { senderSlots: 2 } }));
    const r = await qiao('--json', '--data-dir', dir, '--config', cfg);
    expect(r.code, r.err).toBe(0);
    expect((JSON.parse(r.out) as unknown[]).length).toBe(3);
  });

  it('refuses a data folder without keys, or with a malformed relayer key, with the reason', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'qiao-senders-empty-'));
    try {
      const none = await qiao('--data-dir', empty);
      expect(none.code).not.toBe(0);
      expect(none.err).toMatch(/keys\.json/);
      writeFileSync(join(empty, 'keys.json'), JSON.stringify({ relayer: '0x1234' }));
      const bad = await qiao('--data-dir', empty);
      expect(bad.code).not.toBe(0);
      expect(bad.err).toMatch(/keys\.relayer/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
