import { sql, type Kysely } from 'kysely';

/*
 * A stored proof is hex: MPT nodes, signatures, hashes. It does not compress, and PostgreSQL's default (pglz) tries
 * on every row over 2 KB before it gives up: on the ~6.7 KB proof of a verified EVM message that try was ~90 µs of
 * server CPU per message (insert of 8,192 proofs: 1,225 ms with pglz, 433 ms stored as is, same size on disk).
 * EXTERNAL keeps such values out of line, uncompressed. Batch id lists (1,024 random ids) are the same case.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE transitions ALTER COLUMN proof SET STORAGE EXTERNAL`.execute(db);
  await sql`ALTER TABLE batches ALTER COLUMN ids SET STORAGE EXTERNAL`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE transitions ALTER COLUMN proof SET STORAGE EXTENDED`.execute(db);
  await sql`ALTER TABLE batches ALTER COLUMN ids SET STORAGE EXTENDED`.execute(db);
}
