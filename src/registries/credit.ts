import { randomBytes } from 'node:crypto';
import { Contract, Interface, concat, hexlify, keccak256, toUtf8Bytes, type JsonRpcProvider, type TransactionReceipt } from 'ethers';
import { asHex, type Hex } from '../domain/hex.ts';
import { ValidationError } from '../errors.ts';
import type { TxSender } from '../evm/signer.ts';
import type { GovernPath, GovernResult } from '../governance/govern.ts';
import type { CompiledContract } from '../governance/solc.ts';
import { parseDid } from './did.ts';
import { checkPublicData, encodePublicData, parsePublicFields } from './public-data.ts';
import {
  ATTESTATION_STATUSES,
  DISPUTE_OUTCOMES,
  type AttestationStatus,
  type CreditAttestation,
  type RegistryBlockTag,
  type Schema,
} from './types.ts';
import { validateBytes32, validateSeconds } from './validate.ts';
import { ContractWriter } from './write.ts';

export interface SchemaInput {
  name: string;
  publicFields: string[];
  revocable: boolean;
  /** A negative record (e.g. a default) ends `retentionSeconds` after issuance without anyone acting. */
  negative: boolean;
  retentionSeconds: bigint | number;
  disputeWindowSeconds: bigint | number;
}

export interface AttestInput {
  schemaId: Hex;
  subjectDid: string;
  issuerDid: string;
  /** A salted hash of the private data (see commitPrivateData); the data itself never goes on chain. */
  dataCommitment: Hex;
  /** Unix seconds; 0 / omitted = no expiry. */
  expiresAt?: bigint | number;
  /** Default: the schema's revocable flag. */
  revocable?: boolean;
  /** Either the encoded public fields, or their values by name. */
  publicData?: Hex;
  publicValues?: Record<string, unknown>;
}

export type DisputeAnswer = 'upheld' | 'withdrawn';

/** schemaId = keccak256(bytes(name)), as CreditRegistry computes it. */
export function schemaIdOf(name: string): Hex {
  return keccak256(toUtf8Bytes(name)) as Hex;
}

/**
 * A salted commitment to private data: keccak256(salt || data). The issuer keeps
 * the salt and data off chain; without the salt, a guess of the data cannot be checked.
 */
export function commitPrivateData(data: string | Uint8Array, salt: Hex = hexlify(randomBytes(32)) as Hex): { commitment: Hex; salt: Hex } {
  const s = asHex(salt, 'salt', 32);
  const bytes = typeof data === 'string' ? toUtf8Bytes(data) : data;
  return { commitment: keccak256(concat([s, bytes])) as Hex, salt: s };
}

type SchemaTuple = {
  name: string;
  publicFields: string[];
  revocable: boolean;
  negative: boolean;
  retentionSeconds: bigint;
  disputeWindowSeconds: bigint;
  registeredAt: bigint;
};
type DisputeTuple = { statementHash: string; openedAt: bigint; deadline: bigint; outcome: bigint; responseHash: string; closedAt: bigint };
type AttestationTuple = {
  uid: string;
  schemaId: string;
  subjectDid: string;
  subjectDidHash: string;
  issuerDid: string;
  issuerDidHash: string;
  dataCommitment: string;
  issuedAt: bigint;
  expiresAt: bigint;
  revocable: boolean;
  revokedAt: bigint;
  publicData: string;
  dispute: DisputeTuple;
};

const lower = (h: string) => h.toLowerCase() as Hex;
const ZERO32 = /^0x0{64}$/;

/** CreditRegistry: schemas (governance), attestations (accredited issuers), disputes (subjects). */
export class CreditClient {
  readonly contract: Contract;
  readonly iface: Interface;
  readonly writer: ContractWriter;

  constructor(
    readonly provider: JsonRpcProvider,
    readonly address: string,
    artifact: CompiledContract,
  ) {
    this.iface = new Interface(artifact.abi as never);
    this.contract = new Contract(address, this.iface, provider);
    this.writer = new ContractWriter(provider, address, this.iface);
  }

  // ------------------------------------------------------------- governance

