/**
 * The execution side: JSON-RPC to the upstream anvil, and an anvil block turned
 * into the ExecutionPayloadHeader a beacon block would carry for it.
 */
import { ByteVectorType, ContainerType, ListCompositeType, UintNumberType } from '@chainsafe/ssz';
import { z } from 'zod';
import { RpcError, ValidationError } from '../../../src/errors.ts';
import { label } from './config.ts';
import type { ExecutionPayloadHeaderValue } from './ssz.ts';

const Uint64 = new UintNumberType(8);
/** MAX_WITHDRAWALS_PER_PAYLOAD 16 (both presets). */
const Withdrawals = new ListCompositeType(new ContainerType({ index: Uint64, validator_index: Uint64, address: new ByteVectorType(20), amount: Uint64 }), 16);

let nextId = 1;

export async function rpcCall(url: string, method: string, params: unknown[], timeoutMs = 5000): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: nextId++, method, params }),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (cause) {
    throw new RpcError(url, `${method}: no answer`, { cause });
  }
  if (!res.ok) throw new RpcError(url, `${method}: HTTP ${res.status}`);
  const body = (await res.json()) as { result?: unknown; error?: { message?: string } };
  if (body.error) throw new RpcError(url, `${method}: ${body.error.message ?? 'error'}`);
  return body.result;
}

const hexData = z.string().regex(/^0x([0-9a-fA-F]{2})*$/);
const hash = z.string().regex(/^0x[0-9a-fA-F]{64}$/);
const quantity = z.string().regex(/^0x[0-9a-fA-F]+$/);

export const AnvilBlock = z.object({
  number: quantity,
  hash,
  parentHash: hash,
  miner: z.string().regex(/^0x[0-9a-fA-F]{40}$/),
  stateRoot: hash,
  receiptsRoot: hash,
  transactionsRoot: hash,
  logsBloom: z.string().regex(/^0x[0-9a-fA-F]{512}$/),
  mixHash: hash.optional(),
  gasLimit: quantity,
  gasUsed: quantity,
  timestamp: quantity,
  extraData: hexData,
  baseFeePerGas: quantity.optional(),
  blobGasUsed: quantity.optional(),
  excessBlobGas: quantity.optional(),
  withdrawals: z.array(z.object({ index: quantity, validatorIndex: quantity, address: z.string(), amount: quantity })).optional(),
});
export type AnvilBlock = z.infer<typeof AnvilBlock>;

export function parseBlock(raw: unknown, where: string): AnvilBlock {
  const r = AnvilBlock.safeParse(raw);
  if (!r.success) throw new ValidationError(where, `not an execution block: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return r.data;
}

const bytes = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h.slice(2), 'hex'));
const num = (h: string | undefined): number => (h === undefined ? 0 : Number(BigInt(h)));

/**
 * Fields a beacon node copies from the payload are taken from the block;
 * transactions_root is an SSZ list root over the raw transactions, which the
 * block JSON does not carry, so the model puts a hash of the block hash there.
 */
export function payloadHeaderOf(b: AnvilBlock, seed: string): ExecutionPayloadHeaderValue {
  const withdrawals = (b.withdrawals ?? []).map((w) => ({ index: num(w.index), validator_index: num(w.validatorIndex), address: bytes(w.address), amount: num(w.amount) }));
  return {
    parent_hash: bytes(b.parentHash),
    fee_recipient: bytes(b.miner),
    state_root: bytes(b.stateRoot),
    receipts_root: bytes(b.receiptsRoot),
    logs_bloom: bytes(b.logsBloom),
    prev_randao: b.mixHash ? bytes(b.mixHash) : label(`${seed}/prev_randao/${b.hash}`),
    block_number: num(b.number),
    gas_limit: num(b.gasLimit),
    gas_used: num(b.gasUsed),
    timestamp: num(b.timestamp),
    extra_data: bytes(b.extraData),
    base_fee_per_gas: b.baseFeePerGas === undefined ? 0n : BigInt(b.baseFeePerGas),
    block_hash: bytes(b.hash),
    transactions_root: label(`${seed}/transactions/${b.hash}`),
    withdrawals_root: Withdrawals.hashTreeRoot(withdrawals),
    blob_gas_used: num(b.blobGasUsed),
    excess_blob_gas: num(b.excessBlobGas),
  };
}
