import { randomInt } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { AbiCoder, Interface, keccak256 } from 'ethers';
import type { Logger } from 'pino';
import { portArtifacts } from '../../adapters/evm/artifacts.ts';
import { ADAPTER_FACTORIES } from '../../adapters/index.ts';
import { Attestor } from '../../relayer/attestor/attestor.ts';
import { SignedRootRecord } from '../../relayer/attestor/record.ts';
import { createQueueBackend } from '../../relayer/queue/index.ts';
import type { QueueBackend } from '../../relayer/queue/types.ts';
import { laneFeeWaiting } from '../../relayer/fees.ts';
import { Relayer } from '../../relayer/relayer.ts';
import { attestationsPlugin } from '../api/attestations.ts';
import { paymentsPlugin } from '../api/payments.ts';
import { registriesCompliance } from '../settlement/service.ts';
import { HubMetrics } from '../api/metrics.ts';
import { registryApiPlugin } from '../api/registries/index.ts';
import { registryProofPlugin } from '../api/registry-proofs.ts';
import { SnapshotLogClient } from '../governance/snapshots.ts';
import { registryProofDeps } from '../registries/snapshot/hub-deps.ts';
import { startApi, type HealthReport } from '../api/server.ts';
import type { Config } from '../config.ts';
import type { AdapterContext } from '../domain/adapter.ts';
import type { Hex } from '../domain/hex.ts';
import { ConfigError, redactUrl } from '../errors.ts';
import { fetchChainId, makeProvider } from '../evm/provider.ts';
import { TxSender } from '../evm/signer.ts';
import { startAnvil, type AnvilProcess } from '../governance/anvil.ts';
import { governanceArtifacts } from '../governance/artifacts.ts';
import { GovernanceClient } from '../governance/client.ts';
import { CouncilClient, councilGovernance } from '../governance/council.ts';
import { deployGovernance, ensureGovernance, governedContracts, type GovernanceContracts } from '../governance/deploy.ts';
import type { GovernPath } from '../governance/govern.ts';
import { addressOf, loadOrCreateKeys, relayerSenderAddresses } from '../governance/keys.ts';
import { AuditLog } from '../index/audit/store.ts';
import { openIndex } from '../index/open.ts';
import { registryArtifacts } from '../registries/artifacts.ts';
import { connectRegistries, type Registries } from '../registries/index.ts';
import { buildRegistrySnapshot } from '../registries/snapshot/builder.ts';
import type { MessageIndex } from '../index/types.ts';
import { fundFromDev, startDemoNetwork, type DemoNetwork } from './demo.ts';
import { ProposalExecutor } from './proposal-executor.ts';
import { RegistryEventRecorder } from './registry-events.ts';
import { RegistryFollower } from './registry-follower.ts';
import { loadState, saveState, type HubState } from './state.ts';
import { cleanupStack } from './cleanups.ts';
import { ensureGovernanceMember, type GovernanceMemberState } from './settlement-member.ts';
import { ensureSettlement, keepDemoRatesFresh, type SettlementDeployment } from './settlement-setup.ts';
import { SettlementKeeper } from './settlement-keeper.ts';
import { installFastKeccak } from '../evm/keccak.ts';

export interface RunningHub {
  apiUrl: string;
  governance: {
    url: string;
    chainId: bigint;
    client: GovernanceClient;
    council: CouncilClient;
    /** Governance writes of the hub's governor key: proposals on the council (executed at once when one key suffices). */
    path: GovernPath;
    contracts: GovernanceContracts;
  };
  /** The identity, issuer and credit registries on the governance chain. */
  registries: Registries;
  index: MessageIndex;
  readonly relayer: Relayer;
  /** Stops the relayer and starts it again on the same index and queues (fault tests; `relayer` then is the new one). */
  restartRelayer(): Promise<void>;
  demo: DemoNetwork | null;
  /** The governance chain as a member chain (settlement enabled), else null. */
  governanceMember: GovernanceMemberState | null;
  /** SettlementHub, the demo escrows and tokens, the keeper; null when settlement is off (or has no demo chains). */
  settlement: { deployment: SettlementDeployment; keeper: SettlementKeeper; operator: TxSender } | null;
  dataDir: string;
  /** Stops the demo traffic only (tests send their own). */
  stopTraffic(): Promise<void>;
  stop(): Promise<void>;
}

