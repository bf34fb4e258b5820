import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Interface, Wallet, type JsonRpcProvider } from 'ethers';
import pg from 'pg';
import { portArtifacts } from '../../adapters/evm/artifacts.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { messageId } from '../../src/domain/message.ts';
import { makeProvider } from '../../src/evm/provider.ts';
import { TxSender } from '../../src/evm/signer.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { progressReporter } from '../../src/cli/commands/index-cmd.ts';
import { openIndex } from '../../src/index/open.ts';
import { runCli } from '../helpers/cli.ts';
import { startTestHub, type TestHub } from '../helpers/hub.ts';
import { createTestDatabase, until } from '../helpers/services.ts';

type Row = Record<string, unknown>;

/**
 * Every row a rebuild should reproduce, without what is local to one run
 * (row sequence numbers and wall-clock times: the rebuild writes them at its
 * own time, not at the time the live pipeline saw each step).
 */
type Snapshot = Record<'messages' | 'transitions' | 'batches' | 'attestations' | 'chains' | 'lanes' | 'gaps', Row[]>;

async function snapshot(url: string): Promise<Snapshot> {
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  try {
    const q = async (sql: string) => (await db.query(sql)).rows as Row[];
    return {
      messages: await q('SELECT id, encoded, message, src_chain, dst_chain, src_port, dst_port, sender, receiver, nonce, status, reason, src_tx_hash, src_height, src_block_hash, src_log_index, dst_tx_hash, batch_no FROM messages ORDER BY id'),
      transitions: await q('SELECT message_id, status, chain, height, tx_hash, reason, proof FROM transitions ORDER BY message_id, seq'),
      batches: await q('SELECT batch_no, root, ids, status, gov_tx_hash, gov_height FROM batches ORDER BY batch_no'),
      attestations: await q('SELECT batch_no, root_type, set_id, attestor, signature FROM attestations ORDER BY batch_no, root_type, attestor'),
      chains: await q('SELECT chain_id, family, genesis_hash, port, light_client, trust_root, finality, endpoints, status FROM chains ORDER BY chain_id'),
      lanes: await q('SELECT src_chain, src_port, dst_chain, last_nonce, seen_above FROM lane_nonces ORDER BY src_chain, src_port, dst_chain'),
      gaps: await q('SELECT src_chain, src_port, dst_chain, expected, seen FROM nonce_gaps ORDER BY id'),
    };
  } finally {
    await db.end();
  }
}

/** The whole tables, times and sequence numbers included: a second run must not touch a row (updated_at aside). */
async function rawTables(url: string): Promise<Record<string, Row[]>> {
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  try {
    const q = async (sql: string) => (await db.query(sql)).rows as Row[];
    const drop = (rows: Row[]) => rows.map(({ updated_at: _u, ...r }) => r);
    return {
      messages: drop(await q('SELECT * FROM messages ORDER BY id')),
      transitions: await q('SELECT * FROM transitions ORDER BY seq'),
      batches: drop(await q('SELECT * FROM batches ORDER BY batch_no')),
      attestations: await q('SELECT * FROM attestations ORDER BY batch_no, root_type, attestor'),
      lanes: drop(await q('SELECT * FROM lane_nonces ORDER BY src_chain, src_port, dst_chain')),
      gaps: await q('SELECT * FROM nonce_gaps ORDER BY id'),
      laneCounts: await q('SELECT * FROM lane_counts ORDER BY src_chain, dst_chain, status'),
    };
  } finally {
    await db.end();
  }
}

/** The per-lane counters the index keeps, next to a full count of the messages table: they must agree. */
async function laneCounts(url: string): Promise<{ kept: Row[]; counted: Row[] }> {
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  try {
    const kept = (await db.query("SELECT src_chain, dst_chain, status, n::text AS n FROM lane_counts WHERE n <> 0 ORDER BY 1, 2, 3")).rows as Row[];
    const counted = (await db.query('SELECT src_chain, dst_chain, status, count(*)::text AS n FROM messages GROUP BY 1, 2, 3 ORDER BY 1, 2, 3')).rows as Row[];
    return { kept, counted };
  } finally {
    await db.end();
  }
}

/** Times the rebuilt index holds: created_at and delivered_at per message. */
async function messageTimes(url: string): Promise<Row[]> {
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  try {
    return (await db.query('SELECT id, src_chain, dst_chain, src_height, dst_tx_hash, created_at, delivered_at FROM messages ORDER BY id')).rows as Row[];
  } finally {
    await db.end();
  }
}

