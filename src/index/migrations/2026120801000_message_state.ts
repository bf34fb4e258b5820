import { sql, type Kysely } from 'kysely';

/*
 * A message's row is written once and never changes (message_data); what moves with its status lives in a narrow
 * row of its own (message_state), and `messages` is a view of the two with the old table's columns in the old order,
 * so every reader sees what it saw before.
 *
 * Why: each of a message's four or five transitions updated the wide row, and an update that changes an indexed
 * column is never HOT, so PostgreSQL wrote a new entry into every one of the table's 18 indexes, 11 of them over
 * columns that never change (sender, receiver, lane, tx hash, time...). Measured on 20,480 messages: 79-96 µs of
 * server time per message per transition; the same update on a narrow row with the 6 status indexes took 12-23 µs.
 * At saturation the index's writes were ~0.9 ms of PostgreSQL CPU per message, a third of the machine's work.
 *
 * message_state repeats src_chain, dst_chain and created_at (they never change) so that its indexes answer the
 * pipeline's and the lane statistics' questions alone. The wide row's indexes on mutable columns go with the columns;
 * their equivalents are made on message_state (messages_batch_no had no reader and is not remade).
 */
const VIEW = sql`
  CREATE VIEW messages AS
  SELECT d.seq, d.id, d.encoded, d.message, d.src_chain, d.dst_chain, d.src_port, d.dst_port, d.sender, d.receiver, d.nonce,
    s.status, s.reason, d.src_tx_hash, d.src_height, d.src_block_hash, d.src_log_index, s.dst_tx_hash, s.batch_no,
    d.created_at, s.updated_at, s.delivered_at
  FROM message_data d JOIN message_state s ON s.seq = d.seq`;

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE messages RENAME TO message_data`.execute(db);
  await sql`
    CREATE TABLE message_state (
      seq bigint PRIMARY KEY REFERENCES message_data (seq) ON DELETE CASCADE,
      src_chain text NOT NULL,
      dst_chain text NOT NULL,
      status text NOT NULL,
      reason text,
      dst_tx_hash text,
      batch_no bigint,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now(),
      delivered_at timestamptz
    )`.execute(db);
  await sql`
    INSERT INTO message_state (seq, src_chain, dst_chain, status, reason, dst_tx_hash, batch_no, created_at, updated_at, delivered_at)
    SELECT seq, src_chain, dst_chain, status, reason, dst_tx_hash, batch_no, created_at, updated_at, delivered_at FROM message_data`.execute(db);
  // Their indexes go with them.
  for (const c of ['status', 'reason', 'dst_tx_hash', 'batch_no', 'updated_at', 'delivered_at']) {
    await sql`ALTER TABLE message_data DROP COLUMN ${sql.ref(c)}`.execute(db);
  }
  // listMessages status=; the pipeline's "in this status, for this destination" and "not yet in a batch".
  await sql`CREATE INDEX message_state_status_seq ON message_state (status, seq)`.execute(db);
  await sql`CREATE INDEX message_state_status_dst_seq ON message_state (status, dst_chain, seq)`.execute(db);
  await sql`CREATE INDEX message_state_unbatched_status_seq ON message_state (status, seq) WHERE batch_no IS NULL`.execute(db);
  // Per-lane counts by status (index-only), destination tx hash lookups, lane latency (index-only).
  await sql`CREATE INDEX message_state_lane_status ON message_state (src_chain, dst_chain, status)`.execute(db);
  await sql`CREATE INDEX message_state_dst_tx_hash ON message_state (dst_tx_hash) WHERE dst_tx_hash IS NOT NULL`.execute(db);
  await sql`CREATE INDEX message_state_lane_delivered_cover ON message_state (src_chain, dst_chain, delivered_at) INCLUDE (created_at) WHERE delivered_at IS NOT NULL`.execute(
    db,
  );
  await VIEW.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP VIEW messages`.execute(db);
  await sql`
    ALTER TABLE message_data
      ADD COLUMN status text, ADD COLUMN reason text, ADD COLUMN dst_tx_hash text, ADD COLUMN batch_no bigint,
      ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now(), ADD COLUMN delivered_at timestamptz`.execute(db);
  await sql`
    UPDATE message_data d SET status = s.status, reason = s.reason, dst_tx_hash = s.dst_tx_hash, batch_no = s.batch_no,
      updated_at = s.updated_at, delivered_at = s.delivered_at
    FROM message_state s WHERE s.seq = d.seq`.execute(db);
  await sql`ALTER TABLE message_data ALTER COLUMN status SET NOT NULL`.execute(db);
  await sql`DROP TABLE message_state`.execute(db);
  await sql`ALTER TABLE message_data RENAME TO messages`.execute(db);
  await sql`CREATE INDEX messages_status_seq ON messages (status, seq)`.execute(db);
  await sql`CREATE INDEX messages_status_dst_seq ON messages (status, dst_chain, seq)`.execute(db);
  await sql`CREATE INDEX messages_unbatched_status_seq ON messages (status, seq) WHERE batch_no IS NULL`.execute(db);
  await sql`CREATE INDEX messages_batch_no ON messages (batch_no)`.execute(db);
  await sql`CREATE INDEX messages_lane_status ON messages (src_chain, dst_chain, status)`.execute(db);
  await sql`CREATE INDEX messages_dst_tx_hash ON messages (dst_tx_hash) WHERE dst_tx_hash IS NOT NULL`.execute(db);
  await sql`CREATE INDEX messages_lane_delivered_cover ON messages (src_chain, dst_chain, delivered_at) INCLUDE (created_at) WHERE delivered_at IS NOT NULL`.execute(db);
}
