import { PGlite, types } from '@electric-sql/pglite';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.ts';
import { AuditLog } from '../../src/index/audit/store.ts';
import { pgliteDialect } from '../../src/index/pglite-dialect.ts';
import { createTestDatabase } from '../helpers/services.ts';

const SUBJECT = 'did:qiao:subject-1';
const OTHER = 'did:qiao:subject-2';
const UID = `0x${'ab'.repeat(32)}`;
const READER = `0x${'11'.repeat(20)}`;

function fieldOf(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => {
      throw new Error('expected a ValidationError');
    },
    (e: unknown) => {
      expect(e).toBeInstanceOf(ValidationError);
      return (e as ValidationError).field;
    },
  );
}

/** The same rules on both backends the index runs on. */
function suite(name: string, open: () => Promise<{ db: Kysely<unknown>; schema?: string; close(): Promise<void> }>) {
  describe(`audit log on ${name}`, () => {
    let audit: AuditLog;
    let close: () => Promise<void>;
    let db: Kysely<unknown>;
    let schema: string | undefined;
    let clock = new Date('2026-11-25T10:00:00Z');

    beforeAll(async () => {
      ({ db, schema, close } = await open());
      audit = await AuditLog.open(db, { ...(schema ? { schema } : {}), now: () => clock });
      // Opening again on the same database is a no-op (its own migration table records the version).
      await AuditLog.open(db, schema ? { schema } : {});
    });
    afterAll(async () => close?.());

    it('records who, when, which record and why; lists a subject newest first, paged', async () => {
      const first = await audit.record({ caller: { kind: 'address', address: READER.toUpperCase().replace('0X', '0x') }, recordKind: 'attestation', record: UID, subjectDid: SUBJECT, disclosed: [UID], purpose: '  loan application  ' });
      expect(first).toMatchObject({ caller: { kind: 'address' }, purpose: 'loan application', at: clock });
      clock = new Date('2026-11-25T10:05:00Z');
      await audit.record({ caller: { kind: 'api_key', id: 'bank-a' }, recordKind: 'attestations', record: SUBJECT, subjectDid: SUBJECT, disclosed: [UID], purpose: 'KYC refresh' });
      await audit.record({ caller: { kind: 'anonymous' }, recordKind: 'identity', record: SUBJECT, subjectDid: SUBJECT });
      await audit.record({ caller: { kind: 'api_key', id: 'bank-a' }, recordKind: 'identity', record: OTHER, subjectDid: OTHER });

      const all = await audit.forSubject(SUBJECT);
      expect(all.nextCursor).toBeNull();
      expect(all.items.map((e) => [e.recordKind, e.caller, e.purpose])).toEqual([
        ['identity', { kind: 'anonymous' }, null],
        ['attestations', { kind: 'api_key', id: 'bank-a' }, 'KYC refresh'],
        ['attestation', { kind: 'address', address: READER }, 'loan application'],
      ]);
      expect(all.items[2]!.at.toISOString()).toBe('2026-11-25T10:00:00.000Z');
      expect(all.items[2]!.disclosed).toEqual([UID]);

      const p1 = await audit.forSubject(SUBJECT, { limit: 2 });
      expect(p1.items).toHaveLength(2);
      const p2 = await audit.forSubject(SUBJECT, { limit: 2, before: p1.nextCursor! });
      expect(p2.items.map((e) => e.recordKind)).toEqual(['attestation']);
      expect(p2.nextCursor).toBeNull();
      expect((await audit.forSubject(OTHER)).items).toHaveLength(1);
    });

    it('refuses credit reads without a purpose or by an anonymous caller, and bad input, naming the field', async () => {
      expect(await fieldOf(audit.record({ caller: { kind: 'api_key', id: 'k' }, recordKind: 'attestation', record: UID, subjectDid: SUBJECT }))).toBe('purpose');
      expect(await fieldOf(audit.record({ caller: { kind: 'api_key', id: 'k' }, recordKind: 'attestation', record: UID, subjectDid: SUBJECT, purpose: 'ab' }))).toBe('purpose');
      expect(await fieldOf(audit.record({ caller: { kind: 'api_key', id: 'k' }, recordKind: 'attestation', record: UID, subjectDid: SUBJECT, purpose: 'x'.repeat(201) }))).toBe('purpose');
      expect(await fieldOf(audit.record({ caller: { kind: 'api_key', id: 'k' }, recordKind: 'attestation', record: UID, subjectDid: SUBJECT, purpose: 'two\nlines' }))).toBe('purpose');
      expect(await fieldOf(audit.record({ caller: { kind: 'anonymous' }, recordKind: 'attestations', record: SUBJECT, subjectDid: SUBJECT, purpose: 'curious' }))).toBe('caller');
      expect(await fieldOf(audit.record({ caller: { kind: 'address', address: '0x12' }, recordKind: 'identity', record: SUBJECT, subjectDid: SUBJECT }))).toBe('caller');
      expect(await fieldOf(audit.forSubject(SUBJECT, { limit: 0 }))).toBe('limit');
      expect(await fieldOf(audit.forSubject(SUBJECT, { before: 'abc' }))).toBe('before');
      // Nothing of the refused reads was written.
      expect((await audit.forSubject(SUBJECT)).items).toHaveLength(3);
    });
  });
}

suite('PGlite', async () => {
  const client = await PGlite.create({ parsers: { [types.INT8]: (v: string) => v } });
  const db = new Kysely<unknown>({ dialect: pgliteDialect(client) });
  return { db, close: () => db.destroy() };
});

suite('PostgreSQL (own schema)', async () => {
  const database = await createTestDatabase();
  const schema = 'qiao_idx';
  const admin = new pg.Client({ connectionString: database.url });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.end();
  const pool = new pg.Pool({ connectionString: database.url, max: 2, options: `-c search_path=${schema}` });
  const db = new Kysely<unknown>({ dialect: new PostgresDialect({ pool }) });
  return {
    db,
    schema,
    close: async () => {
      await db.destroy();
      await database.drop();
    },
  };
});
