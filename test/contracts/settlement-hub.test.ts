import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Contract, ContractFactory, Interface, ZeroHash, getAddress, keccak256, toBeHex, toUtf8Bytes, type JsonRpcProvider } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hex } from '../../src/domain/hex.ts';
import { ValidationError } from '../../src/errors.ts';
import { makeProvider } from '../../src/evm/provider.ts';
import { TxSender } from '../../src/evm/signer.ts';
import { ANVIL_DEV_KEY, startAnvil, type AnvilProcess } from '../../src/governance/anvil.ts';
import { directGovernance, type GovernPath } from '../../src/governance/govern.ts';
import { compileSolidity, type CompiledContract } from '../../src/governance/solc.ts';
import { commitPrivateData, connectRegistries, deployRegistries, didHash, registryArtifacts, schemaIdOf, type Registries } from '../../src/registries/index.ts';
import {
  COMPLIANCE_FAILURES,
  EscrowClient,
  SETTLEMENT_ERROR_CODES,
  SettlementHubClient,
  SettlementRejected,
  decodeSettlementPayload,
  deployDemoToken,
  deployEscrow,
  deploySettlementHub,
  encodeSettlementPayload,
  entityOfAddress,
  escrowArtifacts,
  hopOutput,
  newUetr,
  tryHopOutput,
  planLegs,
  settlementArtifacts,
  toSettlementRejected,
  uetrToBytes16,
  type Corridor,
  type SettlementPayload,
} from '../../src/settlement/index.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const CHAIN_ID = 7761n;
const GOV = `eip155:${CHAIN_ID}`;
const A = 'eip155:91001';
const B = 'eip155:91002';
const C = 'eip155:91003';
const D = 'eip155:91004'; // no escrow there
const E18 = 10n ** 18n;
const M = 1_000_000n; // one token (6 decimals)
const KYC = 'qiao.test.kyc.v1';
const KYB = 'qiao.test.kyb.v1';
const OTHER = 'qiao.test.other.v1';

const keyOf = (label: string) => keccak256(toUtf8Bytes(`settlement test: ${label}`));

interface Queued {
  srcPort: string;
  srcChain: string;
  sender: string;
  dstChain: string;
  dstPort: string;
  receiver: string;
  gasLimit: bigint;
  payload: string;
  decoded: SettlementPayload;
}

/** Expects a SettlementRejected with `code`; returns its arguments. */
async function rejects(p: Promise<unknown>, code: string): Promise<readonly string[]> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err, `expected ${code}`).toBeInstanceOf(SettlementRejected);
  expect((err as SettlementRejected).code).toBe(code);
  return (err as SettlementRejected).args;
}

