import { z } from 'zod';
import type { Hex } from '../../src/domain/hex.ts';

/**
 * What the Substrate prover serves for the messages of one block: the SCALE
 * header (its blake2-256 must be the block the light client trusts), the
 * block's own GRANDPA justification when it has one (kept as evidence; the
 * light client decides finality), a `state_getReadProof` of `System::Events`
 * and `System::LastRuntimeUpgrade` at that block, and the encoded messages.
 */
export interface SubstrateRemarksProof {
  kind: 'substrate-remarks';
  height: string;
  blockHash: Hex;
  header: Hex;
  justification?: Hex;
  readProof: Hex[];
  messages: Hex[];
  [k: string]: unknown;
}

const Bytes = z.string().regex(/^0x(?:[0-9a-fA-F]{2})*$/);

export const SubstrateRemarksProofSchema = z.object({
  kind: z.literal('substrate-remarks'),
  height: z.string().regex(/^\d{1,10}$/),
  blockHash: z.string().regex(/^0x[0-9a-fA-F]{64}$/),
  header: Bytes,
  justification: Bytes.optional(),
  readProof: z.array(Bytes).max(4096),
  messages: z.array(Bytes).min(1).max(4096),
});
