import { ValidationError } from '../errors.ts';

// CAIP-2, CAIP-10 and CAIP-19 as their specifications define the character sets.
const CAIP2 = /^([-a-z0-9]{3,8}):([-_a-zA-Z0-9]{1,32})$/;
const CAIP10_ADDRESS = /^[-.%a-zA-Z0-9]{1,128}$/;
const CAIP19_NS = /^[-a-z0-9]{3,8}$/;
const CAIP19_REF = /^[-.%a-zA-Z0-9]{1,128}$/;
const CAIP19_TOKEN = /^[-.%a-zA-Z0-9]{1,78}$/;

export type ChainId = string & { readonly __brand: 'Caip2' };

export interface ParsedChainId {
  namespace: string;
  reference: string;
}

export function isChainId(value: unknown): value is ChainId {
  return typeof value === 'string' && CAIP2.test(value);
}

export function parseChainId(value: unknown, field = 'chainId'): ParsedChainId & { id: ChainId } {
  if (typeof value !== 'string') throw new ValidationError(field, 'must be a CAIP-2 string such as "eip155:1"');
  const m = CAIP2.exec(value);
  if (!m) {
    throw new ValidationError(
      field,
      `"${value.slice(0, 80)}" is not a CAIP-2 chain id (namespace of 3-8 [-a-z0-9], ":", reference of 1-32 [-_a-zA-Z0-9])`,
    );
  }
  return { id: value as ChainId, namespace: m[1]!, reference: m[2]! };
}

export function chainId(value: string, field = 'chainId'): ChainId {
  return parseChainId(value, field).id;
}

/** `eip155:<decimal chain id>` for EVM chains. */
export function evmChainId(id: bigint | number): ChainId {
  return chainId(`eip155:${BigInt(id).toString(10)}`);
}

export function parseEvmChainId(value: ChainId, field = 'chainId'): bigint {
  const p = parseChainId(value, field);
  if (p.namespace !== 'eip155' || !/^[1-9][0-9]*$/.test(p.reference)) {
    throw new ValidationError(field, `"${value}" is not an eip155 chain id`);
  }
  return BigInt(p.reference);
}

export interface AccountId {
  chain: ChainId;
  address: string;
}

export function parseAccountId(value: unknown, field = 'account'): AccountId {
  if (typeof value !== 'string') throw new ValidationError(field, 'must be a CAIP-10 string');
  const i = value.lastIndexOf(':');
  if (i < 0) throw new ValidationError(field, `"${value.slice(0, 80)}" is not a CAIP-10 account id`);
  const chain = parseChainId(value.slice(0, i), field).id;
  const address = value.slice(i + 1);
  if (!CAIP10_ADDRESS.test(address)) throw new ValidationError(field, `"${address.slice(0, 80)}" is not a CAIP-10 account address`);
  return { chain, address };
}

export function formatAccountId(a: AccountId): string {
  return `${a.chain}:${a.address}`;
}

export interface AssetId {
  chain: ChainId;
  namespace: string;
  reference: string;
  tokenId?: string;
}

export function parseAssetId(value: unknown, field = 'asset'): AssetId {
  if (typeof value !== 'string') throw new ValidationError(field, 'must be a CAIP-19 string');
  const parts = value.split('/');
  if (parts.length < 2 || parts.length > 3) throw new ValidationError(field, `"${value.slice(0, 80)}" is not a CAIP-19 asset id`);
  const chain = parseChainId(parts[0], field).id;
  const [ns, ref, ...rest] = parts[1]!.split(':');
  if (rest.length || !ns || !ref || !CAIP19_NS.test(ns) || !CAIP19_REF.test(ref)) {
    throw new ValidationError(field, `"${value.slice(0, 80)}" has a bad asset namespace or reference`);
  }
  const tokenId = parts[2];
  if (tokenId !== undefined && !CAIP19_TOKEN.test(tokenId)) throw new ValidationError(field, `"${tokenId}" is not a CAIP-19 token id`);
  return tokenId === undefined ? { chain, namespace: ns, reference: ref } : { chain, namespace: ns, reference: ref, tokenId };
}
