/**
 * A model beacon node for tests: it follows an anvil chain and serves the
 * standard Beacon API light-client endpoints with real SSZ roots, Merkle
 * branches and sync-committee BLS signatures, plus an execution JSON-RPC proxy
 * whose "finalized" tag is this node's finality. See README.md in this folder.
 * Imports nothing from proofs/, adapters/ or relayer/.
 */
import type { Logger } from 'pino';
import { z } from 'zod';
import { ConfigError, NotReadyError } from '../../../src/errors.ts';
import { silentLogger } from '../../../src/logging.ts';
import { BeaconChain, type BeaconFaults } from './chain.ts';
import { FORKS, forkEpoch, hex, makeChainSpec, type ForkName } from './config.ts';
import { Follower } from './follower.ts';
import { BeaconHttp } from './routes.ts';

export interface BeaconFacadeOptions {
  /** anvil JSON-RPC URL (the execution chain it follows) */
  upstream: string;
  /** default 'minimal' (32 members, 8 slots/epoch, 8 epochs/period = 64 slots/period) */
  preset?: 'minimal' | 'mainnet';
  /** default 'deneb'; every fork from altair to this one is active at epoch 0, later ones unscheduled */
  fork?: 'deneb' | 'electra';
  /** default 1 */
  secondsPerSlot?: number;
  /** default 2 (at least 1): the finalized header is the newest block at or before (attested slot - lag) */
  finalityLagSlots?: number;
  /** seeds the committee keys (one committee per sync period), the genesis validators root and filler; default 'qiao-beacon' */
  seed?: string;
  /** 0 = any (default) */
  port?: number;
  /**
   * Unix seconds of slot 0; default: the start time. A time in the past puts
   * the start later in a sync period (tests of a period hand-over use this).
   */
  genesisTime?: number;
  /** how long start-up waits for the first finalized block; default 30 s */
  startTimeoutMs?: number;
  logger?: Logger;
}

export interface BeaconTrustRootJson {
  preset: 'minimal' | 'mainnet';
  genesisValidatorsRoot: `0x${string}`;
  genesisTime: number;
  secondsPerSlot: number;
  forks: Record<ForkName, { version: `0x${string}`; epoch: number | null }>;
  trustedBlockRoot: `0x${string}`;
  beaconEndpoints: string[];
}

export interface BeaconFacade {
  /** Beacon API base, e.g. http://127.0.0.1:PORT */
  url: string;
  /** execution JSON-RPC proxy to `upstream` at `${url}/rpc`; "finalized" and "safe" mean this facade's finalized execution block */
  rpcUrl: string;
  /** the latest finalized block root to bootstrap from, with the chain config */
  trustRoot(): BeaconTrustRootJson;
  finalizedExecution(): { blockNumber: bigint; blockHash: string } | null;
  /** the slot now, by this facade's genesis time and slot length */
  currentSlot(): number;
  faults: BeaconFaults;
  close(): Promise<void>;
}

const Options = z.object({
  upstream: z.string().url(),
  preset: z.enum(['minimal', 'mainnet']).default('minimal'),
  fork: z.enum(['deneb', 'electra']).default('deneb'),
  secondsPerSlot: z.number().int().min(1).max(60).default(1),
  finalityLagSlots: z.number().int().min(1).max(1024).default(2),
  seed: z.string().min(1).default('qiao-beacon'),
  port: z.number().int().min(0).max(65535).default(0),
  genesisTime: z.number().int().min(0).optional(),
  startTimeoutMs: z.number().int().min(0).default(30_000),
});

export async function startBeaconFacade(options: BeaconFacadeOptions): Promise<BeaconFacade> {
  const { logger, ...rest } = options;
  const parsed = Options.safeParse(rest);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(`beaconFacade.${issue.path.join('.')}`, issue.message);
  }
  const o = parsed.data;
  const log = logger ?? silentLogger();
  const spec = makeChainSpec({ preset: o.preset, fork: o.fork, genesisTime: o.genesisTime ?? Math.floor(Date.now() / 1000), secondsPerSlot: o.secondsPerSlot, seed: o.seed });
  const chain = new BeaconChain(spec, o.seed, o.finalityLagSlots);
  // Derive the committees before the first block so the slot clock is not held up by key generation.
  chain.prepareCommittees(chain.currentSlot());
  const http = new BeaconHttp(chain, o.upstream, log);
  const url = await http.listen(o.port);
  const follower = new Follower(chain, o.upstream, log);
  follower.start();

  const close = async (): Promise<void> => {
    follower.stop();
    await http.close();
  };

  // A trust root needs a finalized block: about lag + 2 slots after the first block.
  const deadline = Date.now() + o.startTimeoutMs;
  while (!chain.finalized()) {
    if (Date.now() > deadline) {
      await close();
      throw new NotReadyError(`beacon facade: no finalized block within ${o.startTimeoutMs} ms (is ${o.upstream} producing blocks?)`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  log.debug({ url, preset: o.preset, fork: o.fork }, 'beacon facade ready');

  return {
    url,
    rpcUrl: `${url}/rpc`,
    trustRoot: () => {
      const f = chain.finalized();
      if (!f) throw new NotReadyError('beacon facade: nothing is finalized');
      return {
        preset: o.preset,
        genesisValidatorsRoot: hex(spec.genesisValidatorsRoot),
        genesisTime: spec.genesisTime,
        secondsPerSlot: spec.secondsPerSlot,
        forks: Object.fromEntries(FORKS.map((name) => [name, { version: hex(spec.versions[name]), epoch: forkEpoch(spec, name) }])) as BeaconTrustRootJson['forks'],
        trustedBlockRoot: hex(f.root),
        beaconEndpoints: [url],
      };
    },
    finalizedExecution: () => {
      const f = chain.finalized();
      return f ? { blockNumber: f.executionNumber, blockHash: f.executionHash } : null;
    },
    currentSlot: () => chain.currentSlot(),
    faults: chain.faults,
    close,
  };
}
