import { Contract, ContractFactory, Interface, JsonRpcProvider, Wallet, keccak256, toUtf8Bytes, type ContractTransactionResponse, type TransactionReceipt } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChainId } from '../../src/domain/caip.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { ContractRevertError } from '../../src/errors.ts';
import { makeProvider } from '../../src/evm/provider.ts';
import { TxSender } from '../../src/evm/signer.ts';
import { ANVIL_DEV_KEY, startAnvil, type AnvilProcess } from '../../src/governance/anvil.ts';
import { governanceArtifacts, type GovernanceArtifacts } from '../../src/governance/artifacts.ts';
import { GovernanceClient } from '../../src/governance/client.ts';
import { CouncilClient, councilGovernance, DEFAULT_EMERGENCY_SIGNATURES, selectorOf } from '../../src/governance/council.ts';
import { deployCouncil } from '../../src/governance/deploy.ts';
import { silentLogger } from '../../src/logging.ts';
import { ProposalExecutor } from '../../src/main/proposal-executor.ts';
import { registryArtifacts, type RegistryArtifacts } from '../../src/registries/artifacts.ts';
import { deployRegistries } from '../../src/registries/deploy.ts';
import { revertOf } from '../helpers/revert.ts';

const CHAIN = 'eip155:424242' as ChainId;
const OTHER = 'eip155:434343' as ChainId;
const DELAY = 3600;
const keyOf = (label: string) => keccak256(toUtf8Bytes(`council test: ${label}`));


