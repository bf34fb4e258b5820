/**
 * SSZ containers the model serves (consensus-specs deneb/electra light-client
 * sync protocol), defined here on @chainsafe/ssz with the spec's field names so
 * `toJson` gives beacon-API JSON directly.
 */
import { BitVectorType, ByteListType, ByteVectorType, ContainerType, UintBigintType, UintNumberType, VectorCompositeType } from '@chainsafe/ssz';
import type { PresetName, PresetSpec, TopFork } from './config.ts';
import { PRESETS } from './config.ts';

const Bytes4 = new ByteVectorType(4);
const Bytes20 = new ByteVectorType(20);
const Bytes32 = new ByteVectorType(32);
const Bytes48 = new ByteVectorType(48);
const Bytes96 = new ByteVectorType(96);
const Uint64 = new UintNumberType(8);
const Uint256 = new UintBigintType(32);

export const BeaconBlockHeader = new ContainerType({ slot: Uint64, proposer_index: Uint64, parent_root: Bytes32, state_root: Bytes32, body_root: Bytes32 });
export const Checkpoint = new ContainerType({ epoch: Uint64, root: Bytes32 });
export const Fork = new ContainerType({ previous_version: Bytes4, current_version: Bytes4, epoch: Uint64 });
export const ForkData = new ContainerType({ current_version: Bytes4, genesis_validators_root: Bytes32 });
export const SigningData = new ContainerType({ object_root: Bytes32, domain: Bytes32 });

/** Deneb's header; Electra leaves it unchanged (its requests live in the body, not the payload). */
export const ExecutionPayloadHeader = new ContainerType({
  parent_hash: Bytes32,
  fee_recipient: Bytes20,
  state_root: Bytes32,
  receipts_root: Bytes32,
  logs_bloom: new ByteVectorType(256),
  prev_randao: Bytes32,
  block_number: Uint64,
  gas_limit: Uint64,
  gas_used: Uint64,
  timestamp: Uint64,
  extra_data: new ByteListType(32),
  base_fee_per_gas: Uint256,
  block_hash: Bytes32,
  transactions_root: Bytes32,
  withdrawals_root: Bytes32,
  blob_gas_used: Uint64,
  excess_blob_gas: Uint64,
});

/** Light-client gindices in the beacon state (consensus-specs altair..deneb, electra). */
export const GINDEX: Readonly<Record<TopFork, { finalizedRoot: number; currentSyncCommittee: number; nextSyncCommittee: number }>> = {
  deneb: { finalizedRoot: 105, currentSyncCommittee: 54, nextSyncCommittee: 55 },
  electra: { finalizedRoot: 169, currentSyncCommittee: 86, nextSyncCommittee: 87 },
};

/** EXECUTION_PAYLOAD_GINDEX in the block body (both forks). */
export const EXECUTION_PAYLOAD_GINDEX = 25;

const depth = (gindex: number): number => Math.floor(Math.log2(gindex));

function build(preset: PresetSpec, fork: TopFork) {
  const g = GINDEX[fork];
  const header = new ContainerType({ beacon: BeaconBlockHeader, execution: ExecutionPayloadHeader, execution_branch: new VectorCompositeType(Bytes32, depth(EXECUTION_PAYLOAD_GINDEX)) });
  const syncCommittee = new ContainerType({ pubkeys: new VectorCompositeType(Bytes48, preset.syncCommitteeSize), aggregate_pubkey: Bytes48 });
  const syncAggregate = new ContainerType({ sync_committee_bits: new BitVectorType(preset.syncCommitteeSize), sync_committee_signature: Bytes96 });
  const finalityBranch = new VectorCompositeType(Bytes32, depth(g.finalizedRoot));
  return {
    header,
    syncCommittee,
    bootstrap: new ContainerType({ header, current_sync_committee: syncCommittee, current_sync_committee_branch: new VectorCompositeType(Bytes32, depth(g.currentSyncCommittee)) }),
    update: new ContainerType({
      attested_header: header,
      next_sync_committee: syncCommittee,
      next_sync_committee_branch: new VectorCompositeType(Bytes32, depth(g.nextSyncCommittee)),
      finalized_header: header,
      finality_branch: finalityBranch,
      sync_aggregate: syncAggregate,
      signature_slot: Uint64,
    }),
    finalityUpdate: new ContainerType({ attested_header: header, finalized_header: header, finality_branch: finalityBranch, sync_aggregate: syncAggregate, signature_slot: Uint64 }),
    optimisticUpdate: new ContainerType({ attested_header: header, sync_aggregate: syncAggregate, signature_slot: Uint64 }),
  };
}

export type LightClientTypes = ReturnType<typeof build>;

const cache = new Map<string, LightClientTypes>();

export function lightClientTypes(preset: PresetName, fork: TopFork): LightClientTypes {
  const key = `${preset}/${fork}`;
  let t = cache.get(key);
  if (!t) {
    t = build(PRESETS[preset], fork);
    cache.set(key, t);
  }
  return t;
}

export type BeaconBlockHeaderValue = ReturnType<typeof BeaconBlockHeader.defaultValue>;
export type ExecutionPayloadHeaderValue = ReturnType<typeof ExecutionPayloadHeader.defaultValue>;
export type LightClientHeaderValue = ReturnType<LightClientTypes['header']['defaultValue']>;
export type SyncCommitteeValue = ReturnType<LightClientTypes['syncCommittee']['defaultValue']>;
export type BootstrapValue = ReturnType<LightClientTypes['bootstrap']['defaultValue']>;
export type UpdateValue = ReturnType<LightClientTypes['update']['defaultValue']>;
export type FinalityUpdateValue = ReturnType<LightClientTypes['finalityUpdate']['defaultValue']>;
export type OptimisticUpdateValue = ReturnType<LightClientTypes['optimisticUpdate']['defaultValue']>;
