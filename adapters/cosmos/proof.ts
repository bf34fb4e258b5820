import { z } from 'zod';
import type { Hex } from '../../src/domain/hex.ts';

/**
 * What the Cosmos prover serves for the packets (or acknowledgements) one
 * block emitted: each IBC packet as the Qiao contract sent it (or received
 * it, for an ack) and the `abci_query` proof of its ICS-24 entry in the `ibc`
 * store at height H. The relayer recomputes the commitment from the fields
 * and checks the proof against the app hash of header H+1 (CometBFT commits
 * the state after block H in the next header), which its light client vouches
 * for; nothing here is trusted as served.
 */
export interface CosmosIbcProof {
  kind: 'cosmos-ibc';
  /** H: the block whose events emitted the packets / acks. */
  height: string;
  items: CosmosIbcItem[];
  [k: string]: unknown;
}

export interface CosmosPacket {
  sequence: string;
  sourcePort: string;
  sourceChannel: string;
  destinationPort: string;
  destinationChannel: string;
  /** The packet data: the Qiao message bytes. */
  data: Hex;
  timeoutHeight: { revisionNumber: string; revisionHeight: string };
  /** Nanoseconds since the epoch; 0 for none. */
  timeoutTimestamp: string;
}

export interface CosmosProofOp {
  /** `ics23:iavl` (the key in the `ibc` store), then `ics23:simple` (the store in the multistore). */
  type: string;
  key: Hex;
  data: Hex;
}

export interface CosmosIbcItem {
  /** `packet`: a Cosmos -> hub message (the packet commitment); `ack`: the Qiao ack the contract wrote for a hub -> Cosmos message. */
  kind: 'packet' | 'ack';
  packet: CosmosPacket;
  /** kind `ack` only: the acknowledgement bytes (a Qiao ack message). */
  ack?: Hex;
  proofOps: CosmosProofOp[];
}

const Bytes = z
  .string()
  .regex(/^0x(?:[0-9a-fA-F]{2})*$/)
  .transform((s) => s as Hex);
const U64 = z.string().regex(/^\d{1,20}$/).refine((s) => BigInt(s) < 1n << 64n, 'must fit in u64');
/** ICS-24 identifiers: [a-zA-Z0-9.\_+\-#[\]<>], 2..128 characters (port ids may be up to 128). */
const Ident = z.string().regex(/^[a-zA-Z0-9._+\-#[\]<>]{2,128}$/);

const PacketSchema = z
  .object({
    sequence: U64,
    sourcePort: Ident,
    sourceChannel: Ident,
    destinationPort: Ident,
    destinationChannel: Ident,
    data: Bytes,
    timeoutHeight: z.object({ revisionNumber: U64, revisionHeight: U64 }).strict(),
    timeoutTimestamp: U64,
  })
  .strict();

const OpSchema = z.object({ type: z.string().max(64), key: Bytes, data: Bytes }).strict();

export const CosmosIbcItemSchema = z
  .object({
    kind: z.enum(['packet', 'ack']),
    packet: PacketSchema,
    ack: Bytes.optional(),
    proofOps: z.array(OpSchema).length(2),
  })
  .strict();

export const CosmosIbcProofSchema = z.object({
  kind: z.literal('cosmos-ibc'),
  height: U64,
  items: z.array(CosmosIbcItemSchema).min(1).max(4096),
});

// The schema and the interfaces describe one shape: this fails to compile when they drift apart.
const _sameShape: z.infer<typeof CosmosIbcItemSchema> extends CosmosIbcItem ? (CosmosIbcItem extends z.infer<typeof CosmosIbcItemSchema> ? true : never) : never = true;
void _sameShape;
