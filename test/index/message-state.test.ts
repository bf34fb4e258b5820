import { randomBytes } from 'node:crypto';
import { PGlite, types } from '@electric-sql/pglite';
import { Kysely, Migrator, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChainId } from '../../src/domain/caip.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { encodeMessage, messageId, messageToJson, type QiaoMessage } from '../../src/domain/message.ts';
import { KyselyIndex } from '../../src/index/kysely-index.ts';
import { staticMigrationProvider } from '../../src/index/migrations/index.ts';
import { pgliteDialect } from '../../src/index/pglite-dialect.ts';
import type { IndexDatabase } from '../../src/index/schema.ts';
import type { SentRecord } from '../../src/index/types.ts';
import { createTestDatabase } from '../helpers/services.ts';

/*
 * Migration 2026120801000: a message's wide row (message_data) is written once; its status, batch, destination tx
 * and times move in message_state; `messages` is the view of both with the old table's columns.
 */

const BEFORE = '2026120800000_proof_storage';
const rnd = (n: number): Hex => `0x${randomBytes(n).toString('hex')}`;
const A = 'eip155:7001' as ChainId;
const B = 'eip155:7002' as ChainId;
const PORT = rnd(20);

function record(nonce: bigint, src = A, dst = B): SentRecord {
  const m: QiaoMessage = { version: 1, srcChain: src, srcPort: PORT, sender: rnd(20), dstChain: dst, dstPort: PORT, receiver: rnd(20), nonce, gasLimit: 100_000n, timeoutHeight: 0n, timeoutUnixSeconds: 0n, payload: rnd(16) };
  const encoded = encodeMessage(m);
  return { id: messageId(encoded), encoded, message: messageToJson(m), height: 10n + nonce, txHash: rnd(32), blockHash: rnd(32), logIndex: 0 };
}

interface Backend {
  db: Kysely<IndexDatabase>;
  close(): Promise<void>;
}

async function pglite(): Promise<Backend> {
  const client = await PGlite.create({ parsers: { [types.INT8]: (v: string) => v } });
  const db = new Kysely<IndexDatabase>({ dialect: pgliteDialect(client) });
  return { db, close: () => db.destroy() };
}

async function postgres(): Promise<Backend> {
  const t = await createTestDatabase();
  const pool = new pg.Pool({ connectionString: t.url, max: 2 });
  pg.types.setTypeParser(20, (v: string) => v);
  const db = new Kysely<IndexDatabase>({ dialect: new PostgresDialect({ pool }) });
  return {
    db,
    async close() {
      await db.destroy();
      await t.drop();
    },
  };
}

const migrator = (db: Kysely<IndexDatabase>) => new Migrator({ db, provider: staticMigrationProvider });

const VIEW_COLUMNS = ['seq', 'id', 'encoded', 'message', 'src_chain', 'dst_chain', 'src_port', 'dst_port', 'sender', 'receiver', 'nonce', 'status', 'reason', 'src_tx_hash', 'src_height', 'src_block_hash', 'src_log_index', 'dst_tx_hash', 'batch_no', 'created_at', 'updated_at', 'delivered_at'];

