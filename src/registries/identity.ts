import { Contract, Interface, keccak256, toUtf8Bytes, type JsonRpcProvider, type TransactionReceipt } from 'ethers';
import type { Hex } from '../domain/hex.ts';
import type { TxSender } from '../evm/signer.ts';
import type { CompiledContract } from '../governance/solc.ts';
import { didHash, newPairwiseDid, parseDid } from './did.ts';
import { KEY_TYPES, type Identity, type KeyType, type RegistryBlockTag, type ServiceEndpoint, type VerificationKey } from './types.ts';
import { validateAddress, validateBytes32, validateKey, validateKeys, validateServices } from './validate.ts';
import { ContractWriter } from './write.ts';
import { ValidationError } from '../errors.ts';

export interface NewIdentity {
  /** Default: a fresh pairwise DID (did:qiao:<32 random hex>). */
  did?: string;
  /** Default: the sender's address. */
  controller?: string;
  /** Default: documentHashOf(did, services). */
  documentHash?: Hex;
  keys?: VerificationKey[];
  services?: ServiceEndpoint[];
}

type KeyTuple = { id: string; keyType: bigint; publicKey: string };
type ServiceTuple = { id: string; serviceType: string; endpoint: string };
// A decoded ethers Result: `keys` is shadowed by Array.prototype.keys, so keys are read by position (3).
type IdentityTuple = {
  3: KeyTuple[];
  did: string;
  controller: string;
  documentHash: string;
  services: ServiceTuple[];
  active: boolean;
  createdAt: bigint;
  updatedAt: bigint;
  versionId: bigint;
};

const KEY_TYPE_NAMES = Object.fromEntries(Object.entries(KEY_TYPES).map(([k, v]) => [v, k])) as Record<number, KeyType>;

/**
 * Hash of the DID document's non-key part, in a canonical JSON form (sorted keys):
 * keys live on chain in full, so the hash only has to pin what does not.
 */
export function documentHashOf(did: string, services: readonly ServiceEndpoint[]): Hex {
  const doc = { id: did, service: services.map((s) => ({ id: `${did}#${s.id}`, serviceEndpoint: s.endpoint, type: s.type })) };
  return keccak256(toUtf8Bytes(canonicalJson(doc))) as Hex;
}

function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

const keyTuple = (k: VerificationKey) => ({ id: k.id, keyType: KEY_TYPES[k.type], publicKey: k.publicKey });
const serviceTuple = (s: ServiceEndpoint) => ({ id: s.id, serviceType: s.type, endpoint: s.endpoint });

/** IdentityRegistry: DIDs, their controller, keys, services and document hash. Writes are the controller's. */
export class IdentityClient {
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

  // ----------------------------------------------------------------- writes

  async create(sender: TxSender, input: NewIdentity = {}): Promise<{ did: string; didHash: Hex; receipt: TransactionReceipt }> {
    const did = input.did === undefined ? newPairwiseDid() : parseDid(input.did);
    const controller = validateAddress(input.controller ?? sender.address, 'controller');
    const keys = validateKeys(input.keys ?? []);
    const services = validateServices(input.services ?? []);
    const documentHash = input.documentHash === undefined ? documentHashOf(did, services) : validateBytes32(input.documentHash, 'documentHash');
    const receipt = await this.writer.send(sender, 'create', [did, controller, documentHash, keys.map(keyTuple), services.map(serviceTuple)]);
    return { did, didHash: didHash(did), receipt };
  }

  /** Adds a key, or replaces the key with the same id: a rotation. */
  async setKey(sender: TxSender, did: string, key: VerificationKey): Promise<TransactionReceipt> {
    return this.writer.send(sender, 'setKey', [parseDid(did), keyTuple(validateKey(key))]);
  }

  async removeKey(sender: TxSender, did: string, keyId: string): Promise<TransactionReceipt> {
    if (typeof keyId !== 'string' || keyId.length === 0) throw new ValidationError('keyId', 'must be a key id');
    return this.writer.send(sender, 'removeKey', [parseDid(did), keyId]);
  }

  async setServices(sender: TxSender, did: string, services: ServiceEndpoint[]): Promise<TransactionReceipt> {
    return this.writer.send(sender, 'setServices', [parseDid(did), validateServices(services).map(serviceTuple)]);
  }

  async setDocumentHash(sender: TxSender, did: string, documentHash: Hex): Promise<TransactionReceipt> {
    return this.writer.send(sender, 'setDocumentHash', [parseDid(did), validateBytes32(documentHash, 'documentHash')]);
  }

  async changeController(sender: TxSender, did: string, next: string): Promise<TransactionReceipt> {
    return this.writer.send(sender, 'changeController', [parseDid(did), validateAddress(next, 'controller')]);
  }

  /** Final: the DID can never change again, and nothing can be attested about it. */
  async deactivate(sender: TxSender, did: string): Promise<TransactionReceipt> {
    return this.writer.send(sender, 'deactivate', [parseDid(did)]);
  }

  // ------------------------------------------------------------------ reads

  /** null for a DID that was never created. */
  async resolve(did: string, blockTag?: RegistryBlockTag): Promise<Identity | null> {
    return this.resolveHash(didHash(parseDid(did)), blockTag);
  }

  async resolveHash(hash: Hex, blockTag?: RegistryBlockTag): Promise<Identity | null> {
    const r = (await this.contract.getFunction('resolveHash')(validateBytes32(hash, 'didHash'), { blockTag: blockTag ?? 'latest' })) as IdentityTuple;
    return r.createdAt === 0n ? null : decodeIdentity(r);
  }

  async isActive(did: string, blockTag?: RegistryBlockTag): Promise<boolean> {
    return (await this.contract.getFunction('isActive')(didHash(parseDid(did)), { blockTag: blockTag ?? 'latest' })) as boolean;
  }

  async controllerOf(did: string, blockTag?: RegistryBlockTag): Promise<string | null> {
    const a = (await this.contract.getFunction('controllerOf')(didHash(parseDid(did)), { blockTag: blockTag ?? 'latest' })) as string;
    return /^0x0{40}$/.test(a) ? null : a;
  }

  async count(blockTag?: RegistryBlockTag): Promise<number> {
    return Number((await this.contract.getFunction('count')({ blockTag: blockTag ?? 'latest' })) as bigint);
  }

  async didAt(i: number, blockTag?: RegistryBlockTag): Promise<string> {
    return (await this.contract.getFunction('didAt')(i, { blockTag: blockTag ?? 'latest' })) as string;
  }

  /** Every identity at one block (pass a block number: several calls must see one state). */
  async list(blockTag: bigint | number): Promise<Identity[]> {
    const n = await this.count(blockTag);
    const dids = await Promise.all(Array.from({ length: n }, (_, i) => this.didAt(i, blockTag)));
    const out = await Promise.all(dids.map((d) => this.resolveHash(didHash(d), blockTag)));
    return out.filter((x): x is Identity => x !== null);
  }
}

function decodeIdentity(r: IdentityTuple): Identity {
  return {
    did: r.did,
    didHash: didHash(r.did),
    controller: r.controller,
    documentHash: r.documentHash.toLowerCase() as Hex,
    keys: [...r[3]].map((k) => ({ id: k.id, type: KEY_TYPE_NAMES[Number(k.keyType)] ?? 'secp256k1', publicKey: k.publicKey.toLowerCase() as Hex })),
    services: [...r.services].map((s) => ({ id: s.id, type: s.serviceType, endpoint: s.endpoint })),
    active: r.active,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    versionId: r.versionId,
  };
}