function newGovChainId(): bigint {
  // Every install gets its own governance chain id (never anvil's 31337).
  for (;;) {
    const id = BigInt(randomInt(1_000_000, 2_000_000_000));
    if (id !== 31337n) return id;
  }
}

/**
 * Starts the hub: governance chain (embedded anvil or --governance-rpc),
 * contracts (deployed on first start), index, queues, attestor, relayer, API,
 * and with `demo.enabled` two member chains sending messages.
 */
export async function startHub(config: Config, { logger, trafficIntervalMs }: { logger: Logger; trafficIntervalMs?: number }): Promise<RunningHub> {
  await installFastKeccak();
  const dataDir = resolve(config.dataDir);
  await mkdir(dataDir, { recursive: true });
  const stateFile = join(dataDir, 'hub.json');
  const state: HubState = await loadState(stateFile);
  const { keys, created } = await loadOrCreateKeys(join(dataDir, 'keys.json'));
  if (created) logger.info({ governor: addressOf(keys.governor), relayer: addressOf(keys.relayer), attestor: addressOf(keys.attestor) }, 'generated the hub keys');
  const cleanups = cleanupStack(logger);
  const cleanup = () => cleanups.run();
  try {
    // ------------------------------------------------------- governance chain
    let govUrl: string;
    let govChainId: bigint;
    let anvil: AnvilProcess | null = null;
    if (config.governance.rpc) {
      govUrl = config.governance.rpc;
      govChainId = await fetchChainId(govUrl);
      if (state.governance && BigInt(state.governance.chainId) !== govChainId) {
        throw new ConfigError('governance.rpc', `serves chain ${govChainId}, but this data folder belongs to governance chain ${state.governance.chainId}`);
      }
    } else {
      govChainId = state.governance ? BigInt(state.governance.chainId) : newGovChainId();
      anvil = await startAnvil({ chainId: govChainId, stateFile: join(dataDir, 'governance', 'state.json'), logger: logger.child({ component: 'governance-anvil' }) });
      cleanups.push(() => anvil!.stop());
      govUrl = anvil.url;
      await fundFromDev(govUrl, govChainId, [addressOf(keys.governor), addressOf(keys.relayer), ...(config.settlement.enabled ? [addressOf(keys.govDeliverer!), addressOf(keys.lp!), addressOf(keys.timeoutAuthority!)] : [])]);
    }
    const provider = makeProvider(govUrl, govChainId, { pollingMs: 100 });
    cleanups.push(async () => provider.destroy());
    const governor = new TxSender(keys.governor, provider);
    // Worker processes and the hub commit from this key in turn (one commit at a time across them).
    const committer = new TxSender(keys.relayer, provider, { nonceFromChain: true });
    const [govArtifacts, regArtifacts] = await Promise.all([governanceArtifacts(), registryArtifacts()]);
    const artifacts = { ...govArtifacts, registries: regArtifacts };
    let saved = state.governance?.contracts;
    if (saved && (await provider.getCode(saved.messageLog)) === '0x') {
      // The governance chain lost its state (e.g. killed before it was written): start over.
      logger.warn({ messageLog: saved.messageLog }, 'governance contracts are gone from the chain; deploying anew');
      saved = undefined;
      delete state.demo;
    }
    if (saved) {
      // The chain's saved state is a prefix of what was sent: contracts deployed last may be missing. They are deployed again.
      for (const k of ['council', 'identityRegistry', 'issuerRegistry', 'creditRegistry'] as const) {
        const a = saved[k];
        if (a && (await provider.getCode(a)) === '0x') {
          logger.warn({ contract: k, address: a }, 'a governance contract is gone from the chain; deploying it again');
          delete saved[k];
        }
      }
    }
    let contracts: GovernanceContracts;
    if (!saved) {
      contracts = await deployGovernance(governor, artifacts, {
        attestors: [addressOf(keys.attestor)],
        threshold: 1,
        committer: committer.address,
        councilDelaySeconds: config.governance.council.delaySeconds,
      });
      state.governance = { chainId: govChainId.toString(), contracts, external: !!config.governance.rpc };
      await saveState(stateFile, state);
      logger.info({ govChainId: govChainId.toString(), ...contracts }, 'governance contracts deployed');
    } else {
      // A data folder from before the council gets one, and the registries; otherwise only checks.
      const g = state.governance!;
      contracts = await ensureGovernance(governor, artifacts, saved, {
        councilDelaySeconds: config.governance.council.delaySeconds,
        committer: committer.address,
        logger,
        save: async (c) => {
          g.contracts = c;
          await saveState(stateFile, state);
        },
      });
    }
    const gov = new GovernanceClient(provider, govChainId, contracts, govArtifacts);
    const council = new CouncilClient(provider, contracts.council, govArtifacts.Council, {
      targets: governedContracts(contracts, { ...govArtifacts, ...regArtifacts }).map((t) => t.iface),
    });
    const path = councilGovernance(council, governor);
    const councilDelay = (await council.config()).delaySeconds;
    if (councilDelay !== BigInt(config.governance.council.delaySeconds)) {
      // The council governs itself: the setting only applies to a council deployed anew.
      logger.warn({ council: contracts.council, delaySeconds: councilDelay.toString(), configured: config.governance.council.delaySeconds }, 'the council\'s timelock differs from governance.council.delaySeconds; change it by a council proposal (setDelay)');
    }
    const registries = connectRegistries(provider, contracts, regArtifacts);

    // ---------------------------------------------------------- member chains
    let demo: DemoNetwork | null = null;
    if (config.demo.enabled) {
      demo = await startDemoNetwork({
        dataDir,
        saved: state.demo?.chains,
        gov,
        governor,
        govern: path,
        ports: { rotationGraceSeconds: config.attestors.rotationGraceSeconds, maxRegistryAge: config.registry.maxRootAgeSeconds },
        keys,
        blockTime: config.demo.blockTime,
        finalityDepth: config.demo.finalityDepth,
        stateIntervalSeconds: config.demo.stateIntervalSeconds,
        ...(config.demo.gasLimit === undefined ? {} : { gasLimit: config.demo.gasLimit }),
        senderAddresses: relayerSenderAddresses(keys.relayer, config.relayer.senderSlots),
        logger: logger.child({ component: 'demo' }),
      });
      cleanups.push(() => demo!.stop());
      state.demo = { chains: demo.chains.map(({ url: _u, anvil: _a, ...c }) => c) };
      await saveState(stateFile, state);
    }
    const demoIds = new Set(demo?.chains.map((c) => c.chainId) ?? []);

    // ------------------------------------------- the governance chain as a member (settlement)
    let govMember: GovernanceMemberState | null = null;
    if (config.settlement.enabled) {
      if (!anvil && !config.dev) {
        // local-dev trust is accepted only for chains the hub started: an external governance chain needs a real light client registration.
        logger.warn('settlement needs the governance chain as a member chain: with governance.rpc, register it with a light client (local-dev is accepted only with --dev)');
      }
      govMember = await ensureGovernanceMember({
        saved: state.governanceMember,
        provider,
        url: govUrl,
        gov,
        governor,
        govern: path,
        finalityDepth: config.governance.finalityDepth,
        ports: { rotationGraceSeconds: config.attestors.rotationGraceSeconds, maxRegistryAge: config.registry.maxRootAgeSeconds },
        logger: logger.child({ component: 'settlement' }),
      });
      state.governanceMember = govMember;
      await saveState(stateFile, state);
    }
    const govMemberId = govMember?.chainId;
    let settlement: RunningHub['settlement'] = null;
    if (govMember && !demo) {
      logger.warn('settlement is enabled but there are no demo chains: SettlementHub and escrows are deployed only with the demo network for now');
    }
    if (govMember && demo) {
      const deployment = await ensureSettlement({
        saved: state.settlement,
        govProvider: provider,
        governor,
        govern: path,
        registries: contracts,
        member: govMember,
        chains: demo.chains.map((c) => ({ chainId: c.chainId, numericId: c.numericId, url: c.url, port: c.port })),
        keys: { governor: keys.governor, lp: keys.lp! },
        logger: logger.child({ component: 'settlement' }),
      });
      cleanups.push(async () => deployment.close());
      state.settlement = deployment.state;
      await saveState(stateFile, state);
      const stopRates = keepDemoRatesFresh(deployment, keys.lp!, 60_000, logger.child({ component: 'settlement-rates' }));
      cleanups.push(async () => stopRates());
      // The hub key opens payments (operator) and aborts the late ones; its TxSender is shared so nonces stay in order.
      const keeper = new SettlementKeeper(deployment.hub, governor, logger.child({ component: 'settlement-keeper' }));
      keeper.start(config.settlement.keeperIntervalMs);
      cleanups.push(() => keeper.stop());
      settlement = { deployment, keeper, operator: governor };
    }
    // Cancel orders of ports without a trustworthy clock (Fabric) travel from the governance chain's port.
    const cancelOrders = govMember && keys.timeoutAuthority ? await cancelOrderIssuer(new TxSender(keys.timeoutAuthority, provider), govMember) : undefined;
    const localDevOk = (id: string) => config.dev || demoIds.has(id) || (id === govMemberId && anvil !== null);

    // ---------------------------------------------------- index, queues, relayer
    const index = await openIndex({ databaseUrl: config.databaseUrl, dataDir: join(dataDir, 'index'), logger });
    cleanups.push(() => index.close());
    if (config.index.retentionDays > 0) {
      // Retention: finished messages and their stored proofs older than the setting are removed, hourly.
      const days = config.index.retentionDays;
      const prune = async () => {
        try {
          let n: number;
          let total = 0;
          do {
            n = await index.pruneFinishedBefore(new Date(Date.now() - days * 86_400_000));
            total += n;
          } while (n > 0);
          if (total) logger.info({ pruned: total, retentionDays: days }, 'index retention');
        } catch (err) {
          logger.warn({ err }, 'index retention failed');
        }
      };
      await prune();
      const timer = setInterval(() => void prune(), 3_600_000);
      timer.unref();
      cleanups.push(async () => clearInterval(timer));
    }
    const queues: QueueBackend = createQueueBackend({ redisUrl: config.redisUrl, prefix: `qiao-${govChainId}`, logger: logger.child({ component: 'queue' }) });
    cleanups.push(() => queues.close());
    const record = SignedRootRecord.open(join(dataDir, 'attestor', `${addressOf(keys.attestor).toLowerCase()}.jsonl`));
    cleanups.push(async () => record.close());
    // The attestor recomputes every snapshot it signs from the registries itself (its own reader, no shared cache).
    const snapshotOf = (b: bigint) => buildRegistrySnapshot(registries, b);
    const attestor = new Attestor(keys.attestor, gov, record, {
      finalityDepth: config.governance.finalityDepth,
      logger: logger.child({ component: 'attestor' }),
      snapshots: (b: bigint) => buildRegistrySnapshot(connectRegistries(provider, contracts, regArtifacts), b),
    });
    const relayerDeps: Parameters<typeof Relayer.start>[0] = {
      index,
      gov,
      committer,
      attestors: [attestor],
      queues,
      settings: { ...config.relayer, govFinalityDepth: config.governance.finalityDepth },
      logger: logger.child({ component: 'relayer' }),
      // Deliveries on the governance chain pay from their own key: `relayer` commits batches there from another nonce counter.
      adapterFactories: { ...ADAPTER_FACTORIES, evm: (reg, ctx) => ADAPTER_FACTORIES.evm(reg, reg.chainId === govMemberId && keys.govDeliverer ? { ...ctx, relayerKey: keys.govDeliverer } : ctx) },
      adapterContext: { relayerKey: keys.relayer, portAdminKey: keys.governor, attestorKeys: [keys.attestor], dataDir: join(dataDir, 'adapters'), attestation: { chainId: govChainId, verifyingContract: contracts.messageLog }, ...(cancelOrders ? { cancelOrders } : {}) },
      allowLocalDev: localDevOk,
      snapshots: { source: snapshotOf, intervalMs: config.registry.snapshotIntervalMs, refreshSeconds: Math.floor(config.registry.maxRootAgeSeconds / 2) },
      // Two validly sealed conflicting headers: the chain is frozen through the council's emergency path.
      onMisbehaviour: async (chainId) => {
        const r = await gov.setChainStatus(path, chainId, 'freeze', { emergency: true });
        return r;
      },
    };
    // `let`: restartRelayer() replaces it; every user below reads the variable, not a copy.
    let relayer = await Relayer.start(relayerDeps);
    cleanups.push(() => relayer.stop());
    /** A relayer worker restart in place (as after a crash): queued work is recovered from the index. */
    const restartRelayer = async () => {
      await relayer.stop();
      relayer = await Relayer.start(relayerDeps);
      await relayer.sync(await gov.chains());
    };

    // The relayer follows the registry's events without a restart.
    const follower = await RegistryFollower.start({ gov, sync: (chains) => relayer.sync(chains), logger: logger.child({ component: 'registry-follower' }) });
    cleanups.push(() => follower.stop());

    // Timelocked council decisions take effect once they are ready, without anyone typing `governance execute`.
    const executor = new ProposalExecutor(council, governor, logger.child({ component: 'council' }));
    const executorTimer = setInterval(() => {
      executor.tick().catch((err: unknown) => logger.warn({ err }, 'checking council proposals failed'));
    }, 5000);
    executorTimer.unref();
    cleanups.push(async () => clearInterval(executorTimer));

    // The registries' events (a chain's status history, council decisions, ...) go to the index,
    // up to the final governance height. MessageLog batches are indexed by the relayer itself.
    const sources = governedContracts(contracts, { ...govArtifacts, ...regArtifacts }).filter((c) => c.name !== 'MessageLog');
    const recorder = new RegistryEventRecorder(index, provider, () => sources, logger.child({ component: 'registry-events' }));
    let recording = true;
    const recordEvents = async () => {
      while (recording) {
        try {
          const head = BigInt(await provider.getBlockNumber()) - BigInt(config.governance.finalityDepth);
          if (head >= 0n) await recorder.catchUp(head);
        } catch (err) {
          logger.warn({ err }, 'recording registry events failed; retrying');
        }
        await new Promise((r) => setTimeout(r, 1000).unref());
      }
    };
    const recorderLoop = recordEvents();
    cleanups.push(async () => {
      recording = false;
      await recorderLoop;
    });

    // -------------------------------------------------------------------- API
    const health = async (): Promise<HealthReport> => {
      const head = await provider.getBlockNumber().catch(() => null);
      const chains = await Promise.all(
        (await index.listChains()).map(async (c) => {
          const conn = relayer.ctx.chains.get(c.chainId);
          const heads = conn ? await conn.adapter.watcher.heads().catch(() => null) : null;
          const cp = await index.getCheckpoint(c.chainId);
          return {
            chainId: c.chainId,
            status: c.status,
            head: heads ? heads.head.toString() : null,
            finalized: heads ? heads.finalized.toString() : null,
            checkpoint: cp === null ? null : cp.toString(),
            lag: heads && cp !== null ? (heads.finalized - cp).toString() : null,
          };
        }),
      );
      const q: HealthReport['queues'] = {};
      for (const [name, queue] of Object.entries(relayer.ctx.queues)) q[name] = await queue.counts();
      return { ok: head !== null, governance: head === null ? null : { url: redactUrl(govUrl), chainId: govChainId.toString(), head: String(head) }, chains, queues: q };
    };
    // Every registry read through the API is audited, in the index's database.
    const audit = await AuditLog.open(index.database, { logger });
    const metrics = new HubMetrics({ index, health, logger: logger.child({ component: 'metrics' }), laneFeeHolds: () => index.laneHolds(), connections: () => relayer.ctx.chains });
    await metrics.start();
    cleanups.push(() => metrics.stop());
    const proofDeps = registryProofDeps({
      log: new SnapshotLogClient(gov),
      registries,
      index,
      audit: async () => undefined,
      domain: { chainId: govChainId, verifyingContract: contracts.messageLog },
      logger: logger.child({ component: 'registry-proofs' }),
    });
    const plugins = [
      registryApiPlugin({ registries, audit, govChainId, apiKeys: config.api.keys, logger: logger.child({ component: 'registries-api' }) }),
      registryProofPlugin({ ...proofDeps, audit, apiKeys: config.api.keys }),
      // Attestor processes run elsewhere (other organisations, their own keys) post their signatures here.
      attestationsPlugin({ index, gov, logger: logger.child({ component: 'attestations-api' }) }),
      metrics.plugin(),
      // Quotes, payments, corridors: the hub key opens payments as SettlementHub's operator.
      ...(settlement
        ? [
            paymentsPlugin({
              hub: settlement.deployment.hub,
              escrows: new Map([...settlement.deployment.escrows].map(([id, e]) => [id, e.client])),
              operator: settlement.operator,
              compliance: registriesCompliance(registries),
              index,
              logger: logger.child({ component: 'payments-api' }),
              quoteTtlSeconds: config.settlement.quoteTtlSeconds,
            }),
          ]
        : []),
    ];
    // Held lanes are in the index, whichever relayer process (this one or a worker) holds them.
    const waitingOf = laneFeeWaiting(index);
    const api = await startApi({ index, health, logger: logger.child({ component: 'api' }), plugins, waitingOf }, { host: config.api.host, port: config.api.port });
    cleanups.push(() => api.close());
    state.apiUrl = api.url;
    state.governanceUrl = govUrl;
    await saveState(stateFile, state);

    let stopTraffic: () => Promise<void> = async () => {};
    // trafficIntervalMs 0: the demo chains run, but only the caller sends (tests).
    if (demo && trafficIntervalMs !== 0) {
      stopTraffic = demo.startTraffic(trafficIntervalMs ?? config.demo.intervalMs);
      cleanups.push(() => stopTraffic());
    }
    let stopped: Promise<void> | null = null;
    return {
      apiUrl: api.url,
      governance: { url: govUrl, chainId: govChainId, client: gov, council, path, contracts },
      registries,
      index,
      get relayer() {
        return relayer;
      },
      restartRelayer,
      demo,
      governanceMember: govMember,
      settlement,
      dataDir,
      stopTraffic: () => stopTraffic(),
      stop: () => (stopped ??= cleanup()),
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** Gas of a cancel order at its destination: the port applies it itself (a receipt, the cancel ack), no receiver runs. */
const CANCEL_ORDER_GAS = 300_000n;

/**
 * Sends cancel orders as the hub's timeout authority: an ordinary Qiao message on the governance chain's
 * QiaoPort to the destination port itself, payload abi.encode(uint8 3, bytes32 originalId, bytes original),
 * no timeout (an order never times out). It is relayed and attested like any message before a port applies it.
 */
async function cancelOrderIssuer(authority: TxSender, member: GovernanceMemberState): Promise<NonNullable<AdapterContext['cancelOrders']>> {
  const iface = new Interface((await portArtifacts()).QiaoPort.abi as never);
  const govPort = member.port.toLowerCase() as Hex;
  const coder = AbiCoder.defaultAbiCoder();
  return {
    sender: authority.address.toLowerCase() as Hex,
    govChain: member.chainId,
    govPort,
    async issue({ dstChain, dstPort, original }) {
      const payload = coder.encode(['uint8', 'bytes32', 'bytes'], [3, keccak256(original), original]);
      const r = await authority.send({ to: govPort, data: iface.encodeFunctionData('send', [dstChain, dstPort, dstPort, CANCEL_ORDER_GAS, 0n, 0n, payload]) });
      return { txHash: r.hash as Hex, height: BigInt(r.blockNumber) };
    },
  };
}
