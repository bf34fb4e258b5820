import { Migrator, type ColumnType, type Generated, type Kysely } from 'kysely';
import type { Logger } from 'pino';
import { QiaoError, ValidationError } from '../../errors.ts';
import { AUDIT_MIGRATION_LOCK_TABLE, AUDIT_MIGRATION_TABLE, auditMigrationProvider } from './migrations.ts';

/**
 * Who read: an API key (by its id, never its secret), the address that signed
 * the request, or nobody identified (allowed for public DID documents only).
 */
export type AuditCaller = { kind: 'api_key'; id: string } | { kind: 'address'; address: string } | { kind: 'anonymous' };

/** `identity`: a DID resolution; `attestation`: one credit record; `attestations`: a subject's credit records. */
export type AuditRecordKind = 'identity' | 'attestation' | 'attestations';

export const AUDIT_RECORD_KINDS: readonly AuditRecordKind[] = ['identity', 'attestation', 'attestations'];

export interface AuditRead {
  caller: AuditCaller;
  recordKind: AuditRecordKind;
  /** The DID or attestation uid asked for. */
  record: string;
  /** The DID whose data was read; its controller may list these entries. */
  subjectDid: string;
  /** Attestation uids the answer disclosed. */
  disclosed?: readonly string[];
  /** Why the caller reads; required for credit data. */
  purpose?: string | null;
}

export interface AuditEntry {
  id: string;
  at: Date;
  caller: AuditCaller;
  recordKind: AuditRecordKind;
  record: string;
  subjectDid: string;
  disclosed: string[];
  purpose: string | null;
}

export interface AuditPage {
  items: AuditEntry[];
  /** Pass as `before` for the next (older) page; null at the end. */
  nextCursor: string | null;
}

interface RegistryReadsTable {
  id: Generated<string>;
  at: ColumnType<Date, Date, never>;
  caller_kind: string;
  caller: string;
  record_kind: string;
  record: string;
  subject_did: string;
  disclosed: ColumnType<unknown, string, never>;
  purpose: string | null;
}

export interface AuditTables {
  registry_reads: RegistryReadsTable;
}

export interface AuditLogOptions {
  /** The schema the index uses (its migration bookkeeping goes there too). */
  schema?: string;
  now?: () => Date;
  logger?: Logger;
}

export const PURPOSE_MIN = 3;
export const PURPOSE_MAX = 200;
const MAX_PAGE = 500;
// Control characters would let a purpose forge lines in a printed log.
const PRINTABLE = /^[^\p{Cc}]+$/u;

/** Checks a stated purpose (3..200 printable characters, trimmed); `field` names where it came from. */
export function parsePurpose(v: unknown, field = 'purpose'): string {
  if (typeof v !== 'string') throw new ValidationError(field, 'must be a string');
  const p = v.trim();
  if (p.length < PURPOSE_MIN || p.length > PURPOSE_MAX) throw new ValidationError(field, `must be ${PURPOSE_MIN} to ${PURPOSE_MAX} characters`);
  if (!PRINTABLE.test(p)) throw new ValidationError(field, 'must not contain control characters');
  return p;
}

/**
 * Append-only log of registry reads through the hub's API: who, when, which
 * record, why. Entries are never updated; the only query is by subject, which
 * the API serves to the subject's controller alone.
 */
export class AuditLog {
  readonly #db: Kysely<AuditTables>;
  readonly #now: () => Date;

  private constructor(db: Kysely<AuditTables>, now: () => Date) {
    this.#db = db;
    this.#now = now;
  }

  /** Creates (or migrates) the audit table on `db`, the index's database. */
  static async open<DB>(db: Kysely<DB>, { schema, now = () => new Date(), logger }: AuditLogOptions = {}): Promise<AuditLog> {
    const log = logger?.child({ component: 'audit' });
    const migrator = new Migrator({
      db,
      provider: auditMigrationProvider,
      migrationTableName: AUDIT_MIGRATION_TABLE,
      migrationLockTableName: AUDIT_MIGRATION_LOCK_TABLE,
      ...(schema === undefined ? {} : { migrationTableSchema: schema }),
    });
    const { error, results } = await migrator.migrateToLatest();
    for (const r of results ?? []) log?.info({ migration: r.migrationName, status: r.status }, 'audit migration');
    if (error !== undefined) throw new QiaoError('audit_open_failed', 'cannot create the registry read audit log', { cause: error });
    return new AuditLog(db as unknown as Kysely<AuditTables>, now);
  }

