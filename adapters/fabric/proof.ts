import { z } from 'zod';
import type { Hex } from '../../src/domain/hex.ts';

/**
 * What the Fabric prover serves for the messages one block carried: the raw
 * common.Block (its header hash must be the block the light client trusts;
 * its data hash covers every envelope, so the transactions in it are the
 * ones the orderers signed) and, per transaction, the encoded Qiao messages
 * it committed and every peer's signed qscc GetTransactionByID answer. The
 * validation flags sit outside the block hash, so the verifier takes a tx
 * as valid only when peers of k organisations signed that it was; nothing
 * here is trusted as served.
 */
export interface FabricTxProof {
  kind: 'fabric-tx';
  /** The block number, decimal. */
  height: string;
  /** Base64 of the common.Block bytes. */
  block: string;
  txs: FabricTxItem[];
  [k: string]: unknown;
}

export interface FabricValidationAnswer {
  mspId: string;
  /** Base64 of the serialized ProposalResponse a peer signed for qscc GetTransactionByID. */
  response: string;
}

export interface FabricTxItem {
  txId: string;
  /** The Qiao messages this tx committed (the port writes `commit/<id>` for each). */
  messages: Hex[];
  validation: FabricValidationAnswer[];
}

const Bytes = z
  .string()
  .regex(/^0x(?:[0-9a-fA-F]{2})*$/)
  .transform((s) => s as Hex);
const Base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/);
/** Fabric tx ids are the hex sha256 of nonce || creator. */
const TxId = z.string().regex(/^[0-9a-f]{64}$/);
/** MSP ids are free-form in Fabric; bounded so a served proof cannot balloon memory. */
const MspId = z.string().min(1).max(256);

export const FabricValidationAnswerSchema = z.object({ mspId: MspId, response: Base64.max(1 << 20) }).strict();

export const FabricTxItemSchema = z
  .object({
    txId: TxId,
    messages: z.array(Bytes).min(1).max(4096),
    validation: z.array(FabricValidationAnswerSchema).max(256),
  })
  .strict();

export const FabricTxProofSchema = z.object({
  kind: z.literal('fabric-tx'),
  height: z.string().regex(/^\d{1,20}$/).refine((s) => BigInt(s) < 1n << 64n, 'must fit in u64'),
  block: Base64.min(1),
  // Empty when the block carries none of the ids: the verifier then names the missing one.
  txs: z.array(FabricTxItemSchema).max(4096),
});

// The schema and the interfaces describe one shape: this fails to compile when they drift apart.
const _sameShape: z.infer<typeof FabricTxItemSchema> extends FabricTxItem ? (FabricTxItem extends z.infer<typeof FabricTxItemSchema> ? true : never) : never = true;
void _sameShape;