  async registerSchema(gov: GovernPath, input: SchemaInput): Promise<{ schemaId: Hex; result: GovernResult }> {
    const { name } = input;
    if (typeof name !== 'string' || name.length === 0 || toUtf8Bytes(name).length > 64) throw new ValidationError('name', 'must be 1-64 bytes');
    parsePublicFields(input.publicFields);
    if (typeof input.revocable !== 'boolean') throw new ValidationError('revocable', 'must be true or false');
    if (typeof input.negative !== 'boolean') throw new ValidationError('negative', 'must be true or false');
    const retention = validateSeconds(input.retentionSeconds, 'retentionSeconds');
    const window = validateSeconds(input.disputeWindowSeconds, 'disputeWindowSeconds');
    if (input.negative && retention === 0n) throw new ValidationError('retentionSeconds', 'a negative schema needs a retention limit');
    if (window === 0n) throw new ValidationError('disputeWindowSeconds', 'must be at least 1 second: subjects must be able to dispute');
    const result = await this.writer.govern(
      gov,
      'registerSchema',
      [name, input.publicFields, input.revocable, input.negative, retention, window],
      `register credit schema ${name}`,
    );
    return { schemaId: schemaIdOf(name), result };
  }

  // ----------------------------------------------------------------- issuer

  /** Checks the public data against the schema's fields before sending; returns the new uid. */
  async attest(sender: TxSender, input: AttestInput): Promise<{ uid: Hex; receipt: TransactionReceipt }> {
    const schemaId = validateBytes32(input.schemaId, 'schemaId');
    const subjectDid = parseDid(input.subjectDid, 'subjectDid');
    const issuerDid = parseDid(input.issuerDid, 'issuerDid');
    const commitment = validateBytes32(input.dataCommitment, 'dataCommitment', { nonZero: true });
    const expiresAt = validateSeconds(input.expiresAt ?? 0n, 'expiresAt');
    const schema = await this.schema(schemaId);
    if (!schema) throw new ValidationError('schemaId', `no schema ${schemaId} is registered`);
    if (input.publicData !== undefined && input.publicValues !== undefined) throw new ValidationError('publicData', 'give publicData or publicValues, not both');
    const publicData =
      input.publicValues !== undefined
        ? encodePublicData(schema, input.publicValues)
        : input.publicData !== undefined
          ? checkPublicData(schema, input.publicData)
          : schema.publicFields.length === 0
            ? ('0x' as Hex)
            : (() => {
                throw new ValidationError('publicData', `the schema needs ${schema.publicFields.join(', ')}`);
              })();
    const revocable = input.revocable ?? schema.revocable;
    if (revocable && !schema.revocable) throw new ValidationError('revocable', `schema ${schema.name} is not revocable`);
    const receipt = await this.writer.send(sender, 'attest', [schemaId, subjectDid, issuerDid, commitment, expiresAt, revocable, publicData]);
    const ev = this.writer.events(receipt, 'Attested')[0];
    if (!ev) throw new ValidationError('receipt', `attest transaction ${receipt.hash} has no Attested event`);
    return { uid: lower(ev.args[0] as string), receipt };
  }

  async revoke(sender: TxSender, uid: Hex): Promise<TransactionReceipt> {
    return this.writer.send(sender, 'revoke', [validateBytes32(uid, 'uid')]);
  }

  /** The issuer's answer to an open dispute, before its deadline. */
  async answer(sender: TxSender, uid: Hex, outcome: DisputeAnswer, responseHash: Hex): Promise<TransactionReceipt> {
    const code = outcome === 'upheld' ? 1 : outcome === 'withdrawn' ? 2 : 0;
    if (code === 0) throw new ValidationError('outcome', 'must be upheld or withdrawn');
    return this.writer.send(sender, 'answer', [validateBytes32(uid, 'uid'), code, validateBytes32(responseHash, 'responseHash')]);
  }

  // ---------------------------------------------------------------- subject

  async dispute(sender: TxSender, uid: Hex, statementHash: Hex): Promise<TransactionReceipt> {
    return this.writer.send(sender, 'dispute', [validateBytes32(uid, 'uid'), validateBytes32(statementHash, 'statementHash', { nonZero: true })]);
  }

  /** Anyone: records a dispute left unanswered past its deadline as lapsed. */
  async closeDispute(sender: TxSender, uid: Hex): Promise<TransactionReceipt> {
    return this.writer.send(sender, 'closeDispute', [validateBytes32(uid, 'uid')]);
  }

