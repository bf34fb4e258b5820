import type { Command } from 'commander';
import type { Hex } from '../../domain/hex.ts';
import { ValidationError } from '../../errors.ts';
import type { GovernResult } from '../../governance/govern.ts';
import { printJson, printTable } from '../output.ts';
import { registryOptions, withRegistries, type RegistryCliOptions } from './identity-cmd.ts';

/** A schema given by id (0x + 64 hex) or by name (its id is keccak256 of the name). */
export async function schemaRef(v: string, field = 'schema'): Promise<Hex> {
  if (v.startsWith('0x')) {
    if (!/^0x[0-9a-fA-F]{64}$/.test(v)) throw new ValidationError(field, `"${v}" is not a schema id (0x + 64 hex); give the id or the schema name`);
    return v.toLowerCase() as Hex;
  }
  if (v.length === 0 || Buffer.byteLength(v) > 64) throw new ValidationError(field, 'a schema name is 1-64 bytes');
  const { schemaIdOf } = await import('../../registries/credit.ts');
  return schemaIdOf(v);
}

/** Unix seconds, or an ISO-8601 date/time; "0"/"never" = no expiry. */
export function timeArg(v: string, field: string): bigint {
  if (v === 'never' || v === '0') return 0n;
  if (/^[0-9]{1,12}$/.test(v)) return BigInt(v);
  const t = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?(?:Z|[+-]\d{2}:?\d{2}))?$/.test(v) ? Date.parse(v) : NaN;
  if (Number.isNaN(t)) throw new ValidationError(field, `"${v}" must be unix seconds or an ISO-8601 date/time with a zone, e.g. 2027-01-01T00:00:00Z`);
  return BigInt(Math.floor(t / 1000));
}

export function governView(r: GovernResult) {
  return { proposalId: r.proposalId, executed: r.executed, txHash: r.txHash };
}

export function governLine(r: GovernResult): string {
  if (r.proposalId === 0n) return `tx ${r.txHash}`;
  return r.executed ? `council proposal ${r.proposalId} executed, tx ${r.txHash}` : `council proposal ${r.proposalId} awaits approvals or its timelock (qiao governance)`;
}

function parseIssuer(v: string): string {
  if (!/^did:qiao:[a-zA-Z0-9._-]{1,64}$/.test(v)) throw new ValidationError('issuerDid', `"${v}" must be did:qiao:<id>`);
  return v;
}

const ACCREDITATION_STATUSES = ['active', 'revoked', 'expired'];

export function registerIssuers(program: Command): void {
  const issuers = program.command('issuers').description('trusted issuers: accreditations of issuer DIDs per credit schema (governance)');

  registryOptions(
    issuers
      .command('accredit <issuerDid>')
      .description('accredit an issuer DID for a schema (governance: your key, or the hub governor key through the council)')
      .requiredOption('--schema <nameOrId>', 'the schema, by name or id')
      .option('--expires <time>', 'unix seconds or ISO-8601 time; never = no expiry', 'never'),
  ).action(async (did: string, o: RegistryCliOptions & { schema: string; expires: string }) => {
    const issuerDid = parseIssuer(did);
    const schemaId = await schemaRef(o.schema);
    const expiresAt = timeArg(o.expires, 'expires');
    await withRegistries(o, async (r) => {
      if (!(await r.registries.credit.schema(schemaId))) throw new ValidationError('schema', `no schema ${o.schema} (${schemaId}) is registered: qiao credit schema-add`);
      const res = await r.registries.issuers.accredit(await r.governance(), issuerDid, schemaId, expiresAt);
      if (o.json) return printJson({ issuerDid, schemaId, expiresAt, ...governView(res) });
      console.log(`accredit ${issuerDid} for ${o.schema} until ${expiresAt === 0n ? 'no expiry' : new Date(Number(expiresAt) * 1000).toISOString()}: ${governLine(res)}`);
    });
  });

  registryOptions(
    issuers
      .command('revoke <issuerDid>')
      .description("revoke an issuer's accreditation for a schema (later attestations fail, earlier ones are flagged)")
      .requiredOption('--schema <nameOrId>', 'the schema, by name or id'),
  ).action(async (did: string, o: RegistryCliOptions & { schema: string }) => {
    const issuerDid = parseIssuer(did);
    const schemaId = await schemaRef(o.schema);
    await withRegistries(o, async (r) => {
      const res = await r.registries.issuers.revoke(await r.governance(), issuerDid, schemaId);
      if (o.json) return printJson({ issuerDid, schemaId, ...governView(res) });
      console.log(`revoke ${issuerDid} for ${o.schema}: ${governLine(res)}`);
    });
  });

  registryOptions(
    issuers
      .command('list')
      .description('accreditations with their status now')
      .option('--schema <nameOrId>', 'only this schema')
      .option('--issuer <did>', 'only this issuer')
      .option('--status <status>', ACCREDITATION_STATUSES.join('|')),
    { key: false },
  ).action(async (o: RegistryCliOptions & { schema?: string; issuer?: string; status?: string }) => {
    const schemaId = o.schema === undefined ? undefined : await schemaRef(o.schema);
    const issuer = o.issuer === undefined ? undefined : parseIssuer(o.issuer);
    if (o.status !== undefined && !ACCREDITATION_STATUSES.includes(o.status)) throw new ValidationError('status', `must be one of ${ACCREDITATION_STATUSES.join(', ')}`);
    await withRegistries(o, async (r) => {
      const block = await r.registries.block('latest');
      const [all, schemas] = await Promise.all([r.registries.listAccreditations(block.number), r.registries.credit.schemas(block.number)]);
      const names = new Map(schemas.map((s) => [s.schemaId, s.name]));
      const items = all
        .filter((a) => (schemaId === undefined || a.schemaId === schemaId) && (issuer === undefined || a.issuerDid === issuer) && (o.status === undefined || a.status === o.status))
        .map((a) => ({ ...a, schema: names.get(a.schemaId) ?? null }));
      if (o.json) return printJson(items);
      printTable(
        items.map((a) => ({
          issuer: a.issuerDid,
          schema: a.schema ?? a.schemaId,
          status: a.status,
          since: new Date(Number(a.since) * 1000).toISOString(),
          expires: a.expiresAt === 0n ? 'never' : new Date(Number(a.expiresAt) * 1000).toISOString(),
        })),
        ['issuer', 'schema', 'status', 'since', 'expires'],
      );
    });
  });
}
