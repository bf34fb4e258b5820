import { mkdir } from 'node:fs/promises';
import { PGlite, types } from '@electric-sql/pglite';
import { Kysely, Migrator, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Logger } from 'pino';
import { QiaoError, redactUrl, ValidationError } from '../errors.ts';
import { KyselyIndex } from './kysely-index.ts';
import { staticMigrationProvider } from './migrations/index.ts';
import { pgliteDialect } from './pglite-dialect.ts';
import type { IndexDatabase } from './schema.ts';

export interface OpenIndexOptions {
  /** A PostgreSQL server; without it the index is embedded PGlite. */
  databaseUrl?: string;
  /** PGlite's data folder; omitted = in memory (tests). Ignored with `databaseUrl`. */
  dataDir?: string;
  /** Schema for every table (created if missing); default: the connection's search_path. */
  schema?: string;
  /** PostgreSQL pool size. */
  poolSize?: number;
  logger?: Logger;
}

const SCHEMA = /^[a-z_][a-z0-9_]{0,62}$/;

/** Opens (and migrates to the latest schema) the message index on PGlite or PostgreSQL. */
export async function openIndex({ databaseUrl, dataDir, schema, poolSize = 10, logger }: OpenIndexOptions = {}): Promise<KyselyIndex> {
  if (schema !== undefined && !SCHEMA.test(schema)) {
    throw new ValidationError('schema', 'must be a lowercase SQL identifier ([a-z_][a-z0-9_]*, at most 63 characters)');
  }
  if (databaseUrl !== undefined && (typeof databaseUrl !== 'string' || databaseUrl.length === 0)) {
    throw new ValidationError('databaseUrl', 'must be a postgres:// URL');
  }
  const log = logger?.child({ component: 'index' });
  const backend = databaseUrl === undefined ? 'pglite' : 'postgres';
  const where = databaseUrl === undefined ? (dataDir ?? 'memory') : redactUrl(databaseUrl);

  let db: Kysely<IndexDatabase>;
  try {
    db = databaseUrl === undefined ? await openPglite(dataDir, schema) : openPostgres(databaseUrl, schema, poolSize, log);
  } catch (cause) {
    throw new QiaoError('index_open_failed', `cannot open the message index (${backend} at ${where})`, { cause, data: { backend } });
  }

  try {
    const migrator = new Migrator({
      db,
      provider: staticMigrationProvider,
      ...(schema === undefined ? {} : { migrationTableSchema: schema }),
    });
    const { error, results } = await migrator.migrateToLatest();
    for (const r of results ?? []) log?.info({ migration: r.migrationName, status: r.status }, 'index migration');
    if (error !== undefined) throw error;
  } catch (cause) {
    await db.destroy().catch(() => undefined);
    throw new QiaoError('index_open_failed', `cannot migrate the message index (${backend} at ${where})`, { cause, data: { backend } });
  }
  log?.info({ backend, at: where, schema }, 'message index open');
  return new KyselyIndex({ db, backend, logger: log });
}

async function openPglite(dataDir: string | undefined, schema: string | undefined): Promise<Kysely<IndexDatabase>> {
  if (dataDir !== undefined) await mkdir(dataDir, { recursive: true });
  const client = await PGlite.create({
    ...(dataDir === undefined ? {} : { dataDir }),
    // int8 stays a decimal string, as node-postgres returns it: never through a JS number.
    parsers: { [types.INT8]: (v: string) => v },
  });
  if (schema !== undefined) {
    // One session for the life of the client, so the search_path set here holds for every query.
    await client.exec(`CREATE SCHEMA IF NOT EXISTS "${schema}"; SET search_path TO "${schema}"`);
  }
  return new Kysely<IndexDatabase>({ dialect: pgliteDialect(client) });
}

function openPostgres(databaseUrl: string, schema: string | undefined, poolSize: number, log: Logger | undefined): Kysely<IndexDatabase> {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: poolSize,
    // search_path per connection: every pooled session sees the same schema.
    ...(schema === undefined ? {} : { options: `-c search_path=${schema}` }),
  });
  // An idle client dying (server restart) must not crash the process; the next query reconnects.
  pool.on('error', (err) => log?.warn({ err }, 'idle PostgreSQL connection failed'));
  return new Kysely<IndexDatabase>({ dialect: new PostgresDialect({ pool }) });
}
