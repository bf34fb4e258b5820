import type { JsonRpcProvider } from 'ethers';
import type { Logger } from 'pino';
import type { Hex } from '../domain/hex.ts';
import { makeProvider } from '../evm/provider.ts';
import { TxSender } from '../evm/signer.ts';
import type { GovernPath, GovernResult } from '../governance/govern.ts';
import type { RegistryAddresses } from '../registries/types.ts';
import {
  EscrowClient,
  SettlementHubClient,
  deployDemoToken,
  deployEscrow,
  deploySettlementHub,
  escrowArtifacts,
  settlementArtifacts,
  type Corridor,
  type EscrowArtifacts,
  type SettlementArtifacts,
} from '../settlement/index.ts';
import { fundFromDev } from './demo.ts';
import type { GovernanceMemberState } from './settlement-member.ts';

/** One demo chain's settlement contracts. */
export interface SettlementChainState {
  chainId: string;
  numericId: string;
  escrow: string;
  token: string;
  symbol: string;
}

/** What the hub deployed for settlement (saved in hub.json). */
export interface SettlementState {
  hub: string;
  chains: SettlementChainState[];
  /** The demo corridors (LP key as provider), A->B then B->A. */
  corridors: number[];
}

/** A member chain the settlement demo runs on (the hub's demo chains). */
export interface SettlementChainInput {
  chainId: string;
  numericId: string;
  url: string;
  port: string;
}

export interface SettlementEscrow extends SettlementChainState {
  url: string;
  provider: JsonRpcProvider;
  client: EscrowClient;
}

export interface SettlementDeployment {
  state: SettlementState;
  hub: SettlementHubClient;
  /** By CAIP-2 chain id. */
  escrows: Map<string, SettlementEscrow>;
  artifacts: SettlementArtifacts & EscrowArtifacts;
  /** The demo liquidity provider's address (same on every chain). */
  lp: string;
  close(): void;
}

/** Demo token units (6 decimals). */
const UNIT = 1_000_000n;
const RATE_SCALE = 10n ** 18n;
/** Demo rates: 1 dUSD = 0.92 dEUR; 1 dEUR = 1/0.92 dUSD. */
export const DEMO_RATES = { forward: (92n * RATE_SCALE) / 100n, backward: (100n * RATE_SCALE) / 92n } as const;
const LP_POOL = 10_000_000n * UNIT;
const SYMBOLS = ['dUSD', 'dEUR'] as const;
const NAMES = ['Demo US Dollar', 'Demo Euro'] as const;

export const asset = (numericId: string, token: string) => `eip155:${numericId}/erc20:${token.toLowerCase()}`;

/** The demo corridor from chain `a` to chain `b` (no attestation required, generous limits). */
export function demoCorridor(a: SettlementChainState, b: SettlementChainState, lp: string, over: Partial<Corridor> = {}): Corridor {
  return {
    srcChain: a.chainId,
    srcAsset: asset(a.numericId, a.token),
    dstChain: b.chainId,
    dstAsset: asset(b.numericId, b.token),
    provider: lp,
    feeBps: 10,
    fixedFee: 0n,
    spreadBps: 20,
    fxSource: 'qiao demo (fixed)',
    minAmount: UNIT,
    maxAmount: 1_000_000n * UNIT,
    bucketCapacity: 5_000_000n * UNIT,
    bucketRefillPerSecond: 1_000n * UNIT,
    entityCapacity: 1_000_000n * UNIT,
    entityRefillPerSecond: 100n * UNIT,
    senderSchemas: [],
    receiverSchemas: [],
    expectedSeconds: 30n,
    ...over,
  };
}

function executed(r: GovernResult, what: string, logger: Logger): void {
  // With a council timelock the action waits; the proposal executor runs it once ready.
  if (!r.executed) logger.warn({ proposalId: r.proposalId.toString(), what }, 'settlement governance action waits for the council (timelock or more approvals)');
}

/**
 * Settlement on the demo network: SettlementHub on the governance chain (with
 * the governance registries for compliance), a QiaoEscrow and a DemoToken on
 * each demo chain (dUSD on the first, dEUR on the second), the LP's pools
 * funded, one approved corridor each way with a rate, the hub key an operator.
 * A saved deployment whose contracts are all still on chain is reused.
 */
export async function ensureSettlement({
  saved,
  govProvider,
  governor,
  govern,
  registries,
  member,
  chains,
  keys,
  logger,
}: {
  saved: SettlementState | undefined;
  govProvider: JsonRpcProvider;
  /** The hub key: deploys, pays, and is the operator that opens payments. */
  governor: TxSender;
  govern: GovernPath;
  registries: RegistryAddresses;
  member: GovernanceMemberState;
  chains: SettlementChainInput[];
  keys: { governor: Hex; lp: Hex };
  logger: Logger;
}): Promise<SettlementDeployment> {
  if (chains.length < 2) throw new Error('settlement needs two demo chains');
  const [sa, ea] = await Promise.all([settlementArtifacts(), escrowArtifacts()]);
  const artifacts = { ...sa, ...ea };
  const providers = new Map(chains.map((c) => [c.chainId, makeProvider(c.url, BigInt(c.numericId), { pollingMs: 100 })]));
  const close = () => {
    for (const p of providers.values()) p.destroy();
  };
  try {
    const lpGov = new TxSender(keys.lp, govProvider);
    const lp = lpGov.address;
    let state = saved && (await stillDeployed(saved, govProvider, providers, chains)) ? saved : undefined;
    if (saved && !state) logger.warn('settlement contracts are gone from a chain; deploying them anew');
    if (!state) state = await deployAll({ govProvider, governor, govern, registries, member, chains, providers, artifacts, keys, lpGov, logger });
    const hub = new SettlementHubClient(govProvider, state.hub, sa.SettlementHub);
    const escrows = new Map<string, SettlementEscrow>();
    for (const c of state.chains) {
      const provider = providers.get(c.chainId)!;
      const url = chains.find((x) => x.chainId === c.chainId)!.url;
      escrows.set(c.chainId, { ...c, url, provider, client: new EscrowClient(provider, c.escrow, ea.QiaoEscrow) });
    }
    return { state, hub, escrows, artifacts, lp, close };
  } catch (err) {
    close();
    throw err;
  }
}

