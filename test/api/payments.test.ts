import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { Contract, ContractFactory, getAddress, keccak256, toBeHex, toUtf8Bytes, type JsonRpcProvider } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium } from 'playwright-core';
import { registerExplorer } from '../../src/api/explorer.ts';
import { paymentsPlugin } from '../../src/api/payments.ts';
import { buildApi } from '../../src/api/server.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { makeProvider } from '../../src/evm/provider.ts';
import { TxSender } from '../../src/evm/signer.ts';
import { ANVIL_DEV_KEY, startAnvil, type AnvilProcess } from '../../src/governance/anvil.ts';
import { directGovernance, type GovernPath } from '../../src/governance/govern.ts';
import { compileSolidity } from '../../src/governance/solc.ts';
import { openIndex } from '../../src/index/open.ts';
import type { MessageIndex } from '../../src/index/types.ts';
import { commitPrivateData, connectRegistries, deployRegistries, registryArtifacts, schemaIdOf } from '../../src/registries/index.ts';
import {
  EscrowClient,
  SettlementHubClient,
  deployDemoToken,
  deployEscrow,
  deploySettlementHub,
  escrowArtifacts,
  newUetr,
  settlementArtifacts,
  tryHopOutput,
  type Corridor,
} from '../../src/settlement/index.ts';
import { registriesCompliance } from '../../src/settlement/service.ts';

/**
 * The payments API against real contracts on one anvil (test ports named for each
 * chain; the test relays settlement messages itself, as test/contracts does). Safety
 * checks read SettlementHub and the escrows on chain, not the API's answers.
 */
const HERE = dirname(fileURLToPath(import.meta.url));
const CHAIN_ID = 7791n;
const GOV = `eip155:${CHAIN_ID}`;
const A = 'eip155:92001';
const B = 'eip155:92002';
const C = 'eip155:92003';
const E18 = 10n ** 18n;
const M = 1_000_000n;
const KYC = 'qiao.payments-api.kyc.v1';
const CHROMIUM = '/usr/bin/chromium';
const keyOf = (label: string) => keccak256(toUtf8Bytes(`payments api test: ${label}`));

