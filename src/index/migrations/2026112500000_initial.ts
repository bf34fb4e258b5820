import { sql, type Kysely } from 'kysely';

// uint64 values (nonces, attestor set ids) can exceed PostgreSQL's signed bigint, so they are numeric(20,0).
const U64 = sql`numeric(20,0)`;

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('chains')
    .addColumn('chain_id', 'text', (c) => c.primaryKey())
    .addColumn('family', 'text', (c) => c.notNull())
    .addColumn('genesis_hash', 'text', (c) => c.notNull())
    .addColumn('port', 'text', (c) => c.notNull())
    .addColumn('light_client', 'text', (c) => c.notNull())
    .addColumn('trust_root', 'text', (c) => c.notNull())
    .addColumn('finality', 'jsonb', (c) => c.notNull())
    .addColumn('endpoints', 'jsonb', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('messages')
    .addColumn('seq', 'bigserial', (c) => c.notNull().unique())
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('encoded', 'text', (c) => c.notNull())
    .addColumn('message', 'jsonb', (c) => c.notNull())
    .addColumn('src_chain', 'text', (c) => c.notNull())
    .addColumn('dst_chain', 'text', (c) => c.notNull())
    .addColumn('src_port', 'text', (c) => c.notNull())
    .addColumn('dst_port', 'text', (c) => c.notNull())
    .addColumn('sender', 'text', (c) => c.notNull())
    .addColumn('receiver', 'text', (c) => c.notNull())
    .addColumn('nonce', U64, (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('reason', 'text')
    .addColumn('src_tx_hash', 'text')
    .addColumn('src_height', 'bigint')
    .addColumn('src_block_hash', 'text')
    .addColumn('src_log_index', 'integer')
    .addColumn('dst_tx_hash', 'text')
    .addColumn('batch_no', 'bigint')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  // One index per listMessages filter, each ending in seq so a page is an index range scan.
  for (const col of ['status', 'src_chain', 'dst_chain', 'sender', 'receiver'] as const) {
    await db.schema.createIndex(`messages_${col}_seq`).on('messages').columns([col, 'seq']).execute();
  }
  // messagesByStatus: the pipeline's "verified and not yet in a batch, for this destination".
  await db.schema.createIndex('messages_status_dst_seq').on('messages').columns(['status', 'dst_chain', 'seq']).execute();
  await db.schema
    .createIndex('messages_unbatched_status_seq')
    .on('messages')
    .columns(['status', 'seq'])
    .where(sql.ref('batch_no'), 'is', null)
    .execute();
  await db.schema.createIndex('messages_batch_no').on('messages').column('batch_no').execute();

  await db.schema
    .createTable('transitions')
    .addColumn('seq', 'bigserial', (c) => c.primaryKey())
    .addColumn('message_id', 'text', (c) => c.notNull().references('messages.id').onDelete('cascade'))
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('chain', 'text')
    .addColumn('height', 'bigint')
    .addColumn('tx_hash', 'text')
    .addColumn('reason', 'text')
    .addColumn('proof', 'jsonb')
    .execute();
  await db.schema.createIndex('transitions_message_seq').on('transitions').columns(['message_id', 'seq']).execute();

  await db.schema
    .createTable('batches')
    .addColumn('batch_no', 'bigint', (c) => c.primaryKey())
    .addColumn('root', 'text', (c) => c.notNull())
    .addColumn('ids', 'jsonb', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('gov_tx_hash', 'text')
    .addColumn('gov_height', 'bigint')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('batches_status_no').on('batches').columns(['status', 'batch_no']).execute();

  await db.schema
    .createTable('attestations')
    .addColumn('batch_no', 'bigint', (c) => c.notNull())
    .addColumn('root_type', 'integer', (c) => c.notNull())
    .addColumn('set_id', U64, (c) => c.notNull())
    .addColumn('attestor', 'text', (c) => c.notNull())
    .addColumn('signature', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('attestations_root_type_batch_attestor', ['root_type', 'batch_no', 'attestor'])
    .execute();
  await db.schema.createIndex('attestations_batch').on('attestations').columns(['batch_no', 'root_type']).execute();

  await db.schema
    .createTable('checkpoints')
    .addColumn('chain_id', 'text', (c) => c.primaryKey())
    .addColumn('height', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('lane_nonces')
    .addColumn('src_chain', 'text', (c) => c.notNull())
    .addColumn('src_port', 'text', (c) => c.notNull())
    .addColumn('dst_chain', 'text', (c) => c.notNull())
    .addColumn('last_nonce', U64, (c) => c.notNull().defaultTo(0))
    .addColumn('seen_above', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('lane_nonces_pk', ['src_chain', 'src_port', 'dst_chain'])
    .execute();

  await db.schema
    .createTable('nonce_gaps')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('src_chain', 'text', (c) => c.notNull())
    .addColumn('src_port', 'text', (c) => c.notNull())
    .addColumn('dst_chain', 'text', (c) => c.notNull())
    .addColumn('expected', U64, (c) => c.notNull())
    .addColumn('seen', U64, (c) => c.notNull())
    .addColumn('detected_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    // Each missing range is reported once (see lanes.ts), so its first nonce identifies it.
    .addUniqueConstraint('nonce_gaps_lane_expected', ['src_chain', 'src_port', 'dst_chain', 'expected'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ['nonce_gaps', 'lane_nonces', 'checkpoints', 'attestations', 'batches', 'transitions', 'messages', 'chains']) {
    await db.schema.dropTable(t).ifExists().execute();
  }
}
