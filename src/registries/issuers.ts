import { Contract, Interface, type JsonRpcProvider } from 'ethers';
import type { Hex } from '../domain/hex.ts';
import type { GovernPath, GovernResult } from '../governance/govern.ts';
import type { CompiledContract } from '../governance/solc.ts';
import { didHash, parseDid } from './did.ts';
import type { Accreditation, AccreditationStatus, RegistryBlockTag } from './types.ts';
import { validateBytes32, validateSeconds } from './validate.ts';
import { ContractWriter } from './write.ts';

const STATUS: (AccreditationStatus | null)[] = [null, 'active', 'revoked', 'expired'];

/** IssuerRegistry: which issuer DID is accredited for which schema, until when. Writes are governance's. */
export class IssuerClient {
  readonly contract: Contract;
  readonly iface: Interface;
  readonly writer: ContractWriter;

  constructor(
    readonly provider: JsonRpcProvider,
    readonly address: string,
    artifact: CompiledContract,
    /** Resolves an issuer DID hash to its DID (the IdentityRegistry keeps the string). */
    private readonly didOf: (hash: Hex, blockTag: RegistryBlockTag) => Promise<string>,
  ) {
    this.iface = new Interface(artifact.abi as never);
    this.contract = new Contract(address, this.iface, provider);
    this.writer = new ContractWriter(provider, address, this.iface);
  }

  /** Accredits (or re-accredits, or moves the expiry of) an issuer for a schema; expiresAt in unix seconds, 0 = none. */
  async accredit(gov: GovernPath, issuerDid: string, schemaId: Hex, expiresAt: bigint | number): Promise<GovernResult> {
    const did = parseDid(issuerDid, 'issuerDid');
    const schema = validateBytes32(schemaId, 'schemaId', { nonZero: true });
    const exp = validateSeconds(expiresAt, 'expiresAt');
    return this.writer.govern(gov, 'accredit', [did, schema, exp], `accredit ${did} for schema ${schema} until ${exp === 0n ? 'no expiry' : exp}`);
  }

  async revoke(gov: GovernPath, issuerDid: string, schemaId: Hex): Promise<GovernResult> {
    const did = parseDid(issuerDid, 'issuerDid');
    const schema = validateBytes32(schemaId, 'schemaId');
    return this.writer.govern(gov, 'revoke', [did, schema], `revoke the accreditation of ${did} for schema ${schema}`);
  }

  /** null when the issuer was never accredited for the schema. */
  async accreditation(issuerDid: string, schemaId: Hex, blockTag?: RegistryBlockTag): Promise<Accreditation | null> {
    const did = parseDid(issuerDid, 'issuerDid');
    return this.read(did, didHash(did), validateBytes32(schemaId, 'schemaId'), blockTag ?? 'latest');
  }

  async isAccredited(issuerDid: string, schemaId: Hex, blockTag?: RegistryBlockTag): Promise<boolean> {
    const h = didHash(parseDid(issuerDid, 'issuerDid'));
    return (await this.contract.getFunction('isAccredited')(h, validateBytes32(schemaId, 'schemaId'), { blockTag: blockTag ?? 'latest' })) as boolean;
  }

  async count(blockTag?: RegistryBlockTag): Promise<number> {
    return Number((await this.contract.getFunction('count')({ blockTag: blockTag ?? 'latest' })) as bigint);
  }

  /** Every (issuer, schema) pair ever accredited, with its status at the block. */
  async list(blockTag: bigint | number): Promise<Accreditation[]> {
    const n = await this.count(blockTag);
    const pairs = await Promise.all(
      Array.from({ length: n }, async (_, i) => (await this.contract.getFunction('at')(i, { blockTag })) as [string, string]),
    );
    const out = await Promise.all(
      pairs.map(async ([h, s]) => this.read(await this.didOf(h.toLowerCase() as Hex, blockTag), h.toLowerCase() as Hex, s.toLowerCase() as Hex, blockTag)),
    );
    return out.filter((x): x is Accreditation => x !== null);
  }

  private async read(issuerDid: string, issuerDidHash: Hex, schemaId: Hex, blockTag: RegistryBlockTag): Promise<Accreditation | null> {
    const [status, since, expiresAt, revokedAt] = (await this.contract.getFunction('accreditation')(issuerDidHash, schemaId, { blockTag })) as [bigint, bigint, bigint, bigint];
    const name = STATUS[Number(status)];
    if (!name) return null;
    return { issuerDid, issuerDidHash, schemaId, status: name, since, expiresAt, revokedAt };
  }
}
