import { sql, type Kysely } from 'kysely';

/*
 * checkpoints.fence: the fencing token of the watcher lease that last moved a
 * chain's checkpoint. A watcher whose lease was taken over (a paused process
 * that missed its renewals) still holds an older token, so its write
 * (`WHERE fence <= $token`) changes nothing. Existing rows start at 0, below
 * every token.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE checkpoints ADD COLUMN fence int8 NOT NULL DEFAULT 0`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE checkpoints DROP COLUMN fence`.execute(db);
}
