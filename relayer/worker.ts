import { access } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { ADAPTER_FACTORIES } from '../adapters/index.ts';
import type { Config } from '../src/config.ts';
import { ConfigError, redactUrl } from '../src/errors.ts';
import { fetchChainId, makeProvider } from '../src/evm/provider.ts';
import { TxSender } from '../src/evm/signer.ts';
import { governanceArtifacts } from '../src/governance/artifacts.ts';
import { GovernanceClient } from '../src/governance/client.ts';
import { addressOf, loadOrCreateKeys } from '../src/governance/keys.ts';
import { openIndex } from '../src/index/open.ts';
import { RegistryFollower } from '../src/main/registry-follower.ts';
import { loadState } from '../src/main/state.ts';
import { Attestor } from './attestor/attestor.ts';
import { SignedRootRecord } from './attestor/record.ts';
import { createBullmqBackend } from './queue/bullmq.ts';
import { DEFAULT_LEASE_TTL_MS, defaultLeaseHolder, Relayer, type LeaseSettings } from './relayer.ts';
import { senderKeyFor, takeSenderSlot } from './sender-slot.ts';
import { cleanupStack } from '../src/main/cleanups.ts';
import { installFastKeccak } from '../src/evm/keccak.ts';

export interface RelayerWorker {
  relayer: Relayer;
  govChainId: bigint;
  /** Stops taking jobs, lets in-flight jobs finish (or hands them back), releases the leases, closes connections. */
  stop(): Promise<void>;
}

export interface WorkerOptions {
  logger: Logger;
  leases?: LeaseSettings;
}

/**
 * A relayer worker process (`qiao relayer start`): every pipeline stage and
 * the lease-guarded chain watchers of a hub that runs on BullMQ and
 * PostgreSQL, without the API, the demo or an embedded governance chain. The
 * hub's data folder gives the governance chain (hub.json) and the keys
 * (keys.json); the queues and the index are shared through Redis and
 * PostgreSQL, so any number of workers can join and leave while traffic flows.
 *
 * It runs the hub's attestor key too (attestors of other organisations run
 * `qiao attestor start` with their own keys), with the same signed-root record file in
 * the data folder; the roots it signs are read from the governance chain, so
 * two processes can only ever sign the same root for a batch.
 */
