/**
 * The light-client objects in one fork-independent shape: the execution
 * header always has the Deneb fields (zero before Deneb) and an Altair header
 * an all-zero execution part, as the spec's upgrade functions do. Branches keep
 * the length of the fork they were made in (Electra: one node longer).
 */
import type { BitArray } from '@chainsafe/ssz';

export interface BeaconBlockHeader {
  slot: number;
  proposer_index: number;
  parent_root: Uint8Array;
  state_root: Uint8Array;
  body_root: Uint8Array;
}

export interface ExecutionPayloadHeader {
  parent_hash: Uint8Array;
  fee_recipient: Uint8Array;
  state_root: Uint8Array;
  receipts_root: Uint8Array;
  logs_bloom: Uint8Array;
  prev_randao: Uint8Array;
  block_number: number;
  gas_limit: number;
  gas_used: number;
  timestamp: number;
  extra_data: Uint8Array;
  base_fee_per_gas: bigint;
  block_hash: Uint8Array;
  transactions_root: Uint8Array;
  withdrawals_root: Uint8Array;
  blob_gas_used: number;
  excess_blob_gas: number;
}

export interface LightClientHeader {
  beacon: BeaconBlockHeader;
  execution: ExecutionPayloadHeader;
  execution_branch: Uint8Array[];
}

export interface SyncCommittee {
  pubkeys: Uint8Array[];
  aggregate_pubkey: Uint8Array;
}

export interface SyncAggregate {
  sync_committee_bits: BitArray;
  sync_committee_signature: Uint8Array;
}

export interface LightClientBootstrap {
  header: LightClientHeader;
  current_sync_committee: SyncCommittee;
  current_sync_committee_branch: Uint8Array[];
}

export interface LightClientUpdate {
  attested_header: LightClientHeader;
  next_sync_committee: SyncCommittee;
  next_sync_committee_branch: Uint8Array[];
  finalized_header: LightClientHeader;
  finality_branch: Uint8Array[];
  sync_aggregate: SyncAggregate;
  signature_slot: number;
}

export interface LightClientFinalityUpdate {
  attested_header: LightClientHeader;
  finalized_header: LightClientHeader;
  finality_branch: Uint8Array[];
  sync_aggregate: SyncAggregate;
  signature_slot: number;
}

export interface LightClientOptimisticUpdate {
  attested_header: LightClientHeader;
  sync_aggregate: SyncAggregate;
  signature_slot: number;
}

const z32 = () => new Uint8Array(32);

export function emptyExecutionHeader(): ExecutionPayloadHeader {
  return {
    parent_hash: z32(),
    fee_recipient: new Uint8Array(20),
    state_root: z32(),
    receipts_root: z32(),
    logs_bloom: new Uint8Array(256),
    prev_randao: z32(),
    block_number: 0,
    gas_limit: 0,
    gas_used: 0,
    timestamp: 0,
    extra_data: new Uint8Array(0),
    base_fee_per_gas: 0n,
    block_hash: z32(),
    transactions_root: z32(),
    withdrawals_root: z32(),
    blob_gas_used: 0,
    excess_blob_gas: 0,
  };
}

export function emptyHeader(): LightClientHeader {
  return {
    beacon: { slot: 0, proposer_index: 0, parent_root: z32(), state_root: z32(), body_root: z32() },
    execution: emptyExecutionHeader(),
    execution_branch: [z32(), z32(), z32(), z32()],
  };
}

export function emptySyncCommittee(size: number): SyncCommittee {
  return { pubkeys: Array.from({ length: size }, () => new Uint8Array(48)), aggregate_pubkey: new Uint8Array(48) };
}

export function zeroBranch(depth: number): Uint8Array[] {
  return Array.from({ length: depth }, z32);
}