async function stillDeployed(s: SettlementState, gov: JsonRpcProvider, providers: Map<string, JsonRpcProvider>, chains: SettlementChainInput[]): Promise<boolean> {
  if ((await gov.getCode(s.hub)) === '0x') return false;
  for (const c of s.chains) {
    const p = providers.get(c.chainId);
    if (!p || !chains.some((x) => x.numericId === c.numericId)) return false;
    if ((await p.getCode(c.escrow)) === '0x' || (await p.getCode(c.token)) === '0x') return false;
  }
  return true;
}

async function deployAll({
  govProvider,
  governor,
  govern,
  registries,
  member,
  chains,
  providers,
  artifacts,
  keys,
  lpGov,
  logger,
}: {
  govProvider: JsonRpcProvider;
  governor: TxSender;
  govern: GovernPath;
  registries: RegistryAddresses;
  member: GovernanceMemberState;
  chains: SettlementChainInput[];
  providers: Map<string, JsonRpcProvider>;
  artifacts: SettlementArtifacts & EscrowArtifacts;
  keys: { governor: Hex; lp: Hex };
  lpGov: TxSender;
  logger: Logger;
}): Promise<SettlementState> {
  const hubAddress = await deploySettlementHub(governor, artifacts, {
    governor: govern.governor,
    identityRegistry: registries.identityRegistry,
    issuerRegistry: registries.issuerRegistry,
    creditRegistry: registries.creditRegistry,
  });
  const hub = new SettlementHubClient(govProvider, hubAddress, artifacts.SettlementHub);
  executed(await hub.setPort(govern, member.port, member.chainId), 'setPort', logger);
  executed(await hub.setOperator(govern, governor.address, true), 'setOperator', logger);
  // Both demo chains at once: their blocks come every second, the governance chain mines at once.
  const deployed = await Promise.all(
    chains.slice(0, 2).map(async (c, i): Promise<SettlementChainState> => {
      const provider = providers.get(c.chainId)!;
      await fundFromDev(c.url, BigInt(c.numericId), [lpGov.address]);
      const deployer = new TxSender(keys.governor, provider);
      const token = await deployDemoToken(deployer, artifacts, { name: NAMES[i]!, symbol: SYMBOLS[i]! });
      const escrow = await deployEscrow(deployer, artifacts, { port: c.port, govChain: member.chainId, settlementHub: hubAddress, govPort: member.port });
      const client = new EscrowClient(provider, escrow, artifacts.QiaoEscrow);
      const lp = new TxSender(keys.lp, provider);
      await client.mint(deployer, token, lp.address, LP_POOL);
      await client.approve(lp, token, LP_POOL);
      await client.deposit(lp, token, LP_POOL);
      logger.info({ chainId: c.chainId, escrow, token, symbol: SYMBOLS[i] }, 'settlement escrow and demo token deployed');
      return { chainId: c.chainId, numericId: c.numericId, escrow, token, symbol: SYMBOLS[i]! };
    }),
  );
  for (const [i, d] of deployed.entries()) executed(await hub.setEscrow(govern, d.chainId, d.escrow, chains[i]!.port), `setEscrow ${d.chainId}`, logger);
  const [a, b] = deployed as [SettlementChainState, SettlementChainState];
  const corridors: number[] = [];
  for (const [src, dst, rate] of [
    [a, b, DEMO_RATES.forward],
    [b, a, DEMO_RATES.backward],
  ] as const) {
    const { id } = await hub.proposeCorridor(lpGov, demoCorridor(src, dst, lpGov.address));
    executed(await hub.approveCorridor(govern, id), `approveCorridor ${id}`, logger);
    await hub.setRate(lpGov, id, rate);
    corridors.push(id);
  }
  logger.info({ settlementHub: hubAddress, corridors }, 'settlement deployed');
  return { hub: hubAddress, chains: deployed, corridors };
}

/**
 * The demo LP refreshes its corridors' rates before they go stale (SettlementHub
 * refuses rates older than maxRateAge). Real providers run their own feed.
 */
export function keepDemoRatesFresh(d: SettlementDeployment, lpKey: Hex, everyMs: number, logger: Logger): () => void {
  const lp = new TxSender(lpKey, d.hub.provider);
  const rates = [DEMO_RATES.forward, DEMO_RATES.backward];
  let running = false;
  const tick = async () => {
    if (running) return;
    running = true;
    try {
      const maxAge = await d.hub.maxRateAge();
      const now = BigInt((await d.hub.provider.getBlock('latest'))!.timestamp);
      for (const [i, id] of d.state.corridors.entries()) {
        const c = await d.hub.corridor(id);
        // Refreshed at half the allowed age: a payment quoted now still opens within it.
        if (c && c.corridor.provider.toLowerCase() === lp.address.toLowerCase() && now - c.rateUpdatedAt > maxAge / 2n) await d.hub.setRate(lp, id, rates[i]!);
      }
    } catch (err) {
      logger.warn({ err }, 'refreshing the demo rates failed');
    } finally {
      running = false;
    }
  };
  void tick();
  const timer = setInterval(() => void tick(), everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
