export { AuditLog, parsePurpose, PURPOSE_MAX, PURPOSE_MIN, AUDIT_RECORD_KINDS } from './store.ts';
export type { AuditCaller, AuditEntry, AuditPage, AuditRead, AuditRecordKind, AuditLogOptions, AuditTables } from './store.ts';
