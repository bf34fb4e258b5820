import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { asHex, type Hex } from '../../domain/hex.ts';
import { QiaoError, ValidationError } from '../../errors.ts';
import { printJson, printTable } from '../output.ts';
import { registryOptions, withRegistries, type RegistryCliOptions } from './identity-cmd.ts';
import { governLine, governView, schemaRef, timeArg } from './issuers-cmd.ts';

/*
 * `qiao credit schema-add|attest|revoke|dispute|answer|show`. Private data
 * never leaves this machine: `attest` sends only keccak256(salt || canonical
 * JSON of --data-file) and prints the salt for the issuer to keep.
 */

const collect = (v: string, prev: string[] = []) => [...prev, v];

/** Sorted-key JSON with no whitespace (RFC 8785 for the values JSON.parse yields). */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

function uidArg(v: string): Hex {
  if (!/^0x[0-9a-fA-F]{64}$/.test(v)) throw new ValidationError('uid', `"${v}" must be an attestation uid: 0x and 64 hex digits`);
  return v.toLowerCase() as Hex;
}

function secondsArg(v: string, field: string): bigint {
  if (!/^[0-9]{1,12}$/.test(v)) throw new ValidationError(field, `"${v}" must be a whole number of seconds`);
  return BigInt(v);
}

/** A text's keccak256, or a given 32-byte hash: exactly one of the two. */
async function hashArg(text: string | undefined, hash: string | undefined, name: string): Promise<Hex> {
  if (text !== undefined && hash !== undefined) throw new ValidationError(name, `give --${name} or --${name}-hash, not both`);
  if (hash !== undefined) return asHex(hash, `${name}-hash`, 32);
  if (text === undefined || text.length === 0) throw new ValidationError(name, `required: --${name} <text> (only its hash goes on chain) or --${name}-hash <0x…>`);
  // ethers loads here, not at registration: `qiao --help` stays fast.
  const { keccak256, toUtf8Bytes } = await import('ethers');
  return keccak256(toUtf8Bytes(text)) as Hex;
}

/** `--field name=value` values typed by the schema's public fields (bool as true/false, arrays and tuples as JSON). */
async function publicValues(fields: string[], publicFields: readonly string[]): Promise<Record<string, unknown>> {
  const { parsePublicFields } = await import('../../registries/public-data.ts');
  const params = new Map(parsePublicFields(publicFields).map((p) => [p.name, p]));
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    const i = f.indexOf('=');
    if (i <= 0) throw new ValidationError('field', `"${f}" must be name=value`);
    const name = f.slice(0, i);
    const raw = f.slice(i + 1);
    const p = params.get(name);
    if (!p) throw new ValidationError(`field.${name}`, `is not a public field of the schema (public: ${publicFields.join(', ') || 'none'})`);
    if (Object.hasOwn(out, name)) throw new ValidationError(`field.${name}`, 'given twice');
    if (p.baseType === 'bool') {
      if (raw !== 'true' && raw !== 'false') throw new ValidationError(`field.${name}`, 'must be true or false');
      out[name] = raw === 'true';
    } else if (p.baseType === 'array' || p.baseType === 'tuple') {
      try {
        out[name] = JSON.parse(raw) as unknown;
      } catch (cause) {
        throw new ValidationError(`field.${name}`, `a ${p.type} is given as JSON`, { cause });
      }
    } else {
      out[name] = raw;
    }
  }
  return out;
}

type Opts = RegistryCliOptions & Record<string, string | string[] | boolean | undefined>;