describe('payments API on anvil', () => {
  let anvil: AnvilProcess;
  let provider: JsonRpcProvider;
  let index: MessageIndex;
  let app: FastifyInstance;
  let hub: SettlementHubClient;
  let gov: GovernPath;
  let deployer: TxSender, governor: TxSender, operator: TxSender, lp: TxSender, lp2: TxSender, alice: TxSender, bob: TxSender, issuer: TxSender;
  let aliceAtt: Hex;
  let clock = Date.now();
  const ports = new Map<string, { chain: string; address: string; contract: Contract; cursor: number }>();
  const escrows = new Map<string, EscrowClient>();
  const tokens: Record<string, string> = {};
  const queue: { srcChain: string; sender: string; dstChain: string; dstPort: string; receiver: string; gasLimit: bigint; payload: string }[] = [];
  const asset = (chain: string, sym: string) => `${chain}/erc20:${tokens[sym]!.toLowerCase()}`;
  const portOf = (chain: string) => [...ports.values()].find((p) => p.chain === chain)!;
  const post = (url: string, payload: unknown) => app.inject({ method: 'POST', url, payload: payload as object });
  const get = (url: string) => app.inject({ method: 'GET', url });

  /** Delivers every queued port.send (and what it causes) through the destination test port. */
  async function relay(): Promise<number> {
    let n = 0;
    for (;;) {
      for (const p of ports.values()) {
        const count = Number(await p.contract.getFunction('sentCount').staticCall());
        if (p.cursor >= count) continue;
        for (const log of await p.contract.queryFilter(p.contract.filters.PortSent!(), 0, 'latest')) {
          const ev = p.contract.interface.parseLog(log)!;
          if (Number(ev.args[0]) < p.cursor) continue;
          const [, sender, dstChain, dstPort, receiver, gasLimit, payload] = ev.args as unknown as [bigint, string, string, string, string, bigint, string];
          queue.push({ srcChain: p.chain, sender, dstChain, dstPort, receiver, gasLimit, payload });
        }
        p.cursor = count;
      }
      const m = queue.shift();
      if (!m) return n;
      const dst = ports.get(m.dstPort.toLowerCase())!.contract.connect(deployer.signer) as Contract;
      await (await dst.getFunction('deliver')(getAddress(m.receiver), keccak256(m.payload), m.srcChain, m.sender.toLowerCase(), m.payload, m.gasLimit, { gasLimit: 6_000_000n })).wait();
      n++;
    }
  }

  const corridor = (over: Partial<Corridor> & Pick<Corridor, 'srcChain' | 'srcAsset' | 'dstChain' | 'dstAsset' | 'provider'>): Corridor => ({
    feeBps: 30,
    fixedFee: 10_000n,
    spreadBps: 20,
    fxSource: 'test',
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

  beforeAll(async () => {
    const [regArt, setArt, escArt, testPort] = await Promise.all([registryArtifacts(), settlementArtifacts(), escrowArtifacts(), compileSolidity([join(HERE, '..', 'contracts', 'SettlementTestPort.sol')])]);
    const portArt = testPort.SettlementTestPort!;
    anvil = await startAnvil({ chainId: CHAIN_ID });
    provider = makeProvider(anvil.url, CHAIN_ID, { pollingMs: 50 });
    deployer = new TxSender(ANVIL_DEV_KEY, provider);
    [governor, operator, lp, lp2, alice, bob, issuer] = ['governor', 'operator', 'lp', 'lp2', 'alice', 'bob', 'issuer'].map((l) => new TxSender(keyOf(l), provider)) as [TxSender, TxSender, TxSender, TxSender, TxSender, TxSender, TxSender];
    for (const s of [governor, operator, lp, lp2, alice, bob, issuer]) await provider.send('anvil_setBalance', [s.address, toBeHex(10n ** 20n)]);
    gov = directGovernance(governor);

    const reg = connectRegistries(provider, await deployRegistries(deployer, governor.address, regArt), regArt);
    const issuerDid = (await reg.identity.create(issuer, { did: 'did:qiao:payments.issuer' })).did;
    const aliceDid = (await reg.identity.create(alice)).did;
    await reg.credit.registerSchema(gov, { name: KYC, publicFields: [], revocable: true, negative: false, retentionSeconds: 0, disputeWindowSeconds: 86400 });
    await reg.issuers.accredit(gov, issuerDid, schemaIdOf(KYC), 0);
    aliceAtt = (await reg.credit.attest(issuer, { schemaId: schemaIdOf(KYC), subjectDid: aliceDid, issuerDid, dataCommitment: commitPrivateData('alice kyc').commitment })).uid;

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
    await hub.setPort(gov, portOf(GOV).address, GOV);
    for (const chain of [A, B, C]) await hub.setEscrow(gov, chain, escrows.get(chain)!.address, portOf(chain).address);
    await hub.setOperator(gov, operator.address, true);

    const e = escrows.get(A)!;
    for (const s of [lp, lp2, alice]) for (const sym of ['dUSD', 'dEUR', 'dGBP']) await e.mint(deployer, tokens[sym]!, s.address, 1_000_000n * M);
    await escrows.get(B)!.approve(lp, tokens.dEUR!, 10n ** 30n);
    await escrows.get(B)!.deposit(lp, tokens.dEUR!, 100_000n * M);
    await escrows.get(C)!.approve(lp2, tokens.dGBP!, 10n ** 30n);
    await escrows.get(C)!.deposit(lp2, tokens.dGBP!, 100_000n * M);
    await escrows.get(A)!.approve(alice, tokens.dUSD!, 10n ** 30n);

    // 1: A dUSD -> B dEUR (lp); 2: A -> C dGBP (lp2) and 3: C -> B (lp), a two-hop route;
    // 4: like 1 but requires KYC of the sender; 5: proposed, never approved.
    const specs: [TxSender, Corridor, bigint, boolean][] = [
      [lp, corridor({ srcChain: A, srcAsset: asset(A, 'dUSD'), dstChain: B, dstAsset: asset(B, 'dEUR'), provider: lp.address }), (90n * E18) / 100n, true],
      [lp2, corridor({ srcChain: A, srcAsset: asset(A, 'dUSD'), dstChain: C, dstAsset: asset(C, 'dGBP'), provider: lp2.address, feeBps: 5, fixedFee: 0n, spreadBps: 5 }), (80n * E18) / 100n, true],
      [lp, corridor({ srcChain: C, srcAsset: asset(C, 'dGBP'), dstChain: B, dstAsset: asset(B, 'dEUR'), provider: lp.address, feeBps: 5, fixedFee: 0n, spreadBps: 5 }), (115n * E18) / 100n, true],
      [lp, corridor({ srcChain: A, srcAsset: asset(A, 'dUSD'), dstChain: B, dstAsset: asset(B, 'dEUR'), provider: lp.address, feeBps: 1, fixedFee: 0n, spreadBps: 1, senderSchemas: [schemaIdOf(KYC)] }), (90n * E18) / 100n, true],
      [lp, corridor({ srcChain: A, srcAsset: asset(A, 'dUSD'), dstChain: B, dstAsset: asset(B, 'dEUR'), provider: lp.address }), (90n * E18) / 100n, false],
    ];
    for (const [who, c, rate, approve] of specs) {
      const { id } = await hub.proposeCorridor(who, c);
      await hub.setRate(who, id, rate);
      if (approve) await hub.approveCorridor(gov, id);
    }

    index = await openIndex({});
    app = buildApi({
      index,
      health: async () => ({ ok: true, governance: null, chains: [], queues: {} }),
      plugins: [paymentsPlugin({ hub, escrows, operator, compliance: registriesCompliance(reg), index, now: () => clock, graphTtlMs: 0 })],
    });
  }, 300_000);

  afterAll(async () => {
    await app?.close();
    await index?.close();
    provider?.destroy();
    await anvil?.stop();
  });

  const quoteBody = () => ({ srcAsset: asset(A, 'dUSD'), srcAccount: alice.address, dstAsset: asset(B, 'dEUR'), dstAccount: `${B}:${bob.address}`, amount: (1000n * M).toString() });

  it('refuses malformed bodies with 400 naming the field, before any chain write', async () => {
    const cases: [string, unknown, string][] = [
      ['/routes/quote', { ...quoteBody(), amount: '-5' }, 'amount'],
      ['/routes/quote', { ...quoteBody(), amount: '1.5' }, 'amount'],
      ['/routes/quote', { ...quoteBody(), srcAsset: 'eip155:1/erc20:0x12' }, 'srcAsset'],
      ['/routes/quote', { ...quoteBody(), dstAccount: `${A}:${bob.address}` }, 'dstAccount'],
      ['/routes/quote', { ...quoteBody(), maxHops: 4 }, 'maxHops'],
      ['/routes/quote', { ...quoteBody(), extra: 1 }, 'extra'],
      ['/routes/quote', { ...quoteBody(), senderAttestation: '0x12' }, 'senderAttestation'],
      ['/routes/quote', { ...quoteBody(), dstAccount: bob.address, dstAsset: asset(A, 'dUSD') }, 'dstAsset'],
      ['/payments', { quoteId: 'nope', routeIndex: 0 }, 'quoteId'],
      ['/payments', { quoteId: '6f1c1b9e-7b7d-4c6e-9a5b-1d2e3f4a5b6c', routeIndex: -1 }, 'routeIndex'],
      ['/payments', { quoteId: '6f1c1b9e-7b7d-4c6e-9a5b-1d2e3f4a5b6c', routeIndex: 0, uetr: 'ABC' }, 'uetr'],
      ['/payments/import', { document: { FIToFICstmrCdtTrf: {} } }, 'document.FIToFICstmrCdtTrf.GrpHdr'],
    ];
    for (const [url, body, field] of cases) {
      const r = await post(url, body);
      expect(r.statusCode, `${url} ${field}`).toBe(400);
      expect(r.json().error.field, url).toBe(field);
    }
    expect((await get('/payments/not-a-uuid')).statusCode).toBe(400);
    expect((await get(`/payments/${newUetr()}`)).statusCode).toBe(404);
    expect((await post('/payments', { quoteId: '6f1c1b9e-7b7d-4c6e-9a5b-1d2e3f4a5b6c', routeIndex: 0 })).json().error.code).toBe('quote_not_found');
  });

  it('lists corridors with status, rate and provider liquidity', async () => {
    const r = await get('/corridors');
    expect(r.statusCode).toBe(200);
    const cs = r.json().corridors as { id: number; status: string; rate: string; liquidity: string }[];
    expect(cs.map((c) => [c.id, c.status])).toEqual([[1, 'approved'], [2, 'approved'], [3, 'approved'], [4, 'approved'], [5, 'proposed']]);
    expect(cs[0]!.liquidity).toBe((100_000n * M).toString());
    expect(cs[0]!.rate).toBe(((90n * E18) / 100n).toString());
  });

  it('quotes ranked routes with amounts the contract formula gives, and says why others are refused', async () => {
    const r = await post('/routes/quote', quoteBody());
    expect(r.statusCode).toBe(200);
    const q = r.json();
    expect(q.routes.map((x: { corridorIds: number[] }) => x.corridorIds)).toEqual([[2, 3], [1]]);
    expect(q.rejected.map((x: { corridorIds: number[]; reason: string }) => [x.corridorIds, x.reason]).sort()).toEqual([
      [[4], 'sender_not_compliant'],
      [[5], 'not_approved'],
    ]);
    // Recompute the two-hop amounts with the shared formula from the corridors on chain.
    const [c2, c3] = [(await hub.corridor(2))!, (await hub.corridor(3))!];
    const h1 = tryHopOutput(1000n * M, c2.corridor, c2.rate);
    const h2 = 'out' in h1 ? tryHopOutput(h1.out, c3.corridor, c3.rate) : h1;
    expect('out' in h2 && q.routes[0].amountOut).toBe('out' in h2 ? h2.out.toString() : 'unreachable');
    expect(q.routes[0].legs.map((l: { from: string; to: string }) => [l.from, l.to])).toEqual([
      [alice.address.toLowerCase(), lp2.address.toLowerCase()],
      [lp2.address.toLowerCase(), lp.address.toLowerCase()],
      [lp.address.toLowerCase(), bob.address.toLowerCase()],
    ]);
    expect(Date.parse(q.expiresAt) - Date.parse(q.createdAt)).toBe(30_000);

    // With a valid KYC attestation the compliant corridor (cheapest fees) becomes a route and ranks first.
    const k = (await post('/routes/quote', { ...quoteBody(), senderAttestation: aliceAtt })).json();
    expect(k.routes[0].corridorIds).toEqual([4]);
    expect(k.routes[0].senderAttestation).toBe(aliceAtt.toLowerCase());
    // Bob's attestation for alice's DID does not count for bob.
    const notBob = (await post('/routes/quote', { ...quoteBody(), srcAccount: bob.address, senderAttestation: aliceAtt })).json();
    expect(notBob.notes.join(' ')).toContain('not_controller');
  });

  let paidUetr = '';
  it('opens a quoted route on chain, the sender locks, the decision commits: ACSC', async () => {
    const q = (await post('/routes/quote', { ...quoteBody(), maxHops: 1 })).json();
    expect(q.routes[0].corridorIds).toEqual([1]);
    const r = await post('/payments', { quoteId: q.quoteId, routeIndex: 0 });
    expect(r.statusCode).toBe(201);
    const opened = r.json();
    paidUetr = opened.uetr;
    expect(opened.lock).toMatchObject({ chain: A, escrow: escrows.get(A)!.address, token: tokens.dUSD!.toLowerCase(), amount: (1000n * M).toString(), to: lp.address.toLowerCase() });
    // The quote is used up.
    expect((await post('/payments', { quoteId: q.quoteId, routeIndex: 0 })).statusCode).toBe(404);

    // On chain: the payment is open with the quoted legs.
    const p = (await hub.payment(paidUetr))!;
    expect(p.state).toBe('open');
    expect(p.legs.map((l) => l.amount.toString())).toEqual(q.routes[0].legs.map((l: { amount: string }) => l.amount));

    const before = await escrows.get(B)!.balanceOf(tokens.dEUR!, bob.address);
    await escrows.get(A)!.lock(alice, { uetr: paidUetr, token: opened.lock.token, amount: BigInt(opened.lock.amount), to: opened.lock.to });
    expect(await relay()).toBeGreaterThan(0);
    expect((await hub.payment(paidUetr))!.state).toBe('committed');
    expect((await escrows.get(B)!.balanceOf(tokens.dEUR!, bob.address)) - before).toBe(BigInt(q.routes[0].amountOut));

    const s = (await get(`/payments/${paidUetr}`)).json();
    expect(s.state).toBe('committed');
    expect(s.legs.map((l: { escrow: { state: string } }) => l.escrow.state)).toEqual(['released', 'released']);
    const pacs2 = (await get(`/payments/${paidUetr}/pacs.002`)).json();
    expect(pacs2.FIToFIPmtStsRpt.TxInfAndSts[0].TxSts).toBe('ACSC');
    const pacs8 = (await get(`/payments/${paidUetr}/pacs.008`)).json();
    const tx = pacs8.FIToFICstmrCdtTrf.CdtTrfTxInf[0];
    expect([tx.PmtId.UETR, tx.InstdAmt, tx.IntrBkSttlmAmt.Ccy]).toEqual([paidUetr, { Ccy: 'USD', Amt: '1000' }, 'EUR']);

    // Importing the export gives the same request back; opening it again with its UETR is refused on chain.
    const imp = await post('/payments/import', pacs8);
    expect(imp.statusCode).toBe(200);
    const ij = imp.json();
    expect([ij.uetr, ij.request.amount, ij.request.srcAccount, ij.request.dstAccount]).toEqual([paidUetr, (1000n * M).toString(), alice.address.toLowerCase(), bob.address.toLowerCase()]);
    const again = await post('/payments', { quoteId: ij.quote.quoteId, routeIndex: ij.quote.routes.findIndex((x: { corridorIds: number[] }) => x.corridorIds.join() === '1'), uetr: ij.uetr });
    expect([again.statusCode, again.json().error.code]).toEqual([422, 'uetr_used']);
  });

  it('refuses an expired quote (410) and a route the contract refuses (422, nothing moved)', async () => {
    const q = (await post('/routes/quote', { ...quoteBody(), maxHops: 1 })).json();
    clock += 31_000;
    expect((await post('/payments', { quoteId: q.quoteId, routeIndex: 0 })).statusCode).toBe(410);

    const q2 = (await post('/routes/quote', { ...quoteBody(), maxHops: 1 })).json();
    await hub.suspendCorridor(gov, 1);
    const r = await post('/payments', { quoteId: q2.quoteId, routeIndex: 0 });
    expect([r.statusCode, r.json().error.code]).toEqual([422, 'corridor_not_approved']);
    await hub.approveCorridor(gov, 1);
    expect((await post('/payments', { quoteId: q2.quoteId, routeIndex: 99 })).statusCode).toBe(400);
  });

  it('reports an aborted payment as RJCT with its reason, every locked leg refunded on chain', async () => {
    const q = (await post('/routes/quote', { ...quoteBody(), maxHops: 2 })).json();
    const i = q.routes.findIndex((x: { corridorIds: number[] }) => x.corridorIds.join() === '2,3');
    const opened = (await post('/payments', { quoteId: q.quoteId, routeIndex: i, deadlineSeconds: 30 })).json();
    await relay(); // RESERVEs lock the LP legs; the sender never locks leg 0
    expect((await get(`/payments/${opened.uetr}/pacs.002`)).json().FIToFIPmtStsRpt.TxInfAndSts[0].TxSts).toBe('PDNG');
    await provider.send('evm_increaseTime', [60]);
    await provider.send('evm_mine', []);
    await hub.abort(operator, opened.uetr);
    await relay();
    const p = (await hub.payment(opened.uetr))!;
    expect(p.state).toBe('aborted');
    const locks = await Promise.all(p.legs.map((l) => escrows.get(l.chain)!.lockOf(opened.uetr, l.index)));
    expect(locks.map((l) => l.state)).toEqual(['none', 'refunded', 'refunded']);
    const tx = (await get(`/payments/${opened.uetr}/pacs.002`)).json().FIToFIPmtStsRpt.TxInfAndSts[0];
    expect([tx.TxSts, tx.StsRsnInf[0].Rsn.Cd]).toEqual(['RJCT', 'AB03']);
    expect(tx.StsRsnInf[0].AddtlInf).toContain('refunded: leg 1, 2');
  });

  it('documents every route in /docs', async () => {
    const doc = (await get('/docs')).json();
    for (const p of ['/routes/quote', '/payments', '/payments/{uetr}', '/payments/{uetr}/pacs.008', '/payments/{uetr}/pacs.002', '/payments/import', '/corridors']) expect(doc.paths[p], p).toBeDefined();
  });

  it.skipIf(!existsSync(CHROMIUM))('shows the payment legs and the corridors in the explorer', async () => {
    await registerExplorer(app);
    await app.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--no-first-run'] });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(`${base}/explorer#/payments/${paidUetr}`);
      const view = page.locator('#view-payments');
      await expect.poll(() => view.innerText(), { timeout: 20_000 }).toContain('released');
      const text = await view.innerText();
      expect(text).toContain('committed');
      expect(text.match(/released/g)?.length).toBe(2);
      await page.goto(`${base}/explorer#/payments`);
      await expect.poll(() => view.innerText(), { timeout: 20_000 }).toContain('Corridors (5)');
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
