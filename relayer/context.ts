import type { Logger } from 'pino';
import type { ChainAdapter } from '../src/domain/adapter.ts';
import type { ChainRegistration } from '../src/domain/chain.ts';
import type { TxSender } from '../src/evm/signer.ts';
import type { GovernanceClient } from '../src/governance/client.ts';
import type { MessageIndex } from '../src/index/types.ts';
import type { Attestor } from './attestor/attestor.ts';
import type { BftLightClient } from './light/bft-client.ts';
import type { SubstrateLightClient } from './light/grandpa-client.ts';
import type { CometLightClient } from './light/cometbft-client.ts';
import type { FabricLightClient } from './light/fabric-client.ts';
import type { BeaconLightClient } from './light/beacon-client.ts';
import type { AckJob, AttestJob, CommitJob, DeliverJob, TimeoutJob, VerifyJob } from './jobs.ts';
import type { JobQueue } from './queue/types.ts';

export interface RelayerSettings {
  pollIntervalMs: number;
  maxLogRange: number;
  batchSize: number;
  batchDelayMs: number;
  deliverChunk: number;
  attempts: number;
  concurrency: number;
  govFinalityDepth: number;
}

export interface ConnectedChain {
  registration: ChainRegistration;
  adapter: ChainAdapter;
  /** Header light client of chains that have one wired (QBFT/IBFT 2.0); local-dev chains have none. */
  light?: BftLightClient;
  /** GRANDPA light client of Substrate chains (it also holds the pinned runtime that decodes their events). */
  grandpa?: SubstrateLightClient;
  /** CometBFT light client of Cosmos chains (`lightClient: 'tendermint'`); a proof at H is anchored on its header H+1. */
  comet?: CometLightClient;
  /** Fabric light client (`lightClient: 'fabric'`): the block and the context (config, chaincode policies) a proof is verified in. */
  fabric?: FabricLightClient;
  /** Ethereum sync-committee light client (`lightClient: 'eth-sync-committee'`): the finalized execution block, and lower heights linked to it by parent hash. */
  beacon?: BeaconLightClient;
}

export interface RelayerQueues {
  verify: JobQueue<VerifyJob>;
  commit: JobQueue<CommitJob>;
  attest: JobQueue<AttestJob>;
  deliver: JobQueue<DeliverJob>;
  /**
   * Acknowledgements and timeouts, at priority 0. Contexts that never run those
   * stages (an index rebuild) leave them out.
   */
  ack?: JobQueue<AckJob>;
  timeout?: JobQueue<TimeoutJob>;
}

/** What every stage gets: small, explicit dependencies instead of a god object. */
export interface StageContext {
  index: MessageIndex;
  gov: GovernanceClient;
  committer: TxSender;
  chains: ReadonlyMap<string, ConnectedChain>;
  attestors: readonly Attestor[];
  queues: RelayerQueues;
  settings: RelayerSettings;
  logger: Logger;
  /** local-dev header trust is accepted only for chains the hub started itself, or with --dev. */
  allowLocalDev(chainId: string): boolean;
}