export function registerCredit(program: Command): void {
  const credit = program.command('credit').description('credit schemas and attestations: issue, revoke, dispute, answer, show');

  registryOptions(
    credit
      .command('schema-add <name>')
      .description('register a credit schema (governance: your key, or the hub governor key through the council)')
      .option('--field <"type name">', 'a public field, e.g. "string grade" (repeatable)', collect)
      .option('--not-revocable', 'attestations of this schema cannot be revoked by their issuer')
      .option('--negative', 'negative records (e.g. defaults): they expire after --retention without anyone acting')
      .option('--retention <seconds>', 'retention limit of negative records', '0')
      .option('--dispute-window <seconds>', 'how long an issuer has to answer a dispute', String(30 * 86400)),
  ).action(async (name: string, o: Opts) => {
    const retentionSeconds = secondsArg(o.retention as string, 'retention');
    const disputeWindowSeconds = secondsArg(o.disputeWindow as string, 'dispute-window');
    await withRegistries(o, async (r) => {
      const { schemaId, result } = await r.registries.credit.registerSchema(await r.governance(), {
        name,
        publicFields: (o.field as string[] | undefined) ?? [],
        revocable: !o.notRevocable,
        negative: o.negative === true,
        retentionSeconds,
        disputeWindowSeconds,
      });
      if (o.json) return printJson({ schemaId, name, ...governView(result) });
      console.log(`schema ${name} = ${schemaId}: ${governLine(result)}`);
    });
  });

  registryOptions(
    credit
      .command('attest')
      .description("attest about a subject DID as an accredited issuer (signed by the issuer DID's controller)")
      .requiredOption('--schema <nameOrId>', 'the schema, by name or id')
      .requiredOption('--subject <did>', 'the subject DID (a pairwise DID: nothing that identifies a person)')
      .requiredOption('--issuer <did>', 'your issuer DID')
      .requiredOption('--data-file <file>', 'the private data as JSON: only keccak256(salt || canonical JSON) goes on chain')
      .option('--field <name=value>', 'a public field of the schema, e.g. grade=B (repeatable)', collect)
      .option('--salt <hex>', '32-byte salt (default: random; printed, keep it)')
      .option('--expires <time>', 'unix seconds or ISO-8601 time; never = no expiry', 'never')
      .option('--not-revocable', 'this attestation cannot be revoked'),
  ).action(async (o: Opts) => {
    const schemaId = await schemaRef(o.schema as string);
    const expiresAt = timeArg(o.expires as string, 'expires');
    const salt = o.salt === undefined ? undefined : asHex(o.salt, 'salt', 32);
    let data: unknown;
    try {
      data = JSON.parse(await readFile(o.dataFile as string, 'utf8')) as unknown;
    } catch (cause) {
      throw new ValidationError('data-file', `cannot read ${String(o.dataFile)} as JSON`, { cause });
    }
    const { commitPrivateData } = await import('../../registries/credit.ts');
    const committed = commitPrivateData(canonicalJson(data), salt);
    await withRegistries(o, async (r) => {
      const schema = await r.registries.credit.schema(schemaId);
      if (!schema) throw new ValidationError('schema', `no schema ${String(o.schema)} (${schemaId}) is registered`);
      const values = await publicValues((o.field as string[] | undefined) ?? [], schema.publicFields);
      const { uid, receipt } = await r.registries.credit.attest(await r.signer(), {
        schemaId,
        subjectDid: o.subject as string,
        issuerDid: o.issuer as string,
        dataCommitment: committed.commitment,
        expiresAt,
        ...(o.notRevocable ? { revocable: false } : {}),
        publicValues: values,
      });
      const view = { uid, schemaId, subjectDid: o.subject, issuerDid: o.issuer, dataCommitment: committed.commitment, salt: committed.salt, txHash: receipt.hash };
      if (o.json) return printJson(view);
      console.log(`attested ${uid} (tx ${receipt.hash})`);
      console.log(`data commitment ${committed.commitment}`);
      console.log(`salt ${committed.salt}  <- keep it with the data: it is needed to prove what was attested`);
    });
  });

  registryOptions(credit.command('revoke <uid>').description('revoke an attestation (signed by the issuer DID controller)')).action(async (u: string, o: Opts) => {
    const uid = uidArg(u);
    await withRegistries(o, async (r) => {
      const receipt = await r.registries.credit.revoke(await r.signer(), uid);
      if (o.json) return printJson({ uid, revoked: true, txHash: receipt.hash });
      console.log(`revoked ${uid} (tx ${receipt.hash})`);
    });
  });

  registryOptions(
    credit
      .command('dispute <uid>')
      .description('dispute an attestation about you (signed by the subject DID controller); the issuer must answer before the deadline')
      .option('--statement <text>', 'your statement (only its keccak256 goes on chain; keep the text)')
      .option('--statement-hash <hex>', 'or the 32-byte hash of a statement kept elsewhere'),
  ).action(async (u: string, o: Opts) => {
    const uid = uidArg(u);
    const statementHash = await hashArg(o.statement as string | undefined, o.statementHash as string | undefined, 'statement');
    await withRegistries(o, async (r) => {
      const receipt = await r.registries.credit.dispute(await r.signer(), uid, statementHash);
      const a = await r.registries.credit.get(uid);
      const deadline = a?.dispute?.deadline ?? null;
      if (o.json) return printJson({ uid, statementHash, deadline, txHash: receipt.hash });
      console.log(`disputed ${uid}; the issuer must answer by ${deadline === null ? '?' : new Date(Number(deadline) * 1000).toISOString()} (tx ${receipt.hash})`);
    });
  });

  registryOptions(
    credit
      .command('answer <uid>')
      .description('answer a dispute before its deadline (signed by the issuer DID controller)')
      .requiredOption('--outcome <outcome>', 'upheld (the record stands) | withdrawn (the record is revoked)')
      .option('--response <text>', 'your response (only its keccak256 goes on chain)')
      .option('--response-hash <hex>', 'or the 32-byte hash of a response kept elsewhere'),
  ).action(async (u: string, o: Opts) => {
    const uid = uidArg(u);
    const outcome = o.outcome as string;
    if (outcome !== 'upheld' && outcome !== 'withdrawn') throw new ValidationError('outcome', `"${outcome}" must be upheld or withdrawn`);
    const responseHash = await hashArg(o.response as string | undefined, o.responseHash as string | undefined, 'response');
    await withRegistries(o, async (r) => {
      const receipt = await r.registries.credit.answer(await r.signer(), uid, outcome, responseHash);
      if (o.json) return printJson({ uid, outcome, responseHash, txHash: receipt.hash });
      console.log(`answered ${uid}: ${outcome} (tx ${receipt.hash})`);
    });
  });

  registryOptions(credit.command('show <uid>').description('an attestation with its status and dispute, read from the governance chain'), { key: false }).action(
    async (u: string, o: Opts) => {
      const uid = uidArg(u);
      await withRegistries(o, async (r) => {
        const { attestationView } = await import('../../api/registries/views.ts');
        const block = await r.registries.block('latest');
        const a = await r.registries.credit.get(uid, block.number);
        if (!a) throw new QiaoError('not_found', `uid: no attestation ${uid}`, { data: { field: 'uid' } });
        const view = attestationView(a, await r.registries.credit.schema(a.schemaId, block.number));
        if (o.json) return printJson({ ...view, asOf: { blockNumber: block.number, timestamp: block.timestamp } });
        const t = (s: bigint) => (s === 0n ? '-' : new Date(Number(s) * 1000).toISOString());
        console.log(`uid:        ${view.uid}`);
        console.log(`schema:     ${view.schema ?? view.schemaId}`);
        console.log(`subject:    ${view.subjectDid}`);
        console.log(`issuer:     ${view.issuerDid}`);
        console.log(`status:     ${view.status}`);
        console.log(`issued:     ${t(view.issuedAt)}   valid until: ${t(view.validUntil)}   revoked: ${t(view.revokedAt)}`);
        console.log(`public:     ${view.public ? Object.entries(view.public).map(([k, v]) => `${k}=${String(v)}`).join(' ') : view.publicData}`);
        if (view.dispute) {
          printTable(
            [{ outcome: view.dispute.outcome, opened: t(view.dispute.openedAt), deadline: t(view.dispute.deadline), statement: view.dispute.statementHash, response: view.dispute.responseHash ?? '-' }],
            ['outcome', 'opened', 'deadline', 'statement', 'response'],
          );
        }
      });
    },
  );
}
