import { join } from 'node:path';
import { Wallet, type JsonRpcProvider } from 'ethers';
import type { Hex } from '../../src/domain/hex.ts';
import { makeProvider } from '../../src/evm/provider.ts';
import { TxSender } from '../../src/evm/signer.ts';
import { loadOrCreateKeys, type HubKeys } from '../../src/governance/keys.ts';
import type { SettlementEscrow } from '../../src/main/settlement-setup.ts';
import { EscrowClient, entityOfAddress, newUetr, type Corridor, type PaymentView, type SettlementHubClient } from '../../src/settlement/index.ts';
import { findRoutes, type ComplianceFacts, type GraphSnapshot, type RouteResult } from '../../src/settlement/routing/index.ts';
import { startTestHub, type TestHub } from '../helpers/hub.ts';
import { until } from '../helpers/services.ts';

/** Demo token units (6 decimals). */
export const UNIT = 1_000_000n;

export interface Chain extends SettlementEscrow {
  /** The token owner (the hub's governor key) on this chain: mints for tests. */
  owner: TxSender;
}

export interface Fixture {
  t: TestHub;
  keys: HubKeys;
  hub: SettlementHubClient;
  operator: TxSender;
  a: Chain;
  b: Chain;
  lp: string;
  govProvider: JsonRpcProvider;
  /** A fresh account with gas on both demo chains and the governance chain; one TxSender per chain. */
  account(): Promise<{ address: string; on: Map<string, TxSender>; gov: TxSender }>;
  mint(c: Chain, to: string, amount: bigint): Promise<void>;
  /** Ranked routes from what the chains say now, for `sender` (no attestations held unless given). */
  routes(req: { src: Chain; dst: Chain; sender: string; receiver: string; amount: bigint }, facts?: ComplianceFacts): Promise<RouteResult>;
  /** The governance chain's clock (the time of its next block), in unix seconds. */
  govNow(): Promise<bigint>;
  /** Waits until the payment is decided and every leg's escrow lock is final (or was never made). */
  settled(uetr: string, timeoutMs?: number): Promise<PaymentView>;
  newUetr(): string;
  stop(): Promise<void>;
}

const ETH = '0x3635C9ADC5DEA00000';

