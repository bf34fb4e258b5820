import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Contract, ContractFactory, Interface, ZeroHash, getAddress, keccak256, toBeHex, toUtf8Bytes, type JsonRpcProvider } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { portArtifacts } from '../../adapters/evm/artifacts.ts';
import { deployPort } from '../../adapters/evm/deploy.ts';
import { evmChainId } from '../../src/domain/caip.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { decodeMessage } from '../../src/domain/message.ts';
import { makeProvider } from '../../src/evm/provider.ts';
import { TxSender } from '../../src/evm/signer.ts';
import { ANVIL_DEV_KEY, startAnvil, type AnvilProcess } from '../../src/governance/anvil.ts';
import { compileSolidity } from '../../src/governance/solc.ts';
import {
  EscrowClient,
  SettlementRejected,
  decodeSettlementPayload,
  deployDemoToken,
  deployEscrow,
  encodeSettlementPayload,
  escrowArtifacts,
  newUetr,
  type SettlementPayload,
} from '../../src/settlement/index.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const CHAIN_ID = 7762n;
const MEMBER = 'eip155:91011';
const GOV = 'eip155:7701';
const M = 1_000_000n;
const keyOf = (label: string) => keccak256(toUtf8Bytes(`escrow test: ${label}`));
const addrOf = (label: string) => getAddress(`0x${keyOf(label).slice(-40)}`);
// SettlementHub and the governance port live on another chain: only their addresses matter here.
const HUB = addrOf('settlement hub');
const GOV_PORT = addrOf('gov port');

async function rejects(p: Promise<unknown>, code: string): Promise<readonly string[]> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err, `expected ${code}`).toBeInstanceOf(SettlementRejected);
  expect((err as SettlementRejected).code).toBe(code);
  return (err as SettlementRejected).args;
}