async function checkpoints(url: string): Promise<Map<string, bigint>> {
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  try {
    return new Map((await db.query('SELECT chain_id, height FROM checkpoints')).rows.map((r: { chain_id: string; height: string }) => [r.chain_id, BigInt(r.height)]));
  } finally {
    await db.end();
  }
}

interface RebuildJson {
  from: string;
  chains: { chainId: string; scanned: { from: string; to: string } | null; messages: number; verified: number; quarantined: number; unverified: number; delivered: number; failed: number }[];
  batches: { seen: number; skipped: number; committed: number; attested: number; neverDelivered: string[] };
  attestations: { recovered: number; rejected: number };
  laneNonces: string;
  unverified: string[];
}

/**
 * `qiao index rebuild` re-derives the index from chain data alone: into a
 * fresh PostgreSQL database it reproduces the live index's rows, a second run
 * changes nothing, and `--from` leaves out what was sent below that height.
 */
describe('qiao index rebuild', () => {
  let t: TestHub;
  const dbs: { url: string; drop(): Promise<void> }[] = [];
  const providers: JsonRpcProvider[] = [];
  const early: Hex[] = [];
  const late: Hex[] = [];
  let failing: Hex;
  let fromHeight: bigint;

  beforeAll(async () => {
    t = await startTestHub({ index: 'postgres' });
    const demo = t.hub.demo!.chains;
    const iface = new Interface((await portArtifacts()).QiaoPort.abi as never);
    const users: { c: (typeof demo)[0]; provider: JsonRpcProvider; user: TxSender }[] = [];
    for (const c of demo) {
      const provider = makeProvider(c.url, BigInt(c.numericId), { pollingMs: 100 });
      providers.push(provider);
      const w = Wallet.createRandom();
      await provider.send('anvil_setBalance', [w.address, '0x3635C9ADC5DEA00000']);
      users.push({ c, provider, user: new TxSender(w.privateKey, provider) });
    }
    const [a, b] = users as [(typeof users)[0], (typeof users)[0]];
    const send = async (i: number, text: string): Promise<Hex> => {
      const [from, to] = i % 3 === 2 ? [b, a] : [a, b];
      const r = await from.user.send({ to: from.c.port, data: iface.encodeFunctionData('send', [to.c.chainId, to.c.port, to.c.receiver, 200_000n, 0n, 0n, new TextEncoder().encode(text)]) });
      return messageId(r.logs.map((l) => iface.parseLog(l)).find((p) => p?.name === 'MessageSent')!.args[3] as Hex);
    };
    // Early messages, then a height above every one of them on both chains, then the rest.
    for (let i = 0; i < 6; i++) early.push(await send(i, `early #${i}`));
    fromHeight = BigInt(Math.max(...(await Promise.all(users.map((u) => u.provider.getBlockNumber()))))) + 1n;
    await until(async () => (await Promise.all(users.map((u) => u.provider.getBlockNumber()))).every((h) => BigInt(h) >= fromHeight), { timeoutMs: 30_000, what: 'both chains past the --from height' });
    failing = await send(6, 'fail on purpose');
    late.push(failing);
    for (let i = 7; i < 21; i++) late.push(await send(i, `late #${i}`));

    const all = [...early, ...late];
    await until(
      async () => {
        const rows = await t.hub.index.getMessages(all);
        return rows.length === all.length && rows.every((r) => r.status === 'delivered' || r.status === 'failed');
      },
      { timeoutMs: 120_000, intervalMs: 500, what: 'every message delivered or failed' },
    );
    // The rebuild reads destination events up to the finalized height (depth 2): wait until every delivery is final.
    const rows = await t.hub.index.getMessages(all);
    const dstHeights = new Map<string, bigint>();
    for (const m of rows) {
      const tl = await t.hub.index.timeline(m.id);
      const last = tl.find((x) => x.status === m.status)!;
      const h = BigInt(last.height ?? '0');
      if (h > (dstHeights.get(m.dstChain) ?? 0n)) dstHeights.set(m.dstChain, h);
    }
    await until(
      async () => {
        for (const u of users) if (BigInt(await u.provider.getBlockNumber()) - 2n < (dstHeights.get(u.c.chainId) ?? 0n)) return false;
        return true;
      },
      { timeoutMs: 30_000, what: 'deliveries final' },
    );
  }, 240_000);

  afterAll(async () => {
    for (const p of providers) p.destroy();
    for (const d of dbs) await d.drop();
    await t?.stop();
  });

  const rebuild = async (url: string, extra: string[] = []) => {
    const r = await runCli(['index', 'rebuild', '--data-dir', t.dataDir, '--database-url', url, '--json', ...extra], { timeoutMs: 180_000 });
    expect(r.code, r.stderr + r.stdout).toBe(0);
    return { out: JSON.parse(r.stdout) as RebuildJson, stderr: r.stderr };
  };

  it('reproduces the live index in a fresh database, and a second run changes nothing', async () => {
    const db = await createTestDatabase();
    dbs.push(db);
    const first = await rebuild(db.url);
    // Not a terminal: periodic progress lines on stderr.
    expect(first.stderr).toMatch(/rebuild: messages eip155:\d+ \d+\/\d+/);
    expect(first.stderr).toMatch(/rebuild: deliveries eip155:\d+/);
    expect(first.out.unverified).toEqual([]);
    expect(first.out.laneNonces).toBe('recorded');
    expect(first.out.chains.reduce((n, c) => n + c.messages, 0)).toBe(21);
    expect(first.out.chains.reduce((n, c) => n + c.failed, 0)).toBe(1);
    expect(first.out.batches.neverDelivered).toEqual([]);

    const live = await snapshot(t.databaseUrl!);
    const rebuilt = await snapshot(db.url);
    expect(rebuilt.messages.length).toBe(21);
    expect(rebuilt.messages.map((m) => m.id)).toEqual(live.messages.map((m) => m.id));
    // Statuses, reasons, source and destination transactions, batch numbers, the bytes: row for row.
    expect(rebuilt.messages).toEqual(live.messages);
    const failed = rebuilt.messages.find((m) => m.id === failing)!;
    expect(failed.status).toBe('failed');
    expect(failed.reason).toBe('demo receiver refuses payloads starting with fail');
    expect(failed.dst_tx_hash).toMatch(/^0x[0-9a-f]{64}$/);
    // The same timeline per message, evidence included (proofs, anchors, signatures).
    const statuses = (rows: Row[]) => rows.map((r) => `${String(r.message_id)}:${String(r.status)}`);
    expect(statuses(rebuilt.transitions)).toEqual(statuses(live.transitions));
    expect(rebuilt.transitions).toEqual(live.transitions);
    expect(rebuilt.batches.length).toBeGreaterThan(0);
    expect(rebuilt.batches).toEqual(live.batches);
    expect(rebuilt.attestations.length).toBeGreaterThan(0);
    expect(rebuilt.attestations).toEqual(live.attestations);
    expect(rebuilt.chains).toEqual(live.chains);
    expect(rebuilt.lanes).toEqual(live.lanes);
    expect(rebuilt.gaps).toEqual([]);
    // Lane counters (what /lanes reads) agree with a full count, live and rebuilt.
    for (const url of [t.databaseUrl!, db.url]) {
      const lc = await laneCounts(url);
      expect(lc.counted.length).toBeGreaterThan(0);
      expect(lc.kept).toEqual(lc.counted);
    }
    // A rebuilt index keeps chain time: sent at the source block's timestamp, delivered at the destination block's.
    const byChain = new Map(providers.map((p, i) => [t.hub.demo!.chains[i]!.chainId as string, p]));
    for (const m of await messageTimes(db.url)) {
      const src = await byChain.get(m.src_chain as string)!.getBlock(BigInt(m.src_height as string));
      expect((m.created_at as Date).getTime(), `created_at of ${String(m.id)}`).toBe(src!.timestamp * 1000);
      if (m.delivered_at) {
        const dst = byChain.get(m.dst_chain as string)!;
        const receipt = await dst.getTransactionReceipt(m.dst_tx_hash as string);
        const block = await dst.getBlock(receipt!.blockNumber);
        expect((m.delivered_at as Date).getTime(), `delivered_at of ${String(m.id)}`).toBe(block!.timestamp * 1000);
      }
    }
    // Checkpoints: what was scanned (the finalized height then), at or past where the live watcher was when we looked.
    const cps = await checkpoints(db.url);
    for (const c of first.out.chains) expect(cps.get(c.chainId)).toBe(BigInt(c.scanned!.to));

    const before = await rawTables(db.url);
    const second = await rebuild(db.url);
    expect(second.out.chains.reduce((n, c) => n + c.delivered + c.failed + c.verified, 0)).toBeGreaterThan(0);
    const after = await rawTables(db.url);
    for (const table of Object.keys(before)) expect(after[table]!.length, table).toBe(before[table]!.length);
    expect(after).toEqual(before);
  }, 300_000);

  it('leaves out what was sent below --from', async () => {
    const db = await createTestDatabase();
    dbs.push(db);
    const { out } = await rebuild(db.url, ['--from', fromHeight.toString()]);
    expect(out.from).toBe(fromHeight.toString());
    expect(out.laneNonces).toBe('skipped');
    const rows = await snapshot(db.url);
    const ids = new Set(rows.messages.map((m) => m.id as string));
    for (const id of early) expect(ids.has(id)).toBe(false);
    for (const id of late) expect(ids.has(id)).toBe(true);
    expect(rows.messages.length).toBe(late.length);
    const live = new Map((await snapshot(t.databaseUrl!)).messages.map((m) => [m.id as string, m]));
    for (const m of rows.messages) expect(m).toEqual(live.get(m.id as string));
    expect(rows.transitions.some((x) => early.includes(x.message_id as Hex))).toBe(false);
    expect(rows.gaps).toEqual([]);
  }, 300_000);

  it('rebuilds into an embedded PGlite folder, with a human summary', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'qiao-rebuild-'));
    try {
      const r = await runCli(['index', 'rebuild', '--data-dir', t.dataDir, '--into', dir], { timeoutMs: 180_000 });
      expect(r.code, r.stderr + r.stdout).toBe(0);
      expect(r.stdout).toContain(`rebuilt the PGlite index at ${dir}`);
      expect(r.stdout).toMatch(/batches: \d+ on the MessageLog, \d+ written, \d+ attested/);
      const idx = await openIndex({ dataDir: dir });
      try {
        const rows = await idx.getMessages([...early, ...late]);
        expect(rows.length).toBe(21);
        const live = new Map((await t.hub.index.getMessages([...early, ...late])).map((m) => [m.id, m]));
        for (const m of rows) expect([m.status, m.reason, m.dstTxHash, m.batchNo]).toEqual([live.get(m.id)!.status, live.get(m.id)!.reason, live.get(m.id)!.dstTxHash, live.get(m.id)!.batchNo]);
      } finally {
        await idx.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 300_000);

  it('refuses to run without an explicit target', async () => {
    const r = await runCli(['index', 'rebuild', '--data-dir', t.dataDir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/\[target\]/);
    const bad = await runCli(['index', 'rebuild', '--data-dir', t.dataDir, '--in-place', '--from', 'x']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/\[from\]/);
    // The hub of this data folder is running: its embedded index must not be opened by a second process.
    const busy = await runCli(['index', 'rebuild', '--data-dir', t.dataDir, '--in-place']);
    expect(busy.code).toBe(2);
    expect(busy.stderr).toMatch(/\[in-place\].*running/);
  });
});

describe('rebuild progress on stderr', () => {
  it('draws a bar in place on a terminal', () => {
    let out = '';
    const bar = progressReporter({ isTTY: true, write: (s: string) => ((out += s), true) } as never);
    bar.update({ phase: 'messages', chain: 'eip155:1', done: 5, total: 10 });
    expect(out).toContain('\r');
    expect(out).toMatch(/\[#{15}-{15}\]\s+50%\s+messages eip155:1 5\/10/);
    bar.end();
    expect(out.endsWith('\r\x1b[K')).toBe(true);
  });

  it('writes plain lines (each phase, its end, and periodic ones) when stderr is not a terminal', () => {
    const lines: string[] = [];
    const bar = progressReporter({ isTTY: false, write: (s: string) => (lines.push(s), true) } as never);
    for (let i = 1; i < 1000; i++) bar.update({ phase: 'verify', chain: 'eip155:1', done: i, total: 1000 });
    bar.update({ phase: 'verify', chain: 'eip155:1', done: 1000, total: 1000 });
    bar.update({ phase: 'batches', done: 1, total: 3 });
    expect(lines[0]).toBe('rebuild: verify eip155:1 1/1000 (0%)\n');
    expect(lines).toContain('rebuild: verify eip155:1 1000/1000 (100%)\n');
    expect(lines[lines.length - 1]).toBe('rebuild: batches 1/3 (33%)\n');
    expect(lines.every((l) => !l.includes('\r'))).toBe(true);
  });
});