describe.each([
  ['pglite', pglite],
  ['postgres', postgres],
] as const)('message state on %s', (_name, open) => {
  let b: Backend;
  beforeAll(async () => {
    b = await open();
  });
  afterAll(async () => {
    await b?.close();
  });

  it('migrates messages of every kind into data + state, and the view gives back each row as it was', async () => {
    const m = migrator(b.db);
    const to = await m.migrateTo(BEFORE);
    if (to.error) throw to.error;
    // The table as the migrations before this one left it, with rows in several states.
    const rows = [
      { rec: record(1n), status: 'sent', reason: null, dst_tx_hash: null, batch_no: null, delivered_at: null },
      { rec: record(2n), status: 'committed', reason: null, dst_tx_hash: null, batch_no: '7', delivered_at: null },
      { rec: record(3n), status: 'delivered', reason: null, dst_tx_hash: rnd(32), batch_no: '7', delivered_at: new Date('2026-12-01T10:00:05Z') },
      { rec: record(4n), status: 'failed', reason: 'receiver reverted', dst_tx_hash: rnd(32), batch_no: '8', delivered_at: null },
    ];
    for (const r of rows) {
      await sql`
        INSERT INTO messages (id, encoded, message, src_chain, dst_chain, src_port, dst_port, sender, receiver, nonce, status, reason,
          src_tx_hash, src_height, src_block_hash, src_log_index, dst_tx_hash, batch_no, created_at, updated_at, delivered_at)
        VALUES (${r.rec.id}, ${r.rec.encoded}, ${JSON.stringify(r.rec.message)}::jsonb, ${A}, ${B}, ${PORT}, ${PORT}, ${r.rec.message.sender}, ${r.rec.message.receiver},
          ${r.rec.message.nonce}, ${r.status}, ${r.reason}, ${r.rec.txHash}, ${String(r.rec.height)}, ${r.rec.blockHash}, 0, ${r.dst_tx_hash}, ${r.batch_no}::int8,
          ${new Date('2026-12-01T10:00:00Z')}, ${new Date('2026-12-01T10:00:06Z')}, ${r.delivered_at})`.execute(b.db);
    }
    const before = (await sql<Record<string, unknown>>`SELECT * FROM messages ORDER BY seq`.execute(b.db)).rows;

    const latest = await m.migrateToLatest();
    if (latest.error) throw latest.error;
    const after = (await sql<Record<string, unknown>>`SELECT * FROM messages ORDER BY seq`.execute(b.db)).rows;
    expect(after).toEqual(before);
    expect(Object.keys(after[0]!)).toEqual(VIEW_COLUMNS);
    expect(before.map((r) => r.status)).toEqual(['sent', 'committed', 'delivered', 'failed']);

    // The wide rows keep only what never changes, and none of their indexes covers a column that does.
    const cols = (await sql<{ column_name: string }>`SELECT column_name FROM information_schema.columns WHERE table_name = 'message_data' AND table_schema = current_schema()`.execute(b.db)).rows.map((r) => r.column_name);
    for (const c of ['status', 'reason', 'dst_tx_hash', 'batch_no', 'updated_at', 'delivered_at']) expect(cols).not.toContain(c);
    const defs = (await sql<{ indexdef: string }>`SELECT indexdef FROM pg_indexes WHERE tablename = 'message_data' AND schemaname = current_schema()`.execute(b.db)).rows.map((r) => r.indexdef);
    // pkey, seq, and the nine query indexes over immutable columns (sender, receiver, lane, chains, tx hash, time).
    expect(defs.length).toBe(11);
    for (const d of defs) expect(d).not.toMatch(/status|batch_no|dst_tx_hash|delivered_at/);
    const stateIdx = (await sql<{ indexname: string }>`SELECT indexname FROM pg_indexes WHERE tablename = 'message_state' AND schemaname = current_schema() ORDER BY indexname`.execute(b.db)).rows.map((r) => r.indexname);
    expect(stateIdx).toEqual([
      'message_state_dst_tx_hash',
      'message_state_lane_delivered_cover',
      'message_state_lane_status',
      'message_state_pkey',
      'message_state_status_dst_seq',
      'message_state_status_seq',
      'message_state_unbatched_status_seq',
    ]);
  });

  it('moves a message through its whole life without rewriting its wide row', async () => {
    const index = new KyselyIndex({ db: b.db, backend: _name });
    const recs = [record(11n), record(12n)];
    const ids = await index.recordSent(A, recs);
    expect(ids).toHaveLength(2);
    // xmin is the transaction that wrote a row version: any update of the wide row changes it.
    const xmins = async () => (await sql<{ id: string; x: string }>`SELECT id, xmin::text AS x FROM message_data WHERE id IN (${sql.join(ids)}) ORDER BY id`.execute(b.db)).rows;
    const stateXmins = async () => (await sql<{ x: string }>`SELECT s.xmin::text AS x FROM message_state s JOIN message_data d ON d.seq = s.seq WHERE d.id IN (${sql.join(ids)}) ORDER BY d.id`.execute(b.db)).rows;
    const wide = await xmins();
    const narrow = await stateXmins();

    await index.transition(ids, 'verified', { chain: A, height: 5n, proofs: new Map(ids.map((id) => [id, { nodes: [rnd(200)] }])) });
    await index.transition(ids, 'committed', { batchNo: 42n, txHash: rnd(32), chain: 'eip155:1', height: 6n });
    await index.transition(ids, 'attested', {});
    const dstTx = rnd(32);
    await index.transition(ids, 'delivered', { chain: B, height: 9n, txHash: dstTx, dstTxHash: dstTx });
    await index.setDstTx(ids[1]!, dstTx);
    await index.transition([ids[0]!], 'acknowledged', { chain: A, height: 12n, txHash: rnd(32) });

    expect(await xmins()).toEqual(wide);
    expect(await stateXmins()).not.toEqual(narrow);
    const [first, second] = await index.getMessages(ids);
    expect(first).toMatchObject({ status: 'acknowledged', batchNo: '42', dstTxHash: dstTx });
    expect(second).toMatchObject({ status: 'delivered', batchNo: '42', dstTxHash: dstTx });
    expect((await index.timeline(ids[0]!)).map((t) => t.status)).toEqual(['sent', 'verified', 'committed', 'attested', 'delivered', 'acknowledged']);

    // Read through the state's columns: by destination tx hash, and the pipeline's status queries.
    expect((await index.listMessages({ txHash: dstTx, lane: `${A}>${B}` })).items.map((m) => m.id).sort()).toEqual([...ids].sort());
    expect((await index.listMessages({ txHash: recs[0]!.txHash })).items.map((m) => m.id)).toEqual([ids[0]]);
    const mine = (rows: { id: string }[]) => rows.map((m) => m.id).filter((id) => ids.includes(id as Hex));
    expect(mine(await index.messagesByStatus('delivered', 10, { dstChain: B }))).toEqual([ids[1]]);
    expect(mine(await index.messagesByStatus('acknowledged', 10, { dstChain: B }))).toEqual([ids[0]]);
    expect(mine(await index.messagesByStatus('delivered', 10, { dstChain: A }))).toEqual([]);
  });

  it('prunes a finished message with its state', async () => {
    const index = new KyselyIndex({ db: b.db, backend: _name });
    const count = async () => Number((await sql<{ n: string }>`SELECT count(*)::text AS n FROM message_state`.execute(b.db)).rows[0]!.n);
    const [id] = await index.recordSent(A, [record(21n)]);
    await index.transition([id!], 'verified', { chain: A });
    await index.transition([id!], 'quarantined', { reason: 'test' });
    const n = await count();
    expect(await index.pruneFinishedBefore(new Date(Date.now() + 60_000), 100_000)).toBeGreaterThanOrEqual(1);
    expect(await index.getMessage(id!)).toBeNull();
    expect(await count()).toBeLessThan(n);
    const orphans = await sql<{ n: string }>`SELECT count(*)::text AS n FROM message_state s WHERE NOT EXISTS (SELECT 1 FROM message_data d WHERE d.seq = s.seq)`.execute(b.db);
    expect(orphans.rows[0]!.n).toBe('0');
  });
});