export async function startRelayerWorker(config: Config, { logger, leases }: WorkerOptions): Promise<RelayerWorker> {
  await installFastKeccak();
  if (!config.redisUrl) throw new ConfigError('redisUrl', 'a relayer worker shares its queues through Redis: set REDIS_URL');
  if (!config.databaseUrl) throw new ConfigError('databaseUrl', 'a relayer worker shares the index through PostgreSQL: set DATABASE_URL');
  const dataDir = resolve(config.dataDir);
  const state = await loadState(join(dataDir, 'hub.json'));
  if (!state.governance) throw new ConfigError('dataDir', `${dataDir} holds no hub: start the hub once (qiao start) before its workers`);
  const keysFile = join(dataDir, 'keys.json');
  try {
    await access(keysFile);
  } catch (cause) {
    // Never generate keys here: a worker with keys of its own would sign for nobody.
    throw new ConfigError('dataDir', `${keysFile} is missing: a worker uses the hub's keys`, { cause });
  }
  const { keys } = await loadOrCreateKeys(keysFile);
  const govUrl = config.governance.rpc ?? state.governanceUrl;
  if (!govUrl) throw new ConfigError('governance.rpc', 'no governance RPC known: set governance.rpc (QIAO_GOVERNANCE_RPC)');
  const govChainId = BigInt(state.governance.chainId);
  const served = await fetchChainId(govUrl);
  if (served !== govChainId) throw new ConfigError('governance.rpc', `${redactUrl(govUrl)} serves chain ${served}, this hub's governance chain is ${govChainId}`);

  const cleanups = cleanupStack(logger);
  const cleanup = () => cleanups.run();
  try {
    const provider = makeProvider(govUrl, govChainId, { pollingMs: 100 });
    cleanups.push(async () => provider.destroy());
    const gov = new GovernanceClient(provider, govChainId, state.governance.contracts, await governanceArtifacts());
    // Worker processes and the hub commit from this key in turn (one commit at a time across them).
    const committer = new TxSender(keys.relayer, provider, { nonceFromChain: true });
    const index = await openIndex({ databaseUrl: config.databaseUrl, logger });
    cleanups.push(() => index.close());
    // The hub's prefix: workers and hub share queues and leases.
    const queues = createBullmqBackend({ connection: config.redisUrl, prefix: `qiao-${govChainId}`, logger: logger.child({ component: 'queue' }) });
    cleanups.push(() => queues.close());
    const record = SignedRootRecord.open(join(dataDir, 'attestor', `${addressOf(keys.attestor).toLowerCase()}.jsonl`));
    cleanups.push(async () => record.close());
    const attestor = new Attestor(keys.attestor, gov, record, { finalityDepth: config.governance.finalityDepth, logger: logger.child({ component: 'attestor' }) });
    const demoIds = new Set(state.demo?.chains.map((c) => c.chainId) ?? []);
    const govMemberId = state.governanceMember?.chainId;
    const holder = leases?.holder ?? defaultLeaseHolder();
    const slot = await takeSenderSlot(queues.leases, {
      relayerKey: keys.relayer,
      slots: config.relayer.senderSlots,
      holder,
      ttlMs: leases?.ttlMs ?? DEFAULT_LEASE_TTL_MS,
      ...(leases?.renewEveryMs ? { renewEveryMs: leases.renewEveryMs } : {}),
      logger,
    });
    if (slot) cleanups.push(() => slot.lease.release().then(() => undefined));
    if (slot) logger.info({ senderSlot: slot.slot, sender: slot.address }, 'sender slot taken: EVM deliveries pay from its key');
    else if (config.relayer.senderSlots > 0) logger.warn({ slots: config.relayer.senderSlots }, 'every sender slot is held: EVM deliveries pay from the shared relayer key (nonce clashes with other processes are retried)');
    const relayer = await Relayer.start({
      index,
      gov,
      committer,
      attestors: [attestor],
      queues,
      settings: { ...config.relayer, govFinalityDepth: config.governance.finalityDepth },
      logger: logger.child({ component: 'relayer' }),
      // As the hub does: deliveries on the governance chain (a member for settlement) pay from their own key,
      // so they never race the committer's nonces there; local-dev is accepted for it only when the hub runs that chain.
      // Its sender slot's key where that is funded; the relayer key (shared with the hub and slotless workers) elsewhere.
      adapterFactories: {
        ...ADAPTER_FACTORIES,
        evm: async (reg, ctx) =>
          ADAPTER_FACTORIES.evm(
            reg,
            reg.chainId === govMemberId && keys.govDeliverer
              ? { ...ctx, relayerKey: keys.govDeliverer }
              : slot
                ? { ...ctx, relayerKey: await senderKeyFor(reg, slot, keys.relayer, logger) }
                : ctx,
          ),
      },
      adapterContext: { relayerKey: keys.relayer, portAdminKey: keys.governor },
      allowLocalDev: (id) => config.dev || demoIds.has(id) || (id === govMemberId && !state.governance!.external),
      leases: { ...leases, holder },
    });
    // Stopped before the queues close: workers finish or hand back their jobs, watchers release their leases.
    cleanups.push(() => relayer.stop());
    const follower = await RegistryFollower.start({ gov, sync: (chains) => relayer.sync(chains), logger: logger.child({ component: 'registry-follower' }) });
    cleanups.push(() => follower.stop());
    logger.info({ holder: relayer.holder, govChainId: govChainId.toString(), redis: redactUrl(config.redisUrl) }, 'relayer worker started');
    let stopped: Promise<void> | null = null;
    return { relayer, govChainId, stop: () => (stopped ??= cleanup()) };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
