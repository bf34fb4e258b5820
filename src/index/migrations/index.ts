import type { Migration, MigrationProvider } from 'kysely';
import * as initial from './2026112500000_initial.ts';
import * as queries from './2026112509000_queries.ts';
import * as laneStatus from './2026112509450_lane_status.ts';
import * as laneCounts from './2026112511000_lane_counts_registry_events.ts';
import * as checkpointFence from './2026112512000_checkpoint_fence.ts';
import * as misbehaviour from './2026112513000_misbehaviour.ts';
import * as laneHolds from './2026112514000_lane_holds.ts';
import * as proofStorage from './2026120800000_proof_storage.ts';
import * as messageState from './2026120801000_message_state.ts';

/**
 * Every migration, by its timestamped name. Listed statically (no folder scan) so
 * the index works the same from source, from a bundle and under test runners.
 */
const MIGRATIONS: Readonly<Record<string, Migration>> = {
  '2026112500000_initial': initial,
  '2026112509000_queries': queries,
  '2026112509450_lane_status': laneStatus,
  '2026112511000_lane_counts_registry_events': laneCounts,
  '2026112512000_checkpoint_fence': checkpointFence,
  '2026112513000_misbehaviour': misbehaviour,
  '2026112514000_lane_holds': laneHolds,
  '2026120800000_proof_storage': proofStorage,
  '2026120801000_message_state': messageState,
};

export const staticMigrationProvider: MigrationProvider = {
  getMigrations: async () => ({ ...MIGRATIONS }),
};
