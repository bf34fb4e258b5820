/** Light-client headers: the execution payload header proven into the beacon block body. */
import { forkAtLeast, forkAtSlot, type BeaconChainConfig } from './config.ts';
import { isValidMerkleBranch, isZero } from './merkle.ts';
import { BeaconBlockHeaderType, EXECUTION_BRANCH_DEPTH, ExecutionPayloadHeaderCapellaType, ExecutionPayloadHeaderDenebType } from './ssz.ts';
import type { ExecutionPayloadHeader, LightClientHeader } from './types.ts';

/** EXECUTION_PAYLOAD_GINDEX (25) minus 2^4: the payload header's index among the body's leaves. */
const EXECUTION_PAYLOAD_INDEX = 25 - 16;

/** get_lc_execution_root: the payload header hashed as the header's own fork defines it. */
export function executionRoot(cfg: BeaconChainConfig, header: LightClientHeader): Uint8Array {
  const fork = forkAtSlot(cfg, header.beacon.slot);
  if (forkAtLeast(fork, 'deneb')) return ExecutionPayloadHeaderDenebType.hashTreeRoot(header.execution);
  if (forkAtLeast(fork, 'capella')) return ExecutionPayloadHeaderCapellaType.hashTreeRoot(header.execution);
  return new Uint8Array(32);
}

function isEmptyExecution(e: ExecutionPayloadHeader): boolean {
  return (
    [e.parent_hash, e.fee_recipient, e.state_root, e.receipts_root, e.logs_bloom, e.prev_randao, e.block_hash, e.transactions_root, e.withdrawals_root].every(isZero) &&
    e.extra_data.length === 0 &&
    e.block_number === 0 &&
    e.gas_limit === 0 &&
    e.gas_used === 0 &&
    e.timestamp === 0 &&
    e.base_fee_per_gas === 0n &&
    e.blob_gas_used === 0 &&
    e.excess_blob_gas === 0
  );
}

/** is_valid_light_client_header (Deneb/Electra form). */
export function isValidLightClientHeader(cfg: BeaconChainConfig, header: LightClientHeader): boolean {
  const fork = forkAtSlot(cfg, header.beacon.slot);
  if (!forkAtLeast(fork, 'deneb') && (header.execution.blob_gas_used !== 0 || header.execution.excess_blob_gas !== 0)) return false;
  if (!forkAtLeast(fork, 'capella')) return isEmptyExecution(header.execution) && header.execution_branch.every(isZero);
  return isValidMerkleBranch(executionRoot(cfg, header), header.execution_branch, EXECUTION_BRANCH_DEPTH, EXECUTION_PAYLOAD_INDEX, header.beacon.body_root);
}

export function beaconRoot(header: LightClientHeader): Uint8Array {
  return BeaconBlockHeaderType.hashTreeRoot(header.beacon);
}

export function headerEquals(a: LightClientHeader, b: LightClientHeader): boolean {
  const ra = beaconRoot(a);
  const rb = beaconRoot(b);
  if (ra.some((x, i) => x !== rb[i])) return false;
  const ea = ExecutionPayloadHeaderDenebType.hashTreeRoot(a.execution);
  const eb = ExecutionPayloadHeaderDenebType.hashTreeRoot(b.execution);
  return ea.every((x, i) => x === eb[i]) && a.execution_branch.length === b.execution_branch.length && a.execution_branch.every((n, i) => n.every((x, j) => x === b.execution_branch[i]![j]));
}