  /** Writes one entry; the caller sends the answer only after this resolved (no unlogged read). */
  async record(read: AuditRead): Promise<AuditEntry> {
    const purpose = read.purpose === undefined || read.purpose === null ? null : parsePurpose(read.purpose);
    if (read.recordKind !== 'identity' && purpose === null) throw new ValidationError('purpose', 'is required to read credit data');
    if (read.recordKind !== 'identity' && read.caller.kind === 'anonymous') throw new ValidationError('caller', 'credit data is read by an identified caller only');
    if (!AUDIT_RECORD_KINDS.includes(read.recordKind)) throw new ValidationError('recordKind', `must be one of ${AUDIT_RECORD_KINDS.join(', ')}`);
    const caller = callerColumns(read.caller);
    const disclosed = [...(read.disclosed ?? [])];
    const at = this.#now();
    const row = await this.#db
      .insertInto('registry_reads')
      .values({
        at,
        caller_kind: caller.kind,
        caller: caller.value,
        record_kind: read.recordKind,
        record: read.record,
        subject_did: read.subjectDid,
        disclosed: JSON.stringify(disclosed),
        purpose,
      })
      .returning(['id', 'at'])
      .executeTakeFirstOrThrow();
    return { id: String(row.id), at: row.at, caller: read.caller, recordKind: read.recordKind, record: read.record, subjectDid: read.subjectDid, disclosed, purpose };
  }

  /** Entries about `subjectDid`, newest first. */
  async forSubject(subjectDid: string, { limit = 100, before }: { limit?: number; before?: string } = {}): Promise<AuditPage> {
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) throw new ValidationError('limit', `must be an integer in 1..${MAX_PAGE}`);
    if (before !== undefined && !/^[1-9][0-9]{0,18}$/.test(before)) throw new ValidationError('before', 'must be the nextCursor of a previous page');
    let q = this.#db.selectFrom('registry_reads').selectAll().where('subject_did', '=', subjectDid);
    if (before !== undefined) q = q.where('id', '<', before);
    const rows = await q.orderBy('id', 'desc').limit(limit + 1).execute();
    const items = rows.slice(0, limit).map(entryOf);
    return { items, nextCursor: rows.length > limit ? items[items.length - 1]!.id : null };
  }
}

function callerColumns(c: AuditCaller): { kind: string; value: string } {
  if (c.kind === 'anonymous') return { kind: 'anonymous', value: '' };
  if (c.kind === 'api_key') {
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(c.id)) throw new ValidationError('caller', 'an API key id must be 1..64 of [A-Za-z0-9._-]');
    return { kind: 'api_key', value: c.id };
  }
  if (!/^0x[0-9a-fA-F]{40}$/.test(c.address)) throw new ValidationError('caller', 'must be a 20-byte 0x address');
  return { kind: 'address', value: c.address.toLowerCase() };
}

function entryOf(r: { id: string; at: Date; caller_kind: string; caller: string; record_kind: string; record: string; subject_did: string; disclosed: unknown; purpose: string | null }): AuditEntry {
  const caller: AuditCaller =
    r.caller_kind === 'api_key' ? { kind: 'api_key', id: r.caller } : r.caller_kind === 'address' ? { kind: 'address', address: r.caller } : { kind: 'anonymous' };
  return {
    id: String(r.id),
    at: r.at,
    caller,
    recordKind: r.record_kind as AuditRecordKind,
    record: r.record,
    subjectDid: r.subject_did,
    disclosed: Array.isArray(r.disclosed) ? r.disclosed.map(String) : [],
    purpose: r.purpose,
  };
}
