/**
 * The link from a verified beacon header to its execution block: the
 * execution payload header proven by the execution branch into body_root.
 * This is what the relayer uses as the trusted execution state root and hash.
 */
import { fail, ok, type VerifyResult } from '../result.ts';
import { forkAtLeast, forkAtSlot, type BeaconChainConfig } from './config.ts';
import { beaconRoot, isValidLightClientHeader } from './header.ts';
import type { LightClientStore } from './store.ts';
import type { LightClientHeader } from './types.ts';

export interface ExecutionAnchor {
  beaconSlot: number;
  beaconRoot: `0x${string}`;
  blockNumber: bigint;
  blockHash: `0x${string}`;
  stateRoot: `0x${string}`;
  receiptsRoot: `0x${string}`;
  timestamp: bigint;
}

const hex = (b: Uint8Array): `0x${string}` => `0x${Buffer.from(b).toString('hex')}`;

/** The execution block a light-client header commits to (Capella and later). */
export function executionAnchor(header: LightClientHeader, cfg: BeaconChainConfig): VerifyResult<{ anchor: ExecutionAnchor }> {
  try {
    if (!forkAtLeast(forkAtSlot(cfg, header.beacon.slot), 'capella')) return fail('header_malformed', `slot ${header.beacon.slot} is before Capella: the header carries no execution payload header`);
    if (!isValidLightClientHeader(cfg, header)) return fail('beacon_execution_branch_invalid', 'execution branch does not lead to body_root');
    const e = header.execution;
    return ok({
      anchor: {
        beaconSlot: header.beacon.slot,
        beaconRoot: hex(beaconRoot(header)),
        blockNumber: BigInt(e.block_number),
        blockHash: hex(e.block_hash),
        stateRoot: hex(e.state_root),
        receiptsRoot: hex(e.receipts_root),
        timestamp: BigInt(e.timestamp),
      },
    });
  } catch (err) {
    return fail('proof_malformed', `header: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * The finalized execution block of a store, for relaying. Refuses a header set
 * by a forced update (no finality proof behind it).
 */
export function finalizedExecution(store: LightClientStore, cfg: BeaconChainConfig): VerifyResult<{ anchor: ExecutionAnchor }> {
  if (store.finalizedByForce) return fail('insufficient_signatures', 'the finalized header came from a forced update, not from a supermajority finality proof');
  return executionAnchor(store.finalizedHeader, cfg);
}
