import { randomInt } from 'node:crypto';
import { join } from 'node:path';
import { Contract, Wallet, parseEther } from 'ethers';
import type { Logger } from 'pino';
import { evmChainId } from '../domain/caip.ts';
import type { ChainRegistration } from '../domain/chain.ts';
import type { Hex } from '../domain/hex.ts';
import { makeProvider } from '../evm/provider.ts';
import { TxSender } from '../evm/signer.ts';
import { ANVIL_DEV_KEY, startAnvil, type AnvilProcess } from '../governance/anvil.ts';
import type { GovernanceClient } from '../governance/client.ts';
import type { GovernPath } from '../governance/govern.ts';
import { deployDemoApps, deployPort } from '../../adapters/evm/deploy.ts';
import { portArtifacts } from '../../adapters/evm/artifacts.ts';
import type { HubKeys } from '../governance/keys.ts';
import type { DemoChainState } from './state.ts';

export interface DemoNetwork {
  chains: (DemoChainState & { url: string; anvil: AnvilProcess })[];
  /** Starts the demo traffic: each chain's DemoSender pings the other in turn. */
  startTraffic(intervalMs: number): () => Promise<void>;
  stop(): Promise<void>;
}

function newDemoChainId(exclude: Set<bigint>): bigint {
  for (;;) {
    const id = BigInt(randomInt(100_000, 2_000_000_000));
    if (id !== 31337n && !exclude.has(id)) return id;
  }
}

/** Funds an address from anvil's dev account (demo and governance anvils only). */
export async function fundFromDev(url: string, chainId: bigint, to: string[], amount = parseEther('1000')): Promise<void> {
  const provider = makeProvider(url, chainId, { pollingMs: 100 });
  try {
    const dev = new TxSender(ANVIL_DEV_KEY, provider);
    for (const a of to) {
      if ((await provider.getBalance(a)) < amount / 2n) await dev.send({ to: a, value: amount });
    }
  } finally {
    provider.destroy();
  }
}

/** From automine to a block every `seconds`, as `--block-time` would have been from the start. */
async function startIntervalMining(url: string, chainId: bigint, seconds: number): Promise<void> {
  const provider = makeProvider(url, chainId);
  try {
    await provider.send('evm_setIntervalMining', [seconds]);
  } finally {
    provider.destroy();
  }
}

/**
 * Two local EVM member chains on anvil (block time 1 s, finality depth 2), each
 * with a port, a demo receiver and a demo sender, registered and approved in the
 * ChainRegistry. State is persisted, so a restart continues the same chains.
 */
