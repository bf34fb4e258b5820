import { sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';

/*
 * The read audit log lives in the index database but migrates on its own
 * (its own migration table), so it can be added to an existing index without
 * touching the index's migration list.
 */
async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('registry_reads')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    // 'api_key', 'address' (a signed request) or 'anonymous' (public DID documents only).
    .addColumn('caller_kind', 'text', (c) => c.notNull())
    // The API key's id (never its secret), the lowercase address that signed the request, or ''.
    .addColumn('caller', 'text', (c) => c.notNull())
    // 'identity', 'attestation' or 'attestations' (the list of one subject).
    .addColumn('record_kind', 'text', (c) => c.notNull())
    // The DID or attestation uid asked for.
    .addColumn('record', 'text', (c) => c.notNull())
    // The DID whose data was read: what the subject queries by.
    .addColumn('subject_did', 'text', (c) => c.notNull())
    // The attestation uids the answer disclosed (a list read discloses several).
    .addColumn('disclosed', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('purpose', 'text')
    .execute();
  await db.schema.createIndex('registry_reads_subject_id').on('registry_reads').columns(['subject_did', 'id']).execute();
}

async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('registry_reads').ifExists().execute();
}

const MIGRATIONS: Readonly<Record<string, Migration>> = {
  '2026112600000_registry_reads': { up, down },
};

export const auditMigrationProvider: MigrationProvider = {
  getMigrations: async () => ({ ...MIGRATIONS }),
};

/** Names of Kysely's bookkeeping tables for this log, apart from the index's own. */
export const AUDIT_MIGRATION_TABLE = 'qiao_audit_migration';
export const AUDIT_MIGRATION_LOCK_TABLE = 'qiao_audit_migration_lock';
