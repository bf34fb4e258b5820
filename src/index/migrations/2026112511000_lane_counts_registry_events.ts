import { sql, type Kysely } from 'kysely';

/*
 * lane_counts: messages per (lane, status), kept by every write that adds,
 * moves or prunes a message, so /lanes reads a few rows instead of counting the
 * whole messages table (205 ms at 1,000,000 messages before).
 *
 * messages_lane_delivered_cover: the last N deliveries of a lane with their
 * send times, from the index alone (no heap visit per row), for /lanes latency.
 *
 * registry_events: what the governance chain's registries did, in chain order
 * (a chain's status history: submitted, approved, suspended, ...), one row per log.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('lane_counts')
    .addColumn('src_chain', 'text', (c) => c.notNull())
    .addColumn('dst_chain', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('n', 'int8', (c) => c.notNull())
    .addPrimaryKeyConstraint('lane_counts_pk', ['src_chain', 'dst_chain', 'status'])
    .execute();
  await sql`
    INSERT INTO lane_counts (src_chain, dst_chain, status, n)
    SELECT src_chain, dst_chain, status, count(*) FROM messages GROUP BY src_chain, dst_chain, status`.execute(db);

  await sql`CREATE INDEX messages_lane_delivered_cover ON messages (src_chain, dst_chain, delivered_at) INCLUDE (created_at) WHERE delivered_at IS NOT NULL`.execute(db);
  await db.schema.dropIndex('messages_lane_delivered_at').ifExists().execute();

  await db.schema
    .createTable('registry_events')
    .addColumn('seq', 'bigserial', (c) => c.primaryKey())
    .addColumn('contract', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('status', 'text')
    .addColumn('data', 'jsonb')
    .addColumn('block_number', 'int8', (c) => c.notNull())
    .addColumn('block_time', 'timestamptz', (c) => c.notNull())
    .addColumn('tx_hash', 'text', (c) => c.notNull())
    .addColumn('log_index', 'integer', (c) => c.notNull())
    .addUniqueConstraint('registry_events_log', ['tx_hash', 'log_index'])
    .execute();
  await db.schema.createIndex('registry_events_subject').on('registry_events').columns(['subject', 'seq']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('registry_events').ifExists().execute();
  await db.schema
    .createIndex('messages_lane_delivered_at')
    .on('messages')
    .columns(['src_chain', 'dst_chain', 'delivered_at'])
    .where(sql.ref('delivered_at'), 'is not', null)
    .execute();
  await db.schema.dropIndex('messages_lane_delivered_cover').ifExists().execute();
  await db.schema.dropTable('lane_counts').ifExists().execute();
}