export async function startDemoNetwork({
  dataDir,
  saved,
  gov,
  governor,
  govern,
  keys,
  blockTime,
  finalityDepth,
  stateIntervalSeconds = 1,
  gasLimit,
  ports = {},
  senderAddresses = [],
  logger,
}: {
  dataDir: string;
  saved: DemoChainState[] | undefined;
  gov: GovernanceClient;
  governor: TxSender;
  /** Approvals go through governance (the council). */
  govern: GovernPath;
  keys: HubKeys;
  blockTime: number;
  finalityDepth: number;
  /** anvil `--state-interval` of each demo chain (config `demo.stateIntervalSeconds`). */
  stateIntervalSeconds?: number;
  /** anvil `--gas-limit` of each demo chain (config `demo.gasLimit`); anvil's default when unset. */
  gasLimit?: number;
  /** Relayer sender slot addresses (config `relayer.senderSlots`): funded on every demo chain, also after a restart (the count may have grown). */
  senderAddresses?: string[];
  /** Settings of ports deployed now (config `attestors.rotationGraceSeconds`, `registry.maxRootAgeSeconds`). */
  ports?: { rotationGraceSeconds?: number; maxRegistryAge?: number };
  logger: Logger;
}): Promise<DemoNetwork> {
  const artifacts = await portArtifacts();
  const set = await gov.attestors();
  const taken = new Set<bigint>([gov.chainId]);
  const chains: DemoNetwork['chains'] = [];
  const governorWallet = new Wallet(keys.governor);
  const relayerWallet = new Wallet(keys.relayer);
  try {
    for (let i = 0; i < 2; i++) {
      const prev = saved?.[i];
      const numericId = prev ? BigInt(prev.numericId) : newDemoChainId(taken);
      taken.add(numericId);
      // Started on automine, so the deployment below takes one round trip per transaction instead of one block
      // time (5 s of a hub's start per chain); the chain keeps its block time from the moment it is handed over.
      const anvil = await startAnvil({
        chainId: numericId,
        stateInterval: stateIntervalSeconds,
        stateFile: join(dataDir, 'demo', `chain-${numericId}.json`),
        logger,
        ...(gasLimit === undefined ? {} : { args: ['--gas-limit', String(gasLimit)] }),
      });
      const chainId = evmChainId(numericId);
      if (prev) {
        chains.push({ ...prev, url: anvil.url, anvil });
        if (senderAddresses.length) await fundFromDev(anvil.url, numericId, senderAddresses);
        await startIntervalMining(anvil.url, numericId, blockTime);
        continue;
      }
      await fundFromDev(anvil.url, numericId, [governorWallet.address, relayerWallet.address, ...senderAddresses]);
      const provider = makeProvider(anvil.url, numericId, { pollingMs: 100 });
      const deployer = new TxSender(keys.governor, provider);
      const port = await deployPort(deployer, artifacts, {
        chainId,
        govChainId: gov.chainId,
        messageLog: gov.addresses.messageLog,
        attestors: set.members,
        threshold: set.threshold,
        setId: set.setId,
        ...ports,
      });
      const apps = await deployDemoApps(deployer, artifacts, port);
      provider.destroy();
      chains.push({ chainId, numericId: numericId.toString(), port, receiver: apps.receiver, sender: apps.sender, url: anvil.url, anvil });
      await startIntervalMining(anvil.url, numericId, blockTime);
      logger.info({ chainId, port }, 'demo chain deployed');
    }
  } catch (err) {
    for (const c of chains) await c.anvil.stop();
    throw err;
  }
  // Registration is idempotent across restarts: endpoints change (free ports), so submit again while pending.
  const registered = new Map((await gov.chains()).map((c) => [c.chainId, c]));
  for (const c of chains) {
    const provider = makeProvider(c.url, BigInt(c.numericId));
    const genesis = (await provider.getBlock(0))!.hash as Hex;
    provider.destroy();
    const reg: Omit<ChainRegistration, 'status'> = {
      chainId: c.chainId as ChainRegistration['chainId'],
      family: 'evm',
      genesisHash: genesis,
      port: c.port.toLowerCase() as Hex,
      lightClient: 'local-dev',
      trustRoot: '0x',
      finality: { kind: 'depth', depth: finalityDepth },
      endpoints: [c.url],
    };
    const existing = registered.get(reg.chainId);
    if (!existing) {
      await gov.submitChain(governor, reg);
      await gov.setChainStatus(govern, c.chainId, 'approve');
    } else if (existing.endpoints[0] !== c.url) {
      // A restarted demo anvil listens on a new free port: the registry's endpoint follows it.
      await gov.updateEndpoints(governor, c.chainId, [c.url]);
    }
  }
  return {
    chains,
    startTraffic(intervalMs: number) {
      let n = 0;
      let stopped = false;
      let inflight: Promise<void> = Promise.resolve();
      const senders = chains.map((c) => {
        const provider = makeProvider(c.url, BigInt(c.numericId), { pollingMs: 250 });
        return { c, provider, tx: new TxSender(keys.governor, provider), contract: new Contract(c.sender, artifacts.DemoSender.abi as never, provider) };
      });
      const timer = setInterval(() => {
        if (stopped) return;
        const from = senders[n % 2]!;
        const to = chains[(n + 1) % 2]!;
        n++;
        const data = from.contract.interface.encodeFunctionData('ping', [to.chainId, to.port, to.receiver, new TextEncoder().encode(`hello #${n} from ${from.c.chainId}`)]);
        inflight = from.tx.send({ to: from.c.sender, data }).then(
          () => undefined,
          (err: unknown) => logger.warn({ err }, 'demo send failed'),
        );
      }, intervalMs);
      return async () => {
        stopped = true;
        clearInterval(timer);
        await inflight;
        for (const s of senders) s.provider.destroy();
      };
    },
    async stop() {
      await Promise.all(chains.map((c) => c.anvil.stop()));
    },
  };
}
