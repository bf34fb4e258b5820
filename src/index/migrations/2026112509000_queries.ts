import { sql, type Kysely } from 'kysely';

/*
 * Indexes for the explorer's queries (issue 6) and `delivered_at`, the time a
 * message reached `delivered`, kept on the message so lane latency is one index
 * range per lane instead of a join over every transition.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('messages').addColumn('delivered_at', 'timestamptz').execute();
  // The first `delivered` transition of each message (a message is delivered at most once).
  await sql`
    UPDATE messages m SET delivered_at = d.at
    FROM (SELECT message_id, min(at) AS at FROM transitions WHERE status = 'delivered' GROUP BY message_id) d
    WHERE m.id = d.message_id`.execute(db);

  // lane=, and the /lanes count aggregate.
  await db.schema.createIndex('messages_lane_seq').on('messages').columns(['src_chain', 'dst_chain', 'seq']).execute();
  // account=: each side of the OR is an index range.
  await db.schema.createIndex('messages_src_sender_seq').on('messages').columns(['src_chain', 'sender', 'seq']).execute();
  await db.schema.createIndex('messages_dst_receiver_seq').on('messages').columns(['dst_chain', 'receiver', 'seq']).execute();
  // txHash=: both sides, partial since most destination hashes are null.
  await db.schema.createIndex('messages_src_tx_hash').on('messages').column('src_tx_hash').execute();
  await db.schema
    .createIndex('messages_dst_tx_hash')
    .on('messages')
    .column('dst_tx_hash')
    .where(sql.ref('dst_tx_hash'), 'is not', null)
    .execute();
  // since= / until=.
  await db.schema.createIndex('messages_created_at').on('messages').columns(['created_at', 'seq']).execute();
  // Lane latency: the last N deliveries of a lane, and deliveries in a time window.
  await db.schema
    .createIndex('messages_lane_delivered_at')
    .on('messages')
    .columns(['src_chain', 'dst_chain', 'delivered_at'])
    .where(sql.ref('delivered_at'), 'is not', null)
    .execute();
  // /lanes gap counts.
  await db.schema.createIndex('nonce_gaps_lane').on('nonce_gaps').columns(['src_chain', 'dst_chain']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const i of [
    'nonce_gaps_lane',
    'messages_lane_delivered_at',
    'messages_created_at',
    'messages_dst_tx_hash',
    'messages_src_tx_hash',
    'messages_dst_receiver_seq',
    'messages_src_sender_seq',
    'messages_lane_seq',
  ]) {
    await db.schema.dropIndex(i).ifExists().execute();
  }
  await db.schema.alterTable('messages').dropColumn('delivered_at').execute();
}