describe('SettlementHub with escrows on anvil (test ports, the test relays)', () => {
  let anvil: AnvilProcess;
  let provider: JsonRpcProvider;
  let reg: Registries;
  let hub: SettlementHubClient;
  let gov: GovernPath;
  let deployer: TxSender, governor: TxSender, operator: TxSender, lp: TxSender, lp2: TxSender, alice: TxSender, bob: TxSender, issuer: TxSender, outsider: TxSender;
  let portArt: CompiledContract;
  const ports = new Map<string, { chain: string; address: string; contract: Contract; cursor: number }>();
  const escrows = new Map<string, EscrowClient>();
  const tokens: Record<string, string> = {};
  let queue: Queued[] = [];
  let aliceAtt: Hex, bobAtt: Hex, aliceWrongSchema: Hex, aliceRevoked: Hex, aliceUnaccredited: Hex, bobOnAliceDid: Hex;
  let aliceDid: string;
  let ab = 0, bc = 0, abKyc = 0;
  let mismatched = '';

  const asset = (chain: string, sym: string) => `${chain}/erc20:${tokens[sym]!.toLowerCase()}`;
  const now = async () => BigInt((await provider.getBlock('latest'))!.timestamp);
  const advance = async (s: number) => {
    await provider.send('evm_increaseTime', [s]);
    await provider.send('evm_mine', []);
  };
  const portOf = (chain: string) => [...ports.values()].find((p) => p.chain === chain)!;

  /** Moves every new port.send (PortSent events, in order) into the queue. */
  async function collect(): Promise<void> {
    for (const p of ports.values()) {
      const n = Number(await p.contract.getFunction('sentCount').staticCall());
      if (p.cursor >= n) continue;
      const logs = await p.contract.queryFilter(p.contract.filters.PortSent!(), 0, 'latest');
      for (const log of logs) {
        const ev = p.contract.interface.parseLog(log)!;
        if (Number(ev.args[0]) < p.cursor) continue;
        const [, sender, dstChain, dstPort, receiver, gasLimit, payload] = ev.args as unknown as [bigint, string, string, string, string, bigint, string];
        queue.push({ srcPort: p.address, srcChain: p.chain, sender, dstChain, dstPort: getAddress(dstPort), receiver: getAddress(receiver), gasLimit, payload, decoded: decodeSettlementPayload(payload) });
      }
      p.cursor = n;
    }
  }

  /** Delivers one message through its destination's test port, with its own gas limit. */
  async function deliver(m: Queued): Promise<void> {
    const dst = ports.get(m.dstPort.toLowerCase());
    expect(dst, `no port ${m.dstPort}`).toBeDefined();
    expect(dst!.chain).toBe(m.dstChain);
    const args = [m.receiver, keccak256(m.payload), m.srcChain, m.sender.toLowerCase(), m.payload, m.gasLimit] as const;
    const c = dst!.contract.connect(deployer.signer) as Contract;
    await c.getFunction('deliver').staticCall(...args);
    await (await c.getFunction('deliver')(...args, { gasLimit: 6_000_000n })).wait();
  }

  /** Delivers queued messages matching `pick` (and what they cause) until none is left; returns them. */
  async function relay(pick: (m: Queued) => boolean = () => true): Promise<Queued[]> {
    const done: Queued[] = [];
    for (;;) {
      await collect();
      const i = queue.findIndex(pick);
      if (i < 0) return done;
      const [m] = queue.splice(i, 1);
      await deliver(m!);
      done.push(m!);
    }
  }

  const corridor = (over: Partial<Corridor> & Pick<Corridor, 'srcChain' | 'srcAsset' | 'dstChain' | 'dstAsset' | 'provider'>): Corridor => ({
    feeBps: 30,
    fixedFee: 10_000n,
    spreadBps: 20,
    fxSource: 'test: fixed',
    minAmount: M,
    maxAmount: 10_000n * M,
    bucketCapacity: 1_000_000n * M,
    bucketRefillPerSecond: M,
    entityCapacity: 1_000_000n * M,
    entityRefillPerSecond: M,
    senderSchemas: [],
    receiverSchemas: [],
    expectedSeconds: 60n,
    ...over,
  });

  const openArgs = async (corridorIds: number[], amount: bigint, over: Partial<Parameters<SettlementHubClient['open']>[1]> = {}) => ({
    uetr: newUetr(),
    corridorIds,
    amount,
    sender: alice.address,
    receiver: bob.address,
    deadline: (await now()) + 3600n,
    minOut: 0n,
    ...over,
  });

  beforeAll(async () => {
    const [regArt, setArt, escArt, testPort] = await Promise.all([
      registryArtifacts(),
      settlementArtifacts(),
      escrowArtifacts(),
      compileSolidity([join(HERE, 'SettlementTestPort.sol')]),
    ]);
    portArt = testPort.SettlementTestPort!;
    anvil = await startAnvil({ chainId: CHAIN_ID });
    provider = makeProvider(anvil.url, CHAIN_ID, { pollingMs: 50 });
    deployer = new TxSender(ANVIL_DEV_KEY, provider);
    const labels = ['governor', 'operator', 'lp', 'lp2', 'alice', 'bob', 'issuer', 'outsider'];
    [governor, operator, lp, lp2, alice, bob, issuer, outsider] = labels.map((l) => new TxSender(keyOf(l), provider)) as TxSender[] as [
      TxSender, TxSender, TxSender, TxSender, TxSender, TxSender, TxSender, TxSender,
    ];
    for (const s of [governor, operator, lp, lp2, alice, bob, issuer, outsider]) await provider.send('anvil_setBalance', [s.address, toBeHex(10n ** 20n)]);
    gov = directGovernance(governor);

    // Registries with real records: an accredited issuer, KYC attestations for alice and bob.
    reg = connectRegistries(provider, await deployRegistries(deployer, governor.address, regArt), regArt);
    const issuerDid = (await reg.identity.create(issuer, { did: 'did:qiao:settlement.issuer' })).did;
    const issuer2Did = (await reg.identity.create(issuer, { did: 'did:qiao:settlement.issuer2' })).did;
    aliceDid = (await reg.identity.create(alice)).did;
    const bobDid = (await reg.identity.create(bob)).did;
    for (const name of [KYC, KYB, OTHER]) {
      await reg.credit.registerSchema(gov, { name, publicFields: [], revocable: true, negative: false, retentionSeconds: 0, disputeWindowSeconds: 86400 });
      await reg.issuers.accredit(gov, issuerDid, schemaIdOf(name), 0);
    }
    await reg.issuers.accredit(gov, issuer2Did, schemaIdOf(KYC), 0);
    const attest = async (schema: string, subjectDid: string, iss = issuerDid) =>
      (await reg.credit.attest(issuer, { schemaId: schemaIdOf(schema), subjectDid, issuerDid: iss, dataCommitment: commitPrivateData(`${schema}:${subjectDid}:${Math.random()}`).commitment })).uid;
    aliceAtt = await attest(KYC, aliceDid);
    bobAtt = await attest(KYC, bobDid);
    aliceWrongSchema = await attest(OTHER, aliceDid);
    aliceRevoked = await attest(KYC, aliceDid);
    await reg.credit.revoke(issuer, aliceRevoked);
    aliceUnaccredited = await attest(KYC, aliceDid, issuer2Did);
    await reg.issuers.revoke(gov, issuer2Did, schemaIdOf(KYC));
    bobOnAliceDid = aliceAtt; // a valid attestation whose subject bob does not control

    // Ports (all on this one anvil, each named for its chain), tokens, escrows, the hub.
    for (const chain of [GOV, A, B, C]) {
      const c = await new ContractFactory(portArt.abi as never, portArt.bytecode, deployer.signer).deploy(chain);
      await c.waitForDeployment();
      const address = getAddress(await c.getAddress());
      ports.set(address.toLowerCase(), { chain, address, contract: new Contract(address, portArt.abi as never, provider), cursor: 0 });
    }
    for (const sym of ['dUSD', 'dEUR', 'dGBP']) tokens[sym] = await deployDemoToken(deployer, escArt, { name: sym, symbol: sym });
    const hubAddr = await deploySettlementHub(deployer, setArt, { governor: governor.address, ...reg.addresses });
    hub = new SettlementHubClient(provider, hubAddr, setArt.SettlementHub);
    for (const chain of [A, B, C]) {
      const esc = await deployEscrow(deployer, escArt, { port: portOf(chain).address, govChain: GOV, settlementHub: hubAddr, govPort: portOf(GOV).address });
      escrows.set(chain, new EscrowClient(provider, esc, escArt.QiaoEscrow));
    }
    const any = escrows.get(A)!;
    for (const s of [lp, lp2, alice]) for (const sym of ['dUSD', 'dEUR', 'dGBP']) await any.mint(deployer, tokens[sym]!, s.address, 1_000_000n * M);
    // LP pools: dEUR on B (lp), dGBP on C (lp2).
    await escrows.get(B)!.approve(lp, tokens.dEUR!, 10n ** 30n);
    await escrows.get(B)!.deposit(lp, tokens.dEUR!, 100_000n * M);
    await escrows.get(C)!.approve(lp2, tokens.dGBP!, 10n ** 30n);
    await escrows.get(C)!.deposit(lp2, tokens.dGBP!, 100_000n * M);
    await escrows.get(A)!.approve(alice, tokens.dUSD!, 10n ** 30n);
  }, 300_000);

  afterAll(async () => {
    provider?.destroy();
    await anvil?.stop();
  });

  it('fits EIP-170 and names every custom error in the TypeScript table', async () => {
    const art = await settlementArtifacts();
    expect((art.SettlementHub.deployedBytecode.length - 2) / 2).toBeLessThan(24_576);
    const abiErrors = new Interface(art.SettlementHub.abi as never).fragments.filter((f) => f.type === 'error').map((f) => (f as unknown as { name: string }).name);
    expect(new Set(abiErrors)).toEqual(new Set(Object.keys(SETTLEMENT_ERROR_CODES)));
  });

  it('wires the hub by governance only: port, escrows, operator', async () => {
    await rejects(hub.setPort(directGovernance(outsider), portOf(GOV).address, GOV), 'not_governor');
    await hub.setPort(gov, portOf(GOV).address, GOV);
    for (const chain of [A, B, C]) await hub.setEscrow(gov, chain, escrows.get(chain)!.address, portOf(chain).address);
    await hub.setOperator(gov, operator.address, true);
    expect(await hub.port()).toEqual({ port: portOf(GOV).address, chainName: GOV });
    expect(await hub.escrowOf(B)).toEqual({ chain: B, escrow: escrows.get(B)!.address, port: portOf(B).address });
    expect(await hub.escrowOf(D)).toBeNull();
    expect(await hub.isOperator(operator.address)).toBe(true);
  });

  it('registers corridors: provider proposes and rates, governance approves and suspends', async () => {
    const c1 = corridor({ srcChain: A, srcAsset: asset(A, 'dUSD'), dstChain: B, dstAsset: asset(B, 'dEUR'), provider: lp.address });
    await expect(hub.proposeCorridor(outsider, c1)).rejects.toBeInstanceOf(ValidationError);
    await rejects(hub.proposeCorridor(lp, { ...c1, srcAsset: `${B}/erc20:${tokens.dUSD!.toLowerCase()}` }), 'bad_corridor');
    await rejects(hub.proposeCorridor(lp, { ...c1, srcAsset: `${A}/erc20:${tokens.dUSD!}` }), 'bad_corridor'); // checksummed: not the canonical form
    await rejects(hub.proposeCorridor(lp, { ...c1, minAmount: 10n, maxAmount: 5n }), 'bad_corridor');
    ab = (await hub.proposeCorridor(lp, c1)).id;
    expect(ab).toBe(1);
    let v = (await hub.corridor(ab))!;
    expect(v).toMatchObject({ id: 1, status: 'proposed', rate: 0n, rateUpdatedAt: 0n });
    expect(v.corridor).toEqual({ ...c1, provider: getAddress(lp.address) });
    expect(await hub.corridor(99)).toBeNull();

    await rejects(hub.setRate(outsider, ab, 92n * E18 / 100n), 'not_provider');
    await hub.setRate(lp, ab, (92n * E18) / 100n);
    v = (await hub.corridor(ab))!;
    expect(v.rate).toBe((92n * E18) / 100n);
    expect(v.rateUpdatedAt).toBe(await now());

    await rejects(hub.approveCorridor(directGovernance(outsider), ab), 'not_governor');
    await hub.approveCorridor(gov, ab);
    expect((await hub.corridor(ab))!.status).toBe('approved');
    await rejects(hub.approveCorridor(gov, ab), 'bad_status_change');
    await hub.suspendCorridor(gov, ab);
    expect((await hub.corridor(ab))!.status).toBe('suspended');
    await hub.approveCorridor(gov, ab);

    bc = (await hub.proposeCorridor(lp2, corridor({ srcChain: B, srcAsset: asset(B, 'dEUR'), dstChain: C, dstAsset: asset(C, 'dGBP'), provider: lp2.address, feeBps: 10, fixedFee: 0n, spreadBps: 5 }))).id;
    await hub.setRate(lp2, bc, (86n * E18) / 100n);
    await hub.approveCorridor(gov, bc);
    abKyc = (
      await hub.proposeCorridor(
        lp,
        corridor({ srcChain: A, srcAsset: asset(A, 'dUSD'), dstChain: B, dstAsset: asset(B, 'dEUR'), provider: lp.address, senderSchemas: [schemaIdOf(KYB), schemaIdOf(KYC)], receiverSchemas: [schemaIdOf(KYC)] }),
      )
    ).id;
    await hub.setRate(lp, abKyc, (92n * E18) / 100n);
    await hub.approveCorridor(gov, abKyc);
    expect((await hub.corridors()).map((c) => [c.id, c.status])).toEqual([
      [1, 'approved'],
      [2, 'approved'],
      [3, 'approved'],
    ]);
  });

  it('computes amounts exactly as amounts.ts, and stores the legs planLegs predicts', async () => {
    const [c1, c2] = [(await hub.corridor(ab))!, (await hub.corridor(bc))!];
    for (const a of [M, 1_234_567n, 999_999_999n, 10_000n * M, 10_031n, 10_040n]) {
      const [fee, net, out] = (await hub.contract.getFunction('quoteHop').staticCall(ab, a)) as [bigint, bigint, bigint];
      const ts = tryHopOutput(a, c1.corridor, c1.rate);
      if ('refused' in ts) expect(out).toBe(0n); // the contract refuses these in open (FeeExceedsAmount / ZeroOutput)
      else expect({ fee, net, out }).toEqual({ fee: ts.fee, net: ts.net, out: ts.out });
    }
    expect('refused' in tryHopOutput(10_031n, c1.corridor, c1.rate)).toBe(true);
    expect(hopOutput(10_040n, c1.corridor, c1.rate).out).toBeGreaterThan(0n);
    const amount = 1_234_567_891n;
    const args = await openArgs([ab, bc], amount);
    await hub.open(operator, args);
    const p = (await hub.payment(args.uetr))!;
    const hops = [c1, c2].map((c) => ({ ...c.corridor, pricing: c.corridor, rate: c.rate }));
    const planned = planLegs(amount, hops, alice.address, bob.address);
    expect(p.legs.map(({ index, chain, asset, amount, from, to }) => ({ index, chain, asset, amount, from, to }))).toEqual(
      planned.map((l) => ({ ...l, from: getAddress(l.from), to: getAddress(l.to) })),
    );
    expect(p.legs.map((l) => l.token)).toEqual([tokens.dUSD, tokens.dEUR, tokens.dGBP]);
    expect(p).toMatchObject({ state: 'open', sender: alice.address, receiver: bob.address, corridorIds: [ab, bc], decidedAt: 0n });
    expect(await hub.openUetrs()).toContain(args.uetr);
    // Leave it open: it is aborted in the deadline test below; RESERVE messages stay queued until then.
    await collect();
    const reserves = queue.filter((m) => m.decoded.uetr === args.uetr);
    expect(reserves.map((m) => [m.decoded.kind, m.decoded.leg, m.dstChain, m.gasLimit])).toEqual([
      ['RESERVE', 1, B, 300_000n],
      ['RESERVE', 2, C, 300_000n],
    ]);
    queue = queue.filter((m) => m.decoded.uetr !== args.uetr);
  });

  it('refuses every bad open with its own code, before anything is consumed', async () => {
    const open = async (ids: number[], amount: bigint, over: Partial<Parameters<SettlementHubClient['open']>[1]> = {}, who = operator) => hub.open(who, await openArgs(ids, amount, over));
    const raw = async (ids: number[]) => {
      const a = await openArgs([1], 10n * M);
      try {
        return await hub.writer.send(operator, 'open', [uetrToBytes16(a.uetr), ids, a.amount, a.sender, a.receiver, ZeroHash, ZeroHash, a.deadline, 0n]);
      } catch (e) {
        throw toSettlementRejected(e);
      }
    };
    const before = await hub.headroom(abKyc, didHash(aliceDid));
    expect(before).toBe(1_000_000n * M);
    await rejects(open([ab], 10n * M, {}, outsider), 'not_operator');
    await rejects(open([ab], 10n * M, { deadline: await now() }), 'deadline_passed');
    await rejects(raw([]), 'bad_hop_count');
    await rejects(raw([ab, bc, bc, bc]), 'bad_hop_count');
    await rejects(open([42], 10n * M), 'unknown_corridor');
    await rejects(open([ab, ab], 10n * M), 'hops_not_chained');
    await rejects(open([ab], M - 1n), 'below_minimum');
    await rejects(open([ab], 10_000n * M + 1n), 'above_maximum');
    expect((await rejects(open([ab], 10n * M, { minOut: 10n * M }), 'below_min_out'))[1]).toBe(String(10n * M));

    // Status, rate, fee and output refusals on corridors made for them.
    const mk = async (over: Partial<Corridor>, rate: bigint | null, approve = true) => {
      const id = (await hub.proposeCorridor(lp, corridor({ srcChain: A, srcAsset: asset(A, 'dUSD'), dstChain: B, dstAsset: asset(B, 'dEUR'), provider: lp.address, ...over }))).id;
      if (rate !== null) await hub.setRate(lp, id, rate);
      if (approve) await hub.approveCorridor(gov, id);
      return id;
    };
    const proposed = await mk({}, E18, false);
    await rejects(open([proposed], 10n * M), 'corridor_not_approved');
    await hub.approveCorridor(gov, proposed);
    await hub.suspendCorridor(gov, proposed);
    expect((await rejects(open([proposed], 10n * M), 'corridor_not_approved'))[1]).toBe('2');
    await rejects(open([await mk({}, null)], 10n * M), 'no_rate');
    const feeHeavy = await mk({ fixedFee: 5n * M, minAmount: 1n }, E18);
    expect(await rejects(open([feeHeavy], 5n * M), 'fee_exceeds_amount')).toEqual([String(feeHeavy), String(5n * M), String(5n * M + (5n * M * 30n) / 10_000n)]);
    await rejects(open([await mk({ fixedFee: 0n, minAmount: 1n }, 1n)], 2n * M), 'zero_output');
    const toD = (await hub.proposeCorridor(lp, corridor({ srcChain: A, srcAsset: asset(A, 'dUSD'), dstChain: D, dstAsset: `${D}/erc20:${tokens.dEUR!.toLowerCase()}`, provider: lp.address }))).id;
    await hub.setRate(lp, toD, E18);
    await hub.approveCorridor(gov, toD);
    expect(await rejects(open([toD], 10n * M), 'no_escrow')).toEqual([D]);

    // Compliance against real registry records ("any of" KYB, KYC for the sender; KYC for the receiver).
    const why = async (p: Promise<unknown>, code: string) => COMPLIANCE_FAILURES[Number((await rejects(p, code))[2])];
    expect(await why(open([abKyc], 10n * M, { receiverAttestation: bobAtt }), 'sender_not_compliant')).toBe('missing');
    expect(await why(open([abKyc], 10n * M, { senderAttestation: aliceRevoked, receiverAttestation: bobAtt }), 'sender_not_compliant')).toBe('not_valid');
    expect(await why(open([abKyc], 10n * M, { senderAttestation: aliceWrongSchema, receiverAttestation: bobAtt }), 'sender_not_compliant')).toBe('wrong_schema');
    expect(await why(open([abKyc], 10n * M, { senderAttestation: bobAtt, receiverAttestation: bobAtt }), 'sender_not_compliant')).toBe('not_controller');
    expect(await why(open([abKyc], 10n * M, { senderAttestation: aliceUnaccredited, receiverAttestation: bobAtt }), 'sender_not_compliant')).toBe('not_valid'); // flagged by the revocation
    expect(await why(open([abKyc], 10n * M, { senderAttestation: aliceAtt }), 'receiver_not_compliant')).toBe('missing');
    expect(await why(open([abKyc], 10n * M, { senderAttestation: aliceAtt, receiverAttestation: bobOnAliceDid }), 'receiver_not_compliant')).toBe('not_controller');
    // A corridor with no schemas needs nothing; an unused attestation is fine.
    expect(await hub.headroom(abKyc, didHash(aliceDid))).toBe(before);

    // Compliant: opens, and the entity is alice's DID (she controls the attestation's subject).
    const ok = await openArgs([abKyc], 10n * M, { senderAttestation: aliceAtt, receiverAttestation: bobAtt });
    await hub.open(operator, ok);
    expect(await hub.entityOf(alice.address, aliceAtt)).toBe(didHash(aliceDid));
    expect(await hub.entityOf(bob.address, aliceAtt)).toBe(entityOfAddress(bob.address));
    await rejects(hub.open(operator, { ...ok, deadline: ok.deadline + 1n }), 'uetr_used');

    // Stale rate: older than maxRateAge.
    await hub.setMaxRateAge(gov, 100n);
    await advance(101);
    expect((await rejects(open([bc], 10n * M), 'stale_rate'))[2]).toBe('100');
    await hub.setMaxRateAge(gov, 3600n);
    await hub.setRate(lp, ab, (92n * E18) / 100n);
    await hub.setRate(lp2, bc, (86n * E18) / 100n);
    await hub.setRate(lp, abKyc, (92n * E18) / 100n);
  });

  it('limits with token buckets that refill over time, per corridor and per entity', async () => {
    const id = (
      await hub.proposeCorridor(
        lp,
        corridor({ srcChain: A, srcAsset: asset(A, 'dUSD'), dstChain: B, dstAsset: asset(B, 'dEUR'), provider: lp.address, bucketCapacity: 100n * M, bucketRefillPerSecond: M, entityCapacity: 70n * M, entityRefillPerSecond: M / 2n }),
      )
    ).id;
    await hub.setRate(lp, id, E18);
    await hub.approveCorridor(gov, id);
    const eAlice = entityOfAddress(alice.address);
    const eBob = entityOfAddress(bob.address);
    expect(await hub.headroom(id, eAlice)).toBe(70n * M);
    const r1 = await hub.open(operator, await openArgs([id], 60n * M));
    const t1 = BigInt((await provider.getBlock(r1.blockNumber))!.timestamp);
    const expectAt = async (entity: Hex, spentCorridor: bigint, spentEntity: bigint, since: bigint) => {
      const t = await now();
      const c = 100n * M - (spentCorridor - (t - since) * M > 0n ? spentCorridor - (t - since) * M : 0n);
      const e = 70n * M - (spentEntity - ((t - since) * M) / 2n > 0n ? spentEntity - ((t - since) * M) / 2n : 0n);
      expect(await hub.headroom(id, entity)).toBe(c < e ? c : e);
    };
    await expectAt(eAlice, 60n * M, 60n * M, t1);
    // Alice's own bucket is the tighter one; bob (as sender) has only the corridor's left.
    const args = (await rejects(hub.open(operator, await openArgs([id], 20n * M)), 'entity_limit_exhausted')).map(String);
    expect(args[1]).toBe(eAlice);
    const r2 = await hub.open(operator, await openArgs([id], 30n * M, { sender: bob.address, receiver: alice.address }));
    const t2 = BigInt((await provider.getBlock(r2.blockNumber))!.timestamp);
    await rejects(hub.open(operator, await openArgs([id], 30n * M, { sender: bob.address, receiver: alice.address })), 'corridor_limit_exhausted');
    // The corridor bucket consumed 60 then 30 (refilled in between); read both buckets from chain time.
    await advance(20);
    const t = await now();
    const spentAt2 = 60n * M - (t2 - t1) * M + 30n * M;
    const corridorNow = 100n * M - (spentAt2 - (t - t2) * M);
    const aliceNow = 70n * M - (60n * M - ((t - t1) * M) / 2n);
    expect(await hub.headroom(id, eAlice)).toBe(corridorNow < aliceNow ? corridorNow : aliceNow);
    expect(await hub.headroom(id, eBob)).toBe(corridorNow < 40n * M + ((t - t2) * M) / 2n ? corridorNow : 40n * M + ((t - t2) * M) / 2n);
    await advance(200);
    expect(await hub.headroom(id, eAlice)).toBe(70n * M); // both full again, capped at capacity
  });

  it('commits a one-hop payment: RESERVE, both LOCKED, RELEASE to every leg; balances on chain', async () => {
    const escA = escrows.get(A)!;
    const escB = escrows.get(B)!;
    const amount = 250n * M;
    const args = await openArgs([ab], amount);
    const c = (await hub.corridor(ab))!;
    const out = hopOutput(amount, c.corridor, c.rate).out;
    const [lpA0, bobB0, pool0, alice0] = [await escA.balanceOf(tokens.dUSD!, lp.address), await escB.balanceOf(tokens.dEUR!, bob.address), await escB.poolOf(lp.address, tokens.dEUR!), await escA.balanceOf(tokens.dUSD!, alice.address)];
    await hub.open(operator, args);
    const isThis = (m: Queued) => m.decoded.uetr === args.uetr;
    const first = await relay(isThis); // RESERVE -> B, LOCKED (leg 1) -> hub
    expect(first.map((m) => `${m.decoded.kind}:${m.decoded.leg}`)).toEqual(['RESERVE:1', 'LOCKED:1']);
    expect(first[1]!.gasLimit).toBe(1_500_000n);
    expect((await hub.payment(args.uetr))!.legs.map((l) => l.state)).toEqual(['pending', 'locked']);
    expect(await escB.poolOf(lp.address, tokens.dEUR!)).toBe(pool0 - out);
    await escA.lock(alice, { uetr: args.uetr, token: tokens.dUSD!, amount, to: lp.address });
    const second = await relay(isThis);
    expect(second.map((m) => `${m.decoded.kind}:${m.decoded.leg}`)).toEqual(['LOCKED:0', 'RELEASE:0', 'RELEASE:1']);
    const p = (await hub.payment(args.uetr))!;
    expect(p.state).toBe('committed');
    expect(p.decidedAt).toBeGreaterThan(0n);
    expect(p.legs.map((l) => l.state)).toEqual(['release_sent', 'release_sent']);
    expect(await hub.openUetrs()).not.toContain(args.uetr);
    expect((await escA.lockOf(args.uetr, 0)).state).toBe('released');
    expect((await escB.lockOf(args.uetr, 1)).state).toBe('released');
    expect(await escA.balanceOf(tokens.dUSD!, lp.address)).toBe(lpA0 + amount);
    expect(await escA.balanceOf(tokens.dUSD!, alice.address)).toBe(alice0 - amount);
    expect(await escB.balanceOf(tokens.dEUR!, bob.address)).toBe(bobB0 + out);
    expect(await escB.poolOf(lp.address, tokens.dEUR!)).toBe(pool0 - out);
    // A RELEASE delivered again is refused by the escrow (exactly once).
    await expect(deliver(second[1]!)).rejects.toThrow();
  });

  it('commits a two-hop payment over two providers', async () => {
    const args = await openArgs([ab, bc], 500n * M);
    const [c1, c2] = [(await hub.corridor(ab))!, (await hub.corridor(bc))!];
    const planned = planLegs(args.amount, [c1, c2].map((c) => ({ ...c.corridor, pricing: c.corridor, rate: c.rate })), alice.address, bob.address);
    const escC = escrows.get(C)!;
    const bobC0 = await escC.balanceOf(tokens.dGBP!, bob.address);
    const lp2B0 = await escC.balanceOf(tokens.dEUR!, lp2.address);
    await hub.open(operator, args);
    await escrows.get(A)!.lock(alice, { uetr: args.uetr, token: tokens.dUSD!, amount: args.amount, to: lp.address });
    await relay((m) => m.decoded.uetr === args.uetr);
    expect((await hub.payment(args.uetr))!.state).toBe('committed');
    for (const l of planned) expect((await escrows.get(l.chain)!.lockOf(args.uetr, l.index)).state).toBe('released');
    expect(await escC.balanceOf(tokens.dGBP!, bob.address)).toBe(bobC0 + planned[2]!.amount);
    expect(await escC.balanceOf(tokens.dEUR!, lp2.address)).toBe(lp2B0 + planned[1]!.amount); // lp2 got the dEUR on B
  });

  it('aborts on LOCK_FAILED and refunds the locked legs', async () => {
    const escA = escrows.get(A)!;
    const alice0 = await escA.balanceOf(tokens.dUSD!, alice.address);
    // dGBP pool of lp2 on C is far below what this needs.
    const args = await openArgs([ab, bc], 9_000n * M);
    const pool = await escrows.get(C)!.poolOf(lp2.address, tokens.dGBP!);
    await escrows.get(C)!.withdraw(lp2, tokens.dGBP!, pool - M);
    await hub.open(operator, args);
    await escA.lock(alice, { uetr: args.uetr, token: tokens.dUSD!, amount: args.amount, to: lp.address });
    const msgs = await relay((m) => m.decoded.uetr === args.uetr);
    expect(msgs.filter((m) => m.decoded.kind === 'LOCK_FAILED').map((m) => m.decoded.leg)).toEqual([2]);
    const p = (await hub.payment(args.uetr))!;
    expect(p.state).toBe('aborted');
    expect(p.legs.map((l) => l.state)).toEqual(['refund_sent', 'refund_sent', 'lock_failed']);
    expect(msgs.filter((m) => m.decoded.kind === 'RELEASE')).toEqual([]);
    expect((await escA.lockOf(args.uetr, 0)).state).toBe('refunded');
    expect((await escrows.get(B)!.lockOf(args.uetr, 1)).state).toBe('refunded');
    expect(await escA.balanceOf(tokens.dUSD!, alice.address)).toBe(alice0);
    await escrows.get(C)!.deposit(lp2, tokens.dGBP!, pool - M);
  });

  it('answers a mismatched lock with REFUND of that lock only', async () => {
    const escA = escrows.get(A)!;
    const alice0 = await escA.balanceOf(tokens.dUSD!, alice.address);
    const args = await openArgs([ab], 20n * M);
    mismatched = args.uetr;
    await hub.open(operator, args);
    await escA.lock(alice, { uetr: args.uetr, token: tokens.dUSD!, amount: 19n * M, to: lp.address });
    const msgs = await relay((m) => m.decoded.uetr === args.uetr);
    expect(msgs.map((m) => `${m.decoded.kind}:${m.decoded.leg}`).sort()).toEqual(['LOCKED:0', 'LOCKED:1', 'REFUND:0', 'RESERVE:1']);
    expect((await escA.lockOf(args.uetr, 0)).state).toBe('refunded');
    expect(await escA.balanceOf(tokens.dUSD!, alice.address)).toBe(alice0);
    const p = (await hub.payment(args.uetr))!;
    expect(p.state).toBe('open');
    expect(p.legs.map((l) => l.state)).toEqual(['pending', 'locked']);
  });

  it('after the deadline: abort refunds every locked leg, a late LOCKED is refunded at once', async () => {
    // Every payment still open (the two above and the compliance one) is past its deadline after this.
    await advance(3700);
    const open = await hub.openUetrs();
    expect(open.length).toBeGreaterThanOrEqual(2);
    expect(open).toContain(mismatched);
    const poolB0 = await escrows.get(B)!.poolOf(lp.address, tokens.dEUR!);
    for (const u of open) await hub.abort(outsider, u);
    expect(await hub.openUetrs()).toEqual([]);
    await rejects(hub.abort(outsider, open[0]!), 'not_open');
    await rejects(hub.abort(outsider, newUetr()), 'unknown_payment');
    const p = (await hub.payment(mismatched))!;
    expect(p.state).toBe('aborted');
    const refunds = await relay();
    expect(refunds.some((m) => m.decoded.uetr === mismatched && m.decoded.kind === 'REFUND' && m.decoded.leg === 1)).toBe(true);
    expect((await escrows.get(B)!.lockOf(mismatched, 1)).state).toBe('refunded');
    expect(await escrows.get(B)!.poolOf(lp.address, tokens.dEUR!)).toBeGreaterThan(poolB0);

    await hub.setRate(lp, ab, (92n * E18) / 100n); // an hour passed: the rate went stale
    // A fresh payment whose deadline passes before the sender locks.
    const args = await openArgs([ab], 30n * M, { deadline: (await now()) + 30n });
    await hub.open(operator, args);
    await relay((m) => m.decoded.uetr === args.uetr); // provider leg locked
    await rejects(hub.abort(outsider, args.uetr), 'deadline_not_passed');
    await advance(31);
    await hub.abort(outsider, args.uetr);
    const escA = escrows.get(A)!;
    const alice0 = await escA.balanceOf(tokens.dUSD!, alice.address);
    await escA.lock(alice, { uetr: args.uetr, token: tokens.dUSD!, amount: args.amount, to: lp.address });
    const late = await relay((m) => m.decoded.uetr === args.uetr);
    expect(late.map((m) => `${m.decoded.kind}:${m.decoded.leg}`).sort()).toEqual(['LOCKED:0', 'REFUND:0', 'REFUND:1']);
    expect((await hub.payment(args.uetr))!.legs.map((l) => l.state)).toEqual(['refund_sent', 'refund_sent']);
    expect(await escA.balanceOf(tokens.dUSD!, alice.address)).toBe(alice0);

    // The last lock arriving after the deadline (before anyone called abort) aborts instead of committing.
    const slow = await openArgs([ab], 30n * M, { deadline: (await now()) + 30n });
    await hub.open(operator, slow);
    await relay((m) => m.decoded.uetr === slow.uetr);
    await escA.lock(alice, { uetr: slow.uetr, token: tokens.dUSD!, amount: slow.amount, to: lp.address });
    await advance(31);
    await relay((m) => m.decoded.uetr === slow.uetr);
    const s = (await hub.payment(slow.uetr))!;
    expect(s.state).toBe('aborted');
    expect(s.legs.map((l) => l.state)).toEqual(['refund_sent', 'refund_sent']);
    expect(await escA.balanceOf(tokens.dUSD!, alice.address)).toBe(alice0);
  });

  it('obeys only its port and the registered escrow of the reporting chain; a stray lock burns its uetr', async () => {
    const gp = portOf(GOV).contract.connect(deployer.signer) as Contract;
    const uetr = newUetr();
    const locked = encodeSettlementPayload({ kind: 'LOCKED', uetr, leg: 0, body: { token: tokens.dUSD!, amount: M, from: alice.address, to: lp.address } });
    const call = (srcChain: string, sender: string, payload = locked) => gp.getFunction('deliver').staticCall(hub.address, ZeroHash, srcChain, sender.toLowerCase(), payload, 1_500_000n);
    const code = async (p: Promise<unknown>) => {
      const e = await p.then(() => null, (x: unknown) => x as { data?: string });
      return hub.iface.parseError(e!.data!)!.name;
    };
    expect(await code(hub.contract.getFunction('qiaoReceive').staticCall(ZeroHash, A, escrows.get(A)!.address, locked, { from: outsider.address }))).toBe('NotPort');
    expect(await code(call(A, outsider.address))).toBe('UnknownEscrow');
    expect(await code(call(B, escrows.get(A)!.address))).toBe('UnknownEscrow');
    expect(await code(call(A, escrows.get(A)!.address, encodeSettlementPayload({ kind: 'RELEASE', uetr, leg: 0 })))).toBe('BadKind');
    // A LOCKED for a uetr never opened (delivered as if from escrow A): refunded, and the uetr can no longer be opened.
    await (await gp.getFunction('deliver')(hub.address, ZeroHash, A, escrows.get(A)!.address.toLowerCase(), locked, 1_500_000n, { gasLimit: 3_000_000n })).wait();
    await collect();
    const refund = queue.find((m) => m.decoded.uetr === uetr)!;
    expect(refund.decoded).toEqual({ kind: 'REFUND', uetr, leg: 0 });
    expect(refund.dstChain).toBe(A);
    queue = queue.filter((m) => m !== refund);
    await rejects(hub.open(operator, await openArgs([ab], 10n * M, { uetr })), 'uetr_used');
  });
});
