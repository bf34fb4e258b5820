import { sql, type Kysely } from 'kysely';

/*
 * misbehaviour_evidence: two validly sealed conflicting headers of a BFT member
 * chain (its validators signed two blocks at one height), kept as served so
 * they can be re-verified and shown to governance; frozen_tx is the emergency
 * freeze the relayer sent. One row per (chain, height): a restarted relayer
 * that finds the same conflict again adds nothing.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('misbehaviour_evidence')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('chain_id', 'text', (c) => c.notNull())
    .addColumn('height', 'int8', (c) => c.notNull())
    .addColumn('evidence', 'jsonb', (c) => c.notNull())
    .addColumn('detected_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('frozen_tx', 'text')
    .addUniqueConstraint('misbehaviour_evidence_height', ['chain_id', 'height'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('misbehaviour_evidence').ifExists().execute();
}