export async function startSettlementFixture(): Promise<Fixture> {
  const t = await startTestHub({ settlement: true, config: { settlement: { enabled: true, keeperIntervalMs: 500 } } });
  const s = t.hub.settlement!;
  const { keys } = await loadOrCreateKeys(join(t.dataDir, 'keys.json'));
  const dep = s.deployment;
  const [ca, cb] = [...dep.escrows.values()] as [SettlementEscrow, SettlementEscrow];
  const a: Chain = { ...ca, owner: new TxSender(keys.governor, ca.provider) };
  const b: Chain = { ...cb, owner: new TxSender(keys.governor, cb.provider) };
  const govProvider = makeProvider(t.hub.governance.url, t.hub.governance.chainId, { pollingMs: 100 });
  const byChain = new Map([a, b].map((c) => [c.chainId, c]));

  const fx: Fixture = {
    t,
    keys,
    hub: dep.hub,
    operator: s.operator,
    a,
    b,
    lp: dep.lp,
    govProvider,
    async account() {
      const w = Wallet.createRandom();
      const on = new Map<string, TxSender>();
      for (const c of [a, b]) {
        await c.provider.send('anvil_setBalance', [w.address, ETH]);
        on.set(c.chainId, new TxSender(w.privateKey, c.provider));
      }
      await govProvider.send('anvil_setBalance', [w.address, ETH]);
      return { address: w.address, on, gov: new TxSender(w.privateKey, govProvider) };
    },
    async mint(c, to, amount) {
      await c.client.mint(c.owner, c.token, to, amount);
    },
    async routes({ src, dst, sender, receiver, amount }, facts = { sender: new Map(), receiver: new Map() }) {
      const entity = entityOfAddress(sender);
      const corridors = await dep.hub.corridors();
      const snapshot: GraphSnapshot = {
        maxRateAgeSeconds: Number(await dep.hub.maxRateAge()),
        corridors: await Promise.all(
          corridors.map(async (v) => {
            const dstEscrow = byChain.get(v.corridor.dstChain);
            const token = v.corridor.dstAsset.split(':').pop()!;
            return {
              id: v.id,
              ...v.corridor,
              provider: v.corridor.provider.toLowerCase(),
              expectedSeconds: Number(v.corridor.expectedSeconds),
              status: v.status,
              rate: v.rate,
              rateUpdatedAt: Number(v.rateUpdatedAt),
              headroom: await dep.hub.headroom(v.id, entity),
              liquidity: dstEscrow ? await dstEscrow.client.poolOf(v.corridor.provider, token) : 0n,
            };
          }),
        ),
      };
      const asset = (c: Chain) => `eip155:${c.numericId}/erc20:${c.token.toLowerCase()}`;
      return findRoutes(
        snapshot,
        { srcAsset: asset(src), srcAccount: sender.toLowerCase(), dstAsset: asset(dst), dstAccount: receiver.toLowerCase(), amount },
        facts,
        { now: Number(await fx.govNow()) },
      );
    },
    async govNow() {
      // The embedded governance anvil mines on demand with the wall clock's time: an idle chain's
      // latest block is old, the next block (the one an open lands in) is stamped now.
      const latest = BigInt((await govProvider.getBlock('latest'))!.timestamp);
      const wall = BigInt(Math.floor(Date.now() / 1000));
      return latest > wall ? latest : wall;
    },
    async settled(uetr, timeoutMs = 90_000) {
      return until(
        async () => {
          const p = await dep.hub.payment(uetr);
          if (!p || p.state === 'open') return null;
          for (const [i, l] of p.legs.entries()) {
            const lock = await byChain.get(l.chain)!.client.lockOf(uetr, i);
            // A leg that never locked stays 'none'; a locked one must reach its final state.
            if (lock.state === 'locked') return null;
            if (l.state === 'release_sent' && lock.state !== 'released') return null;
            if (l.state === 'refund_sent' && lock.state !== 'refunded') return null;
          }
          return p;
        },
        { timeoutMs, intervalMs: 400, what: `payment ${uetr} decided and settled on every leg` },
      );
    },
    newUetr: () => newUetr(),
    async stop() {
      govProvider.destroy();
      await t.stop();
    },
  };
  return fx;
}

/** A corridor like the demo's from `src` to `dst`, overridable. */
export function corridorOf(src: Chain, dst: Chain, provider: string, over: Partial<Corridor> = {}): Corridor {
  return {
    srcChain: src.chainId,
    srcAsset: `eip155:${src.numericId}/erc20:${src.token.toLowerCase()}`,
    dstChain: dst.chainId,
    dstAsset: `eip155:${dst.numericId}/erc20:${dst.token.toLowerCase()}`,
    provider,
    feeBps: 10,
    fixedFee: 0n,
    spreadBps: 20,
    fxSource: 'test',
    minAmount: UNIT,
    maxAmount: 1_000_000n * UNIT,
    bucketCapacity: 5_000_000n * UNIT,
    bucketRefillPerSecond: 1_000n * UNIT,
    entityCapacity: 1_000_000n * UNIT,
    entityRefillPerSecond: 100n * UNIT,
    senderSchemas: [] as Hex[],
    receiverSchemas: [] as Hex[],
    expectedSeconds: 30n,
    ...over,
  };
}

/** A second liquidity provider with pools on both chains and its own corridor(s), approved with a rate. */
export async function addProvider(fx: Fixture, pool: bigint): Promise<{ address: string; on: Map<string, TxSender>; gov: TxSender }> {
  const p = await fx.account();
  for (const c of [fx.a, fx.b]) {
    await fx.mint(c, p.address, pool);
    const tx = p.on.get(c.chainId)!;
    await c.client.approve(tx, c.token, pool);
    await c.client.deposit(tx, c.token, pool);
  }
  return p;
}

export async function openCorridor(fx: Fixture, provider: TxSender, c: Corridor, rate: bigint): Promise<number> {
  const { id } = await fx.hub.proposeCorridor(provider, c);
  await fx.hub.approveCorridor(fx.t.hub.governance.path, id);
  await fx.hub.setRate(provider, id, rate);
  return id;
}

/** Token balance on a chain. */
export function balance(c: Chain, account: string): Promise<bigint> {
  return c.client.balanceOf(c.token, account);
}

export { EscrowClient };
