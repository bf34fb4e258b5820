/**
 * SSZ containers of the light-client protocol (altair sync-protocol with the
 * Capella, Deneb and Electra changes), per preset and fork. @chainsafe/ssz
 * ships no consensus types, so they are defined here; field names are the
 * spec's, so the beacon-API JSON maps one to one.
 */
import { BitVectorType, ByteListType, ByteVectorType, ContainerType, UintBigintType, UintNumberType, VectorCompositeType } from '@chainsafe/ssz';
import { forkAtLeast, MAINNET_PRESET, MINIMAL_PRESET, type ForkName, type Preset } from './config.ts';

const Bytes4 = new ByteVectorType(4);
const Bytes20 = new ByteVectorType(20);
const Bytes32 = new ByteVectorType(32);
const Bytes48 = new ByteVectorType(48);
const Bytes96 = new ByteVectorType(96);
const Uint64 = new UintNumberType(8);
const Uint256 = new UintBigintType(32);

export const BeaconBlockHeaderType = new ContainerType({
  slot: Uint64,
  proposer_index: Uint64,
  parent_root: Bytes32,
  state_root: Bytes32,
  body_root: Bytes32,
});

const capellaExecutionFields = {
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
};
export const ExecutionPayloadHeaderCapellaType = new ContainerType(capellaExecutionFields);
/** Deneb adds the blob gas fields; Electra keeps this header unchanged. */
export const ExecutionPayloadHeaderDenebType = new ContainerType({ ...capellaExecutionFields, blob_gas_used: Uint64, excess_blob_gas: Uint64 });

export const ForkDataType = new ContainerType({ current_version: Bytes4, genesis_validators_root: Bytes32 });
export const SigningDataType = new ContainerType({ object_root: Bytes32, domain: Bytes32 });

/** EXECUTION_PAYLOAD_GINDEX = 25 in the block body: depth 4. */
export const EXECUTION_BRANCH_DEPTH = 4;

/** Light-client gindices in the beacon state (altair..deneb, then electra). */
export function gindices(fork: ForkName): { finalizedRoot: number; currentSyncCommittee: number; nextSyncCommittee: number } {
  return forkAtLeast(fork, 'electra') ? { finalizedRoot: 169, currentSyncCommittee: 86, nextSyncCommittee: 87 } : { finalizedRoot: 105, currentSyncCommittee: 54, nextSyncCommittee: 55 };
}

export function floorLog2(n: number): number {
  return Math.floor(Math.log2(n));
}

function buildTypes(preset: Preset, fork: 'altair' | 'capella' | 'deneb' | 'electra') {
  const g = gindices(fork);
  const header =
    fork === 'altair'
      ? new ContainerType({ beacon: BeaconBlockHeaderType })
      : new ContainerType({
          beacon: BeaconBlockHeaderType,
          execution: fork === 'capella' ? ExecutionPayloadHeaderCapellaType : ExecutionPayloadHeaderDenebType,
          execution_branch: new VectorCompositeType(Bytes32, EXECUTION_BRANCH_DEPTH),
        });
  const syncCommittee = new ContainerType({ pubkeys: new VectorCompositeType(Bytes48, preset.syncCommitteeSize), aggregate_pubkey: Bytes48 });
  const syncAggregate = new ContainerType({ sync_committee_bits: new BitVectorType(preset.syncCommitteeSize), sync_committee_signature: Bytes96 });
  const currentBranch = new VectorCompositeType(Bytes32, floorLog2(g.currentSyncCommittee));
  const nextBranch = new VectorCompositeType(Bytes32, floorLog2(g.nextSyncCommittee));
  const finalityBranch = new VectorCompositeType(Bytes32, floorLog2(g.finalizedRoot));
  return {
    header,
    syncCommittee,
    bootstrap: new ContainerType({ header, current_sync_committee: syncCommittee, current_sync_committee_branch: currentBranch }),
    update: new ContainerType({
      attested_header: header,
      next_sync_committee: syncCommittee,
      next_sync_committee_branch: nextBranch,
      finalized_header: header,
      finality_branch: finalityBranch,
      sync_aggregate: syncAggregate,
      signature_slot: Uint64,
    }),
    finalityUpdate: new ContainerType({ attested_header: header, finalized_header: header, finality_branch: finalityBranch, sync_aggregate: syncAggregate, signature_slot: Uint64 }),
    optimisticUpdate: new ContainerType({ attested_header: header, sync_aggregate: syncAggregate, signature_slot: Uint64 }),
  };
}

export type LightClientTypes = ReturnType<typeof buildTypes>;

/** The container family used by a fork (bellatrix shares altair's light-client containers). */
export function containerFork(fork: ForkName): 'altair' | 'capella' | 'deneb' | 'electra' {
  if (fork === 'phase0' || fork === 'altair' || fork === 'bellatrix') return 'altair';
  if (fork === 'fulu') return 'electra';
  return fork;
}

const TYPES: Readonly<Record<Preset['name'], Readonly<Record<'altair' | 'capella' | 'deneb' | 'electra', LightClientTypes>>>> = (() => {
  const forPreset = (p: Preset) => ({ altair: buildTypes(p, 'altair'), capella: buildTypes(p, 'capella'), deneb: buildTypes(p, 'deneb'), electra: buildTypes(p, 'electra') });
  return {
    mainnet: forPreset(MAINNET_PRESET),
    minimal: forPreset(MINIMAL_PRESET),
  };
})();

export function lightClientTypes(preset: Preset, fork: ForkName): LightClientTypes {
  return TYPES[preset.name][containerFork(fork)];
}