describe('QiaoEscrow on anvil', () => {
  let anvil: AnvilProcess;
  let provider: JsonRpcProvider;
  let deployer: TxSender, lp: TxSender, alice: TxSender, bob: TxSender;
  let port: Contract;
  let escrow: EscrowClient;
  let token: string;
  let escIface: Interface;
  let sentSeen = 0;

  /** What the escrow sent through its port since the last call, decoded. */
  async function sent(): Promise<{ dstChain: string; dstPort: string; receiver: string; gasLimit: bigint; p: SettlementPayload }[]> {
    const logs = await port.queryFilter(port.filters.PortSent!(), 0, 'latest');
    const out = logs.slice(sentSeen).map((l) => {
      const a = port.interface.parseLog(l)!.args as unknown as [bigint, string, string, string, string, bigint, string];
      return { dstChain: a[2], dstPort: getAddress(a[3]), receiver: getAddress(a[4]), gasLimit: a[5], p: decodeSettlementPayload(a[6]) };
    });
    sentSeen = logs.length;
    return out;
  }

  /** Delivers a payload to the escrow through its port, as if from `sender` on `srcChain`; returns the escrow's error name if it reverts. */
  async function fromHub(p: SettlementPayload, over: { srcChain?: string; sender?: string } = {}): Promise<string | null> {
    const args = [escrow.address, keccak256(toUtf8Bytes(JSON.stringify(p, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)))), over.srcChain ?? GOV, (over.sender ?? HUB).toLowerCase(), encodeSettlementPayload(p), 300_000n] as const;
    const c = port.connect(deployer.signer) as Contract;
    try {
      await c.getFunction('deliver').staticCall(...args);
    } catch (e) {
      const data = (e as { data?: string }).data;
      return data && data.length >= 10 ? escIface.parseError(data)!.name : 'reverted without data';
    }
    await (await c.getFunction('deliver')(...args, { gasLimit: 1_000_000n })).wait();
    return null;
  }

  beforeAll(async () => {
    const [esc, tp] = await Promise.all([escrowArtifacts(), compileSolidity([join(HERE, 'SettlementTestPort.sol')])]);
    anvil = await startAnvil({ chainId: CHAIN_ID });
    provider = makeProvider(anvil.url, CHAIN_ID, { pollingMs: 50 });
    deployer = new TxSender(ANVIL_DEV_KEY, provider);
    [lp, alice, bob] = ['lp', 'alice', 'bob'].map((l) => new TxSender(keyOf(l), provider)) as [TxSender, TxSender, TxSender];
    for (const s of [lp, alice, bob]) await provider.send('anvil_setBalance', [s.address, toBeHex(10n ** 20n)]);
    const pa = tp.SettlementTestPort!;
    const pc = await new ContractFactory(pa.abi as never, pa.bytecode, deployer.signer).deploy(MEMBER);
    await pc.waitForDeployment();
    port = new Contract(await pc.getAddress(), pa.abi as never, provider);
    const addr = await deployEscrow(deployer, esc, { port: await port.getAddress(), govChain: GOV, settlementHub: HUB, govPort: GOV_PORT });
    escrow = new EscrowClient(provider, addr, esc.QiaoEscrow);
    escIface = escrow.iface;
    token = await deployDemoToken(deployer, esc, { name: 'Demo USD', symbol: 'dUSD' });
    for (const s of [lp, alice]) {
      await escrow.mint(deployer, token, s.address, 1_000n * M);
      await escrow.approve(s, token, 10n ** 30n);
    }
  }, 300_000);

  afterAll(async () => {
    provider?.destroy();
    await anvil?.stop();
  });

  it('is a 6-decimal ERC-20 only its owner mints', async () => {
    const t = new Contract(token, ['function decimals() view returns (uint8)', 'function symbol() view returns (string)'], provider);
    expect(await t.getFunction('decimals').staticCall()).toBe(6n);
    expect(await t.getFunction('symbol').staticCall()).toBe('dUSD');
    await rejects(escrow.mint(alice, token, alice.address, M), 'ownable_unauthorized_account');
  });

  it('keeps LP pools: deposit, withdraw, never more than deposited', async () => {
    await escrow.deposit(lp, token, 300n * M);
    expect(await escrow.poolOf(lp.address, token)).toBe(300n * M);
    expect(await escrow.balanceOf(token, escrow.address)).toBe(300n * M);
    await escrow.withdraw(lp, token, 100n * M);
    expect(await escrow.poolOf(lp.address, token)).toBe(200n * M);
    expect(await escrow.balanceOf(token, lp.address)).toBe(800n * M);
    await rejects(escrow.withdraw(lp, token, 201n * M), 'insufficient_pool');
    await rejects(escrow.withdraw(alice, token, M), 'insufficient_pool');
  });

  it('locks the sender leg once and reports LOCKED to SettlementHub with the escrow gas limit', async () => {
    const uetr = newUetr();
    await escrow.lock(alice, { uetr, token, amount: 50n * M, to: lp.address });
    expect(await escrow.lockOf(uetr, 0)).toEqual({ token, amount: 50n * M, from: alice.address, to: lp.address, state: 'locked' });
    expect(await escrow.balanceOf(token, alice.address)).toBe(950n * M);
    expect(await sent()).toEqual([
      { dstChain: GOV, dstPort: GOV_PORT, receiver: HUB, gasLimit: 1_500_000n, p: { kind: 'LOCKED', uetr, leg: 0, body: { token, amount: 50n * M, from: alice.address, to: lp.address } } },
    ]);
    await rejects(escrow.lock(alice, { uetr, token, amount: M, to: lp.address }), 'lock_exists');
    // REFUND of the sender leg goes back to the sender's wallet, exactly once.
    expect(await fromHub({ kind: 'REFUND', uetr, leg: 0 })).toBeNull();
    expect((await escrow.lockOf(uetr, 0)).state).toBe('refunded');
    expect(await escrow.balanceOf(token, alice.address)).toBe(1_000n * M);
    expect(await fromHub({ kind: 'REFUND', uetr, leg: 0 })).toBe('NotLocked');
    expect(await fromHub({ kind: 'RELEASE', uetr, leg: 0 })).toBe('NotLocked');
    expect(await escrow.balanceOf(token, alice.address)).toBe(1_000n * M);
  });

  it('reserves from the pool on RESERVE, or answers LOCK_FAILED without liquidity', async () => {
    const uetr = newUetr();
    const pool0 = await escrow.poolOf(lp.address, token);
    expect(await fromHub({ kind: 'RESERVE', uetr, leg: 1, body: { token, amount: 80n * M, from: lp.address, to: bob.address } })).toBeNull();
    expect(await escrow.poolOf(lp.address, token)).toBe(pool0 - 80n * M);
    expect(await escrow.lockOf(uetr, 1)).toEqual({ token, amount: 80n * M, from: lp.address, to: bob.address, state: 'locked' });
    expect((await sent()).map((s) => [s.p, s.gasLimit])).toEqual([[{ kind: 'LOCKED', uetr, leg: 1, body: { token, amount: 80n * M, from: lp.address, to: bob.address } }, 1_500_000n]]);
    // A second RESERVE for the same leg is refused (one lock per leg).
    expect(await fromHub({ kind: 'RESERVE', uetr, leg: 1, body: { token, amount: M, from: lp.address, to: bob.address } })).toBe('LockExists');

    const poor = newUetr();
    expect(await fromHub({ kind: 'RESERVE', uetr: poor, leg: 2, body: { token, amount: pool0, from: lp.address, to: bob.address } })).toBeNull();
    expect((await sent()).map((s) => s.p)).toEqual([{ kind: 'LOCK_FAILED', uetr: poor, leg: 2, reason: 'insufficient liquidity' }]);
    expect((await escrow.lockOf(poor, 2)).state).toBe('none');
    expect(await escrow.poolOf(lp.address, token)).toBe(pool0 - 80n * M);

    // RELEASE pays `to` exactly once; a REFUND after it is refused.
    expect(await fromHub({ kind: 'RELEASE', uetr, leg: 1 })).toBeNull();
    expect(await escrow.balanceOf(token, bob.address)).toBe(80n * M);
    expect(await fromHub({ kind: 'RELEASE', uetr, leg: 1 })).toBe('NotLocked');
    expect(await fromHub({ kind: 'REFUND', uetr, leg: 1 })).toBe('NotLocked');
    expect(await escrow.balanceOf(token, bob.address)).toBe(80n * M);
    expect((await escrow.lockOf(uetr, 1)).state).toBe('released');

    // REFUND of a provider leg goes back to the provider's pool, not its wallet.
    const back = newUetr();
    expect(await fromHub({ kind: 'RESERVE', uetr: back, leg: 1, body: { token, amount: 20n * M, from: lp.address, to: bob.address } })).toBeNull();
    const lpWallet = await escrow.balanceOf(token, lp.address);
    expect(await fromHub({ kind: 'REFUND', uetr: back, leg: 1 })).toBeNull();
    expect(await escrow.poolOf(lp.address, token)).toBe(pool0 - 80n * M);
    expect(await escrow.balanceOf(token, lp.address)).toBe(lpWallet);
    expect((await escrow.lockOf(back, 1)).state).toBe('refunded');
    await sent();
  });

  it('obeys only SettlementHub on the governance chain, and only through its port', async () => {
    const uetr = newUetr();
    await escrow.lock(alice, { uetr, token, amount: 10n * M, to: lp.address });
    expect(await fromHub({ kind: 'RELEASE', uetr, leg: 0 }, { srcChain: MEMBER })).toBe('NotSettlementHub');
    expect(await fromHub({ kind: 'RELEASE', uetr, leg: 0 }, { sender: alice.address })).toBe('NotSettlementHub');
    expect(await fromHub({ kind: 'RELEASE', uetr, leg: 0 }, { srcChain: GOV, sender: GOV_PORT })).toBe('NotSettlementHub');
    expect(await fromHub({ kind: 'LOCKED', uetr, leg: 0, body: { token, amount: M, from: alice.address, to: lp.address } })).toBe('BadKind');
    const direct = await escrow.contract
      .getFunction('qiaoReceive')
      .staticCall(ZeroHash, GOV, HUB.toLowerCase(), encodeSettlementPayload({ kind: 'RELEASE', uetr, leg: 0 }), { from: alice.address })
      .then(
        () => null,
        (e: { data?: string }) => escIface.parseError(e.data!)!.name,
      );
    expect(direct).toBe('NotPort');
    expect((await escrow.lockOf(uetr, 0)).state).toBe('locked');
    expect(await fromHub({ kind: 'RELEASE', uetr, leg: 0 })).toBeNull();
    expect((await escrow.lockOf(uetr, 0)).state).toBe('released');
  });

  it('sends through the real QiaoPort: the frozen message carries the payload to the governance port', async () => {
    const pa = await portArtifacts();
    const realPort = await deployPort(deployer, pa, {
      chainId: evmChainId(CHAIN_ID),
      govChainId: 7701n,
      messageLog: addrOf('message log'),
      attestors: [addrOf('attestor')],
      threshold: 1,
      setId: 1n,
    });
    const esc = await escrowArtifacts();
    const e2 = new EscrowClient(provider, await deployEscrow(deployer, esc, { port: realPort, govChain: GOV, settlementHub: HUB, govPort: GOV_PORT }), esc.QiaoEscrow);
    await e2.approve(alice, token, 10n ** 30n);
    const uetr = newUetr();
    const r = await e2.lock(alice, { uetr, token, amount: 5n * M, to: lp.address });
    // The whole lock (ERC-20 pull, lock record, port.send) stays far below the hub->escrow limit a RESERVE gets.
    console.log(`[escrow] lock through the real QiaoPort: ${r.gasUsed} gas`);
    expect(r.gasUsed).toBeLessThan(250_000n);
    const iface = new Interface(pa.QiaoPort.abi as never);
    const ev = r.logs.map((l) => (l.address.toLowerCase() === realPort.toLowerCase() ? iface.parseLog(l) : null)).find((x) => x?.name === 'MessageSent')!;
    const m = decodeMessage(ev.args[3] as Hex);
    expect(m).toMatchObject({ srcChain: evmChainId(CHAIN_ID), dstChain: GOV, dstPort: GOV_PORT.toLowerCase(), receiver: HUB.toLowerCase(), sender: e2.address.toLowerCase(), gasLimit: 1_500_000n, timeoutHeight: 0n, timeoutUnixSeconds: 0n });
    expect(decodeSettlementPayload(m.payload)).toEqual({ kind: 'LOCKED', uetr, leg: 0, body: { token, amount: 5n * M, from: alice.address, to: lp.address } });
  });
});