describe('Council on anvil', () => {
  let anvil: AnvilProcess;
  let provider: JsonRpcProvider;
  let artifacts: GovernanceArtifacts;
  let regArtifacts: RegistryArtifacts;
  const [m1, m2, m3, m4, outsider, operator] = ['m1', 'm2', 'm3', 'm4', 'outsider', 'operator'].map((l) => new Wallet(keyOf(l)));
  let council: Contract;
  let councilAddr: string;
  let registry: Contract;
  let registryAddr: string;
  let councilIface: Interface;
  let registryIface: Interface;
  /** Errors of the council and of every contract it governs (a failed execution bubbles the target's error). */
  let anyIface: Interface;

  const as = (c: Contract, w: Wallet) => c.connect(w.connect(provider)) as Contract;
  const mined = async (p: Promise<ContractTransactionResponse>): Promise<TransactionReceipt> => (await (await p).wait())!;
  const state = async (id: bigint) => Number(await council.getFunction('state')(id));
  const STATE = { none: 0, pending: 1, queued: 2, ready: 3, executed: 4, canceled: 5 };
  const status = async (chainId: string) => Number(((await registry.getFunction('get')(chainId)) as { status: bigint }).status);
  const STATUS = { pending: 1, approved: 2, suspended: 3, frozen: 4, retired: 5 };
  const regCall = (fn: string, args: unknown[]) => registryIface.encodeFunctionData(fn, args);

  /** Proposes as `by` and returns the new proposal id (from the Proposed event). */
  async function propose(by: Wallet, target: string, data: string, description = 'test', emergency = false): Promise<{ id: bigint; receipt: TransactionReceipt }> {
    const receipt = await mined(as(council, by).getFunction(emergency ? 'proposeEmergency' : 'propose')(target, data, description));
    const ev = receipt.logs.map((l) => (l.address === councilAddr ? councilIface.parseLog(l) : null)).find((e) => e?.name === 'Proposed')!;
    return { id: ev.args[0] as bigint, receipt };
  }

  async function timeTravel(seconds: number) {
    await provider.send('evm_increaseTime', [seconds]);
    await provider.send('evm_mine', []);
  }

  /** Runs a proposal through m1+m2 and the timelock. */
  async function passed(target: string, data: string): Promise<TransactionReceipt> {
    const { id } = await propose(m1!, target, data);
    await mined(as(council, m2!).getFunction('approve')(id));
    await timeTravel(DELAY);
    return mined(as(council, m1!).getFunction('execute')(id));
  }

  beforeAll(async () => {
    [artifacts, regArtifacts] = await Promise.all([governanceArtifacts(), registryArtifacts()]);
    anvil = await startAnvil({ chainId: 7742 });
    provider = makeProvider(anvil.url, 7742n, { pollingMs: 50 });
    const dev = new TxSender(ANVIL_DEV_KEY, provider);
    for (const w of [m1, m2, m3, m4, outsider, operator]) await dev.send({ to: w!.address, value: 10n ** 20n });
    councilIface = new Interface(artifacts.Council.abi as never);
    registryIface = new Interface(artifacts.ChainRegistry.abi as never);
    anyIface = new Interface([...(artifacts.Council.abi as never[]), ...(artifacts.ChainRegistry.abi as never[]).filter((f: { type: string }) => f.type === 'error')]);
    const deployer = new TxSender(m1!.privateKey, provider);
    councilAddr = await deployCouncil(deployer, artifacts, {
      members: [m1!.address, m2!.address, m3!.address],
      threshold: 2,
      emergencyThreshold: 1,
      delaySeconds: DELAY,
      emergencySignatures: DEFAULT_EMERGENCY_SIGNATURES,
    });
    council = new Contract(councilAddr, councilIface, provider);
    const r = await new ContractFactory(artifacts.ChainRegistry.abi as never, artifacts.ChainRegistry.bytecode, deployer.signer).deploy(councilAddr);
    await r.waitForDeployment();
    registryAddr = await r.getAddress();
    registry = new Contract(registryAddr, registryIface, provider);
    for (const id of [CHAIN, OTHER]) {
      await mined(as(registry, operator!).getFunction('submit')(id, keccak256(toUtf8Bytes(id)), 0, operator!.address, 0, '0x', '{"kind":"depth","depth":2}', ['http://127.0.0.1:1']));
    }
  });

  afterAll(async () => {
    provider?.destroy();
    await anvil?.stop();
  });

  it('starts with the configured members, thresholds, delay and emergency selectors', async () => {
    const c = await new CouncilClient(provider, councilAddr, artifacts.Council).config();
    expect(c.members).toEqual([m1!.address, m2!.address, m3!.address]);
    expect([c.threshold, c.emergencyThreshold, c.delaySeconds]).toEqual([2, 1, BigInt(DELAY)]);
    expect(c.emergencySelectors.sort()).toEqual(DEFAULT_EMERGENCY_SIGNATURES.map(selectorOf).sort());
  });

  it('lets only members propose, approve and execute', async () => {
    const data = regCall('approve', [CHAIN]);
    expect((await revertOf(councilIface, as(council, outsider!).getFunction('propose').staticCall(registryAddr, data, 'x'))).name).toBe('NotMember');
    const { id } = await propose(m1!, registryAddr, data);
    const e = await revertOf(councilIface, as(council, outsider!).getFunction('approve').staticCall(id));
    expect(e.name).toBe('NotMember');
    expect(e.args[0]).toBe(outsider!.address);
    expect((await revertOf(councilIface, as(council, outsider!).getFunction('execute').staticCall(id))).name).toBe('NotMember');
    await mined(as(council, m1!).getFunction('cancel')(id));
  });

  it('enforces the threshold and the timelock, then runs the call once', async () => {
    const { id } = await propose(m1!, registryAddr, regCall('approve', [CHAIN]), 'approve the test chain');
    expect(await state(id)).toBe(STATE.pending);
    expect(Number(await council.getFunction('approvals')(id))).toBe(1);
    // One approval of two: not executable.
    const early = await revertOf(councilIface, as(council, m1!).getFunction('execute').staticCall(id));
    expect(early.name).toBe('NotExecutable');
    expect(Number(early.args[1])).toBe(STATE.pending);
    expect((await revertOf(councilIface, as(council, m1!).getFunction('approve').staticCall(id))).name).toBe('AlreadyApproved');

    const r = await mined(as(council, m2!).getFunction('approve')(id));
    const queued = r.logs.map((l) => councilIface.parseLog(l)).find((e) => e?.name === 'Queued')!;
    const block = await provider.getBlock(r.blockNumber);
    expect(queued.args[1]).toBe(BigInt(block!.timestamp + DELAY));
    expect(await state(id)).toBe(STATE.queued);
    const locked = await revertOf(councilIface, as(council, m3!).getFunction('execute').staticCall(id));
    expect(locked.name).toBe('TimelockActive');
    expect(await status(CHAIN)).toBe(STATUS.pending);

    await timeTravel(DELAY - 5);
    expect(await state(id)).toBe(STATE.queued);
    await timeTravel(10);
    expect(await state(id)).toBe(STATE.ready);
    await mined(as(council, m3!).getFunction('execute')(id));
    expect(await status(CHAIN)).toBe(STATUS.approved);
    expect(await state(id)).toBe(STATE.executed);
    const again = await revertOf(councilIface, as(council, m1!).getFunction('execute').staticCall(id));
    expect(again.name).toBe('NotExecutable');
    expect((await revertOf(councilIface, as(council, m2!).getFunction('approve').staticCall(id))).name).toBe('ProposalClosed');
  });

  it('the hub runs a proposal once its approvals are in and its timelock passed, and only then', async () => {
    const client = new CouncilClient(provider, councilAddr, artifacts.Council, { targets: [registryIface] });
    const sender = new TxSender(m1!.privateKey, provider);
    const outsiderRun = new ProposalExecutor(client, new TxSender(outsider!.privateKey, provider), silentLogger());
    const run = new ProposalExecutor(client, sender, silentLogger());
    await mined(as(registry, operator!).getFunction('submit')(OTHER.replace('434343', '454545'), `0x${'12'.repeat(32)}`, 0, '0x1234', 0, '0x', '{"kind":"depth","depth":2}', ['http://127.0.0.1:1']));
    const { id } = await propose(m1!, registryAddr, regCall('approve', [OTHER.replace('434343', '454545')]));
    // Not enough approvals, then approved but inside the timelock: nothing runs.
    expect(await run.tick()).toEqual([]);
    await mined(as(council, m2!).getFunction('approve')(id));
    expect(await state(id)).toBe(STATE.queued);
    expect(await run.tick()).toEqual([]);
    await timeTravel(DELAY);
    expect(await state(id)).toBe(STATE.ready);
    // A key outside the council runs nothing.
    expect(await outsiderRun.tick()).toEqual([]);
    expect(await run.tick()).toEqual([id]);
    expect(await state(id)).toBe(STATE.executed);
    expect(await status(OTHER.replace('434343', '454545'))).toBe(STATUS.approved);
    expect(await run.tick()).toEqual([]);
  });

  it('lets only the proposer cancel, and a canceled proposal never runs', async () => {
    const { id } = await propose(m1!, registryAddr, regCall('retire', [OTHER]));
    expect((await revertOf(councilIface, as(council, m2!).getFunction('cancel').staticCall(id))).name).toBe('NotProposer');
    await mined(as(council, m1!).getFunction('cancel')(id));
    expect(await state(id)).toBe(STATE.canceled);
    expect((await revertOf(councilIface, as(council, m2!).getFunction('approve').staticCall(id))).name).toBe('ProposalClosed');
    expect(await status(OTHER)).toBe(STATUS.pending);
  });

  it('the emergency path refuses calls outside its selectors', async () => {
    for (const data of [regCall('approve', [OTHER]), regCall('retire', [OTHER]), regCall('reanchor', [OTHER, '0x01']), councilIface.encodeFunctionData('addMember', [outsider!.address])]) {
      const e = await revertOf(councilIface, as(council, m1!).getFunction('proposeEmergency').staticCall(registryAddr, data, 'not an emergency'));
      expect(e.name).toBe('NotEmergencySelector');
      expect(e.args[0]).toBe(data.slice(0, 10));
    }
    expect((await revertOf(councilIface, as(council, m1!).getFunction('proposeEmergency').staticCall(registryAddr, '0x', 'x'))).name).toBe('BadCall');
  });

  it('the emergency path suspends and freezes at once (one approval, no timelock), and re-anchoring needs the full path', async () => {
    const s = await propose(m2!, registryAddr, regCall('suspend', [CHAIN]), 'halt seen', true);
    expect(await state(s.id)).toBe(STATE.executed);
    expect(await status(CHAIN)).toBe(STATUS.suspended);
    const f = await propose(m3!, registryAddr, regCall('freeze', [CHAIN]), 'conflicting headers', true);
    expect(await state(f.id)).toBe(STATE.executed);
    expect(await status(CHAIN)).toBe(STATUS.frozen);
    // A frozen chain cannot simply be approved again: the target's own error comes back through the council.
    const bad = await propose(m1!, registryAddr, regCall('approve', [CHAIN]));
    await mined(as(council, m2!).getFunction('approve')(bad.id));
    await timeTravel(DELAY);
    const e = await revertOf(anyIface, as(council, m1!).getFunction('execute').staticCall(bad.id));
    expect(e.name).toBe('BadTransition');
    expect(await state(bad.id)).toBe(STATE.ready);
    await mined(as(council, m1!).getFunction('cancel')(bad.id));

    const r = await passed(registryAddr, regCall('reanchor', [CHAIN, '0xc0ffee']));
    expect(await status(CHAIN)).toBe(STATUS.approved);
    const changed = r.logs.filter((l) => l.address === registryAddr).map((l) => registryIface.parseLog(l)!);
    expect(changed.map((x) => x.name)).toEqual(['TrustRootChanged', 'ChainStatusChanged']);
    expect(changed[0]!.args[2]).toBe('0xc0ffee');
    expect(((await registry.getFunction('get')(CHAIN)) as { trustRoot: string }).trustRoot).toBe('0xc0ffee');
    // Re-anchoring an approved chain is a bad transition.
    expect((await revertOf(registryIface, registry.getFunction('reanchor').staticCall(CHAIN, '0x01', { from: councilAddr }))).name).toBe('BadTransition');
  });

  it('only the council governs the registries: a direct call from a member key reverts NotGovernor', async () => {
    const deployer = new TxSender(m1!.privateKey, provider);
    const regs = await deployRegistries(deployer, councilAddr, regArtifacts);
    const issuers = new Contract(regs.issuerRegistry, regArtifacts.IssuerRegistry.abi as never, provider);
    const credit = new Contract(regs.creditRegistry, regArtifacts.CreditRegistry.abi as never, provider);
    const identity = new Contract(regs.identityRegistry, regArtifacts.IdentityRegistry.abi as never, provider);
    for (const [c, fn, args] of [
      [registry, 'approve', [OTHER]],
      [registry, 'suspend', [CHAIN]],
      [registry, 'setGovernor', [m1!.address]],
      [issuers, 'accredit', ['did:qiao:issuer', keccak256(toUtf8Bytes('grade')), 0]],
      [credit, 'registerSchema', ['grade', ['string grade'], true, false, 0, 86_400]],
      [identity, 'setGovernor', [m1!.address]],
    ] as const) {
      for (const w of [m1!, outsider!]) {
        const e = await revertOf(c.interface, as(c, w).getFunction(fn).staticCall(...args));
        expect(e.name).toBe('NotGovernor');
        expect(e.args[0]).toBe(w.address);
      }
    }
    // Through the council it works.
    await passed(regs.creditRegistry, credit.interface.encodeFunctionData('registerSchema', ['grade', ['string grade'], true, false, 0, 86_400]));
    expect(Number(await credit.getFunction('schemaCount')())).toBe(1);
  });

  it('changes membership and thresholds only through a proposal that targets the council itself', async () => {
    for (const [fn, args] of [
      ['addMember', [m4!.address]],
      ['removeMember', [m3!.address]],
      ['setThresholds', [1, 1]],
      ['setDelay', [0]],
      ['setEmergencySelector', [selectorOf('retire(string)'), true]],
    ] as const) {
      const e = await revertOf(councilIface, as(council, m1!).getFunction(fn).staticCall(...args));
      expect(e.name).toBe('NotCouncil');
    }
    await passed(councilAddr, councilIface.encodeFunctionData('addMember', [m4!.address]));
    expect(await council.getFunction('isMember')(m4!.address)).toBe(true);
    // Dropping below the threshold is refused: the council's own error surfaces on execution.
    const { id } = await propose(m1!, councilAddr, councilIface.encodeFunctionData('setThresholds', [5, 1]));
    await mined(as(council, m2!).getFunction('approve')(id));
    await timeTravel(DELAY);
    expect((await revertOf(councilIface, as(council, m1!).getFunction('execute').staticCall(id))).name).toBe('BadThreshold');
    await mined(as(council, m1!).getFunction('cancel')(id));
  });

  it('a removed member\'s approval no longer counts', async () => {
    const { id } = await propose(m3!, registryAddr, regCall('retire', [OTHER]));
    expect(Number(await council.getFunction('approvals')(id))).toBe(1);
    await passed(councilAddr, councilIface.encodeFunctionData('removeMember', [m3!.address]));
    expect(await council.getFunction('isMember')(m3!.address)).toBe(false);
    expect(Number(await council.getFunction('approvals')(id))).toBe(0);
    expect(await state(id)).toBe(STATE.pending);
  });

  describe('TypeScript clients', () => {
    it('councilGovernance executes at once when one approval suffices and there is no timelock', async () => {
      const deployer = new TxSender(m1!.privateKey, provider);
      const solo = await deployCouncil(deployer, artifacts, { members: [m1!.address], threshold: 1, emergencyThreshold: 1, delaySeconds: 0, emergencySignatures: DEFAULT_EMERGENCY_SIGNATURES });
      const r = await new ContractFactory(artifacts.ChainRegistry.abi as never, artifacts.ChainRegistry.bytecode, deployer.signer).deploy(solo);
      await r.waitForDeployment();
      const gov = new GovernanceClient(provider, 7742n, { chainRegistry: await r.getAddress(), attestorSet: councilAddr, messageLog: councilAddr }, artifacts);
      const client = new CouncilClient(provider, solo, artifacts.Council, { targets: [gov.interfaces.registry] });
      const path = councilGovernance(client, deployer);
      await gov.submitChain(new TxSender(operator!.privateKey, provider), {
        chainId: CHAIN,
        family: 'evm',
        genesisHash: keccak256(toUtf8Bytes(CHAIN)) as Hex,
        port: operator!.address.toLowerCase() as Hex,
        lightClient: 'local-dev',
        trustRoot: '0x',
        finality: { kind: 'depth', depth: 2 },
        endpoints: ['http://127.0.0.1:1'],
      });
      const res = await gov.setChainStatus(path, CHAIN, 'approve');
      expect(res.executed).toBe(true);
      expect(res.proposalId).toBe(1n);
      expect((await gov.chains())[0]!.status).toBe('approved');
      const em = await gov.setChainStatus(path, CHAIN, 'suspend', { emergency: true });
      expect(em).toMatchObject({ executed: true, proposalId: 2n });
      expect((await gov.chains())[0]!.status).toBe('suspended');
      // A call that would fail is refused, named, before any proposal is made.
      const err = await gov.setChainStatus(path, 'eip155:999', 'approve').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ContractRevertError);
      expect((err as ContractRevertError).errorName).toBe('UnknownChain');
      expect(await client.proposalCount()).toBe(2n);
      await expect(gov.setChainStatus(path, CHAIN, 'approve', { emergency: true })).rejects.toMatchObject({ field: 'emergency' });
    });

    it('councilGovernance returns the waiting proposal when more approvals or the timelock are needed', async () => {
      const gov = new GovernanceClient(provider, 7742n, { chainRegistry: registryAddr, attestorSet: councilAddr, messageLog: councilAddr }, artifacts);
      const client = new CouncilClient(provider, councilAddr, artifacts.Council, { targets: [gov.interfaces.registry] });
      const res = await gov.setChainStatus(councilGovernance(client, new TxSender(m1!.privateKey, provider)), OTHER, 'approve');
      expect(res.executed).toBe(false);
      const p = (await client.proposal(res.proposalId))!;
      expect(p).toMatchObject({ state: 'pending', approvals: 1, needed: 2, emergency: false, description: `approve ${OTHER}`, approvedBy: [m1!.address] });
      const second = await client.approve(new TxSender(m2!.privateKey, provider), res.proposalId);
      expect(second.executed).toBe(false);
      expect((await client.proposal(res.proposalId))!.state).toBe('queued');
      await timeTravel(DELAY);
      await client.execute(new TxSender(m4!.privateKey, provider), res.proposalId);
      expect((await gov.chains()).find((c) => c.chainId === OTHER)!.status).toBe('approved');
      const list = await client.proposals({ limit: 3 });
      expect(list[0]!.id).toBe(res.proposalId);
      expect(list[0]!.state).toBe('executed');
      // A non-member is told so, by name.
      const err = await client.approve(new TxSender(outsider!.privateKey, provider), res.proposalId).catch((e: unknown) => e);
      expect((err as ContractRevertError).errorName).toBe('NotMember');
      await expect(client.approve(new TxSender(m1!.privateKey, provider), 999n)).rejects.toMatchObject({ field: 'proposalId' });
    });
  });
});
