/** The beacon sync-committee light client: what the relayer's verify stage imports. */
export { MAINNET_CONFIG, MAINNET_PRESET, MINIMAL_PRESET, configFromSpecYaml, forkAtSlot, periodAtSlot, type BeaconChainConfig, type ForkName, type Preset } from './config.ts';
export { initializeStore, validateUpdate, processUpdate, processFinalityUpdate, processOptimisticUpdate, forceUpdate, checkSyncPeriod, type ProcessOutcome } from './lightclient.ts';
export { executionAnchor, finalizedExecution, type ExecutionAnchor } from './execution.ts';
export { decodeJson, decodeSsz, decodeOrFail, type LightClientKind } from './decode.ts';
export type { LightClientStore, TrustedCommittee } from './store.ts';
export type { LightClientBootstrap, LightClientUpdate, LightClientFinalityUpdate, LightClientOptimisticUpdate, LightClientHeader, SyncCommittee } from './types.ts';
