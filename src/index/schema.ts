import type { ColumnType, Generated } from 'kysely';

/*
 * Kysely's view of the index tables (PostgreSQL names, snake_case).
 * bigint/numeric columns are read as decimal strings on both backends (PGlite is
 * told to leave int8 unparsed) and written as decimal strings, so no value above
 * 2^53 is ever squeezed through a JS number. jsonb columns are written as JSON text.
 */

type Int8 = ColumnType<string, string, string>;
type Json<T> = ColumnType<T, string, string>;
type Time = ColumnType<Date, Date | undefined, Date>;

export interface ChainsTable {
  chain_id: string;
  family: string;
  genesis_hash: string;
  port: string;
  light_client: string;
  trust_root: string;
  finality: Json<unknown>;
  endpoints: Json<string[]>;
  status: string;
  updated_at: Time;
}

/**
 * `messages` is a view (migration 2026120801000): message_data joined with message_state, in the columns and order
 * the table had. Read through it; write message_data once (recordSent) and message_state on every transition.
 */
export interface MessagesTable extends MessageDataTable {
  status: string;
  reason: string | null;
  dst_tx_hash: string | null;
  batch_no: Int8 | null;
  updated_at: Time;
  /** Set with the `delivered` transition (migration 2026112509000). */
  delivered_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
}

/** What a message is: written once by recordSent, never updated. */
export interface MessageDataTable {
  seq: ColumnType<string, never, never>;
  id: string;
  encoded: string;
  message: Json<unknown>;
  src_chain: string;
  dst_chain: string;
  src_port: string;
  dst_port: string;
  sender: string;
  receiver: string;
  nonce: Int8;
  src_tx_hash: string | null;
  src_height: Int8 | null;
  src_block_hash: string | null;
  src_log_index: number | null;
  created_at: Time;
}

/** Where a message is: one narrow row per message, updated by each transition (src_chain, dst_chain, created_at repeated for its indexes). */
export interface MessageStateTable {
  seq: Int8;
  src_chain: string;
  dst_chain: string;
  status: string;
  reason: string | null;
  dst_tx_hash: string | null;
  batch_no: Int8 | null;
  created_at: Time;
  updated_at: Time;
  delivered_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
}

export interface TransitionsTable {
  seq: ColumnType<string, never, never>;
  message_id: string;
  status: string;
  at: Time;
  chain: string | null;
  height: Int8 | null;
  tx_hash: string | null;
  reason: string | null;
  proof: Json<unknown> | null;
}

export interface BatchesTable {
  batch_no: Int8;
  root: string;
  ids: Json<string[]>;
  status: string;
  gov_tx_hash: string | null;
  gov_height: Int8 | null;
  created_at: Time;
  updated_at: Time;
}

export interface AttestationsTable {
  batch_no: Int8;
  root_type: number;
  set_id: Int8;
  attestor: string;
  signature: string;
  created_at: Time;
}

export interface CheckpointsTable {
  chain_id: string;
  height: Int8;
  /** Fencing token of the watcher lease that last wrote (migration 2026112512000). */
  fence: Generated<Int8>;
  updated_at: Time;
}

export interface LaneNoncesTable {
  src_chain: string;
  src_port: string;
  dst_chain: string;
  last_nonce: Int8;
  /** Disjoint [lo, hi] ranges of nonces seen above last_nonce + 1 (decimal strings). */
  seen_above: Json<[string, string][]>;
  updated_at: Time;
}

export interface NonceGapsTable {
  id: Generated<string>;
  src_chain: string;
  src_port: string;
  dst_chain: string;
  expected: Int8;
  seen: Int8;
  detected_at: Time;
}

export interface LaneCountsTable {
  src_chain: string;
  dst_chain: string;
  status: string;
  n: Int8;
}

export interface RegistryEventsTable {
  seq: ColumnType<string, never, never>;
  contract: string;
  kind: string;
  /** What the event is about: a CAIP-2 chain id, a DID, an attestor set id. */
  subject: string;
  status: string | null;
  data: Json<unknown> | null;
  block_number: Int8;
  block_time: Time;
  tx_hash: string;
  log_index: number;
}

export interface MisbehaviourEvidenceTable {
  id: ColumnType<string, never, never>;
  chain_id: string;
  height: Int8;
  evidence: Json<unknown>;
  detected_at: ColumnType<Date, Date | undefined, never>;
  frozen_tx: string | null;
}

/** A lane the relayer holds because its fee no longer covers the destination's gas (migration 2026112514000). */
export interface LaneHoldsTable {
  src_chain: string;
  dst_chain: string;
  /** numeric(78,0): decimal strings both ways. */
  max_dst_gas_price: ColumnType<string, string, string>;
  gas_price: ColumnType<string, string, string>;
  waiting: number;
  since: ColumnType<Date, Date, never>;
  updated_at: ColumnType<Date, Date | undefined, Date>;
}

export interface IndexDatabase {
  chains: ChainsTable;
  messages: MessagesTable;
  message_data: MessageDataTable;
  message_state: MessageStateTable;
  transitions: TransitionsTable;
  batches: BatchesTable;
  attestations: AttestationsTable;
  checkpoints: CheckpointsTable;
  lane_nonces: LaneNoncesTable;
  nonce_gaps: NonceGapsTable;
  lane_counts: LaneCountsTable;
  registry_events: RegistryEventsTable;
  misbehaviour_evidence: MisbehaviourEvidenceTable;
  lane_holds: LaneHoldsTable;
}