  // ------------------------------------------------------------------ reads

  async schema(schemaId: Hex, blockTag?: RegistryBlockTag): Promise<Schema | null> {
    const id = validateBytes32(schemaId, 'schemaId');
    const s = (await this.contract.getFunction('schema')(id, { blockTag: blockTag ?? 'latest' })) as SchemaTuple;
    if (s.registeredAt === 0n) return null;
    return {
      schemaId: id,
      name: s.name,
      publicFields: [...s.publicFields],
      revocable: s.revocable,
      negative: s.negative,
      retentionSeconds: s.retentionSeconds,
      disputeWindowSeconds: s.disputeWindowSeconds,
      registeredAt: s.registeredAt,
    };
  }

  async schemas(blockTag: bigint | number): Promise<Schema[]> {
    const n = Number((await this.contract.getFunction('schemaCount')({ blockTag })) as bigint);
    const ids = await Promise.all(Array.from({ length: n }, async (_, i) => lower((await this.contract.getFunction('schemaAt')(i, { blockTag })) as string)));
    return (await Promise.all(ids.map((id) => this.schema(id, blockTag)))).filter((s): s is Schema => s !== null);
  }

  /** The record and its state at the block; null for an unknown uid. */
  async get(uid: Hex, blockTag?: RegistryBlockTag): Promise<CreditAttestation | null> {
    const [a, status, outcome, validUntil] = (await this.contract.getFunction('inspect')(validateBytes32(uid, 'uid'), { blockTag: blockTag ?? 'latest' })) as [
      AttestationTuple,
      bigint,
      bigint,
      bigint,
    ];
    if (a.issuedAt === 0n) return null;
    const d = a.dispute;
    const outcomeName = DISPUTE_OUTCOMES[Number(outcome)] ?? 'open';
    return {
      uid: lower(a.uid),
      schemaId: lower(a.schemaId),
      subjectDid: a.subjectDid,
      subjectDidHash: lower(a.subjectDidHash),
      issuerDid: a.issuerDid,
      issuerDidHash: lower(a.issuerDidHash),
      dataCommitment: lower(a.dataCommitment),
      issuedAt: a.issuedAt,
      expiresAt: a.expiresAt,
      revocable: a.revocable,
      revokedAt: a.revokedAt,
      publicData: lower(a.publicData),
      status: statusName(status),
      validUntil,
      dispute:
        d.openedAt === 0n
          ? null
          : {
              statementHash: lower(d.statementHash),
              openedAt: d.openedAt,
              deadline: d.deadline,
              outcome: outcomeName,
              responseHash: ZERO32.test(d.responseHash) && (outcomeName === 'open' || outcomeName === 'lapsed') ? null : lower(d.responseHash),
            },
    };
  }

  /** null for an unknown uid. */
  async status(uid: Hex, blockTag?: RegistryBlockTag): Promise<AttestationStatus | null> {
    const s = (await this.contract.getFunction('status')(validateBytes32(uid, 'uid'), { blockTag: blockTag ?? 'latest' })) as bigint;
    return s === 0n ? null : statusName(s);
  }

  async count(blockTag?: RegistryBlockTag): Promise<number> {
    return Number((await this.contract.getFunction('count')({ blockTag: blockTag ?? 'latest' })) as bigint);
  }

  async uidAt(i: number, blockTag?: RegistryBlockTag): Promise<Hex> {
    return lower((await this.contract.getFunction('uidAt')(i, { blockTag: blockTag ?? 'latest' })) as string);
  }

  /** Every attestation with its status at one block. */
  async list(blockTag: bigint | number): Promise<CreditAttestation[]> {
    const n = await this.count(blockTag);
    const uids = await Promise.all(Array.from({ length: n }, (_, i) => this.uidAt(i, blockTag)));
    return (await Promise.all(uids.map((u) => this.get(u, blockTag)))).filter((x): x is CreditAttestation => x !== null);
  }
}

function statusName(code: bigint): AttestationStatus {
  const s = ATTESTATION_STATUSES[Number(code)];
  if (!s || s === 'none') throw new ValidationError('status', `unknown attestation status code ${code}`);
  return s;
}
