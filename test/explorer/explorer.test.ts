import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerExplorer } from '../../src/api/explorer.ts';
import { buildApi, type HealthReport } from '../../src/api/server.ts';
import { chainId, type ChainId } from '../../src/domain/caip.ts';
import type { ChainRegistration } from '../../src/domain/chain.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { encodeMessage, messageId, messageToJson, type QiaoMessage } from '../../src/domain/message.ts';
import type { MessageStatus } from '../../src/domain/status.ts';
import { openIndex } from '../../src/index/open.ts';
import type { MessageIndex, TransitionEvidence } from '../../src/index/types.ts';

const CHROMIUM = '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
if (!HAVE_CHROMIUM) console.warn(`[qiao] NOTICE: ${CHROMIUM} not found; the explorer's headless-browser tests are skipped.`);

const A = chainId('eip155:1001');
const B = chainId('eip155:1002');
const GOV = 'eip155:4242';

const hex = (byte: number, bytes: number): Hex => `0x${byte.toString(16).padStart(2, '0').repeat(bytes)}` as Hex;
/** How the page shortens an id in the list. */
const shortId = (id: string) => `${id.slice(0, 10)}…${id.slice(-6)}`;

const HEADER_HASH = hex(0xab, 32);
const STATE_ROOT = hex(0xcd, 32);
const BATCH_ROOT = hex(0xef, 32);

function chainReg(id: ChainId): ChainRegistration {
  return {
    chainId: id,
    family: 'evm',
    genesisHash: hex(0xaa, 32),
    port: hex(0x50, 20),
    lightClient: 'local-dev',
    trustRoot: '0x',
    finality: { kind: 'depth', depth: 2 },
    endpoints: ['http://127.0.0.1:8545'],
    status: 'approved',
  };
}

// Evidence shaped as the relayer stages store it (relayer/stages/{verify,commit,attest,deliver}.ts).
function evidence(to: MessageStatus, src: ChainId, dst: ChainId): TransitionEvidence {
  switch (to) {
    case 'verified':
      return {
        chain: src,
        height: 101n,
        proof: {
          kind: 'evm-mpt',
          height: '101',
          blockHash: HEADER_HASH,
          header: { hash: HEADER_HASH, stateRoot: STATE_ROOT, number: '0x65' },
          address: hex(0x50, 20),
          accountProof: [hex(0x01, 40), hex(0x02, 40), hex(0x03, 40)],
          storageProofs: [{ key: hex(0x04, 32), value: '0x01', proof: [hex(0x05, 40), hex(0x06, 40)] }],
          lightClient: 'local-dev',
          endpoint: 0,
        },
      };
    case 'committed':
      return { chain: GOV, height: 12n, txHash: hex(0x0c, 32), batchNo: 7n, proof: { messageLog: hex(0x60, 20), batchNo: '7', root: BATCH_ROOT } };
    case 'attested':
      return {
        chain: GOV,
        batchNo: 7n,
        proof: {
          setId: '3',
          threshold: 2,
          root: BATCH_ROOT,
          signatures: [
            { attestor: hex(0xa1, 20), signature: hex(0x51, 65) },
            { attestor: hex(0xa2, 20), signature: hex(0x52, 65) },
          ],
        },
      };
    case 'failed':
      return { chain: dst, height: 55n, txHash: hex(0x0f, 32), reason: 'receiver reverted' };
    default:
      return { chain: dst, height: 56n, txHash: hex(0x0d, 32) };
  }
}

async function send(index: MessageIndex, src: ChainId, dst: ChainId, nonce: bigint, path: MessageStatus[]): Promise<Hex> {
  const m: QiaoMessage = {
    version: 1,
    srcChain: src,
    srcPort: hex(0x50, 20),
    sender: hex(0x11, 20),
    dstChain: dst,
    dstPort: hex(0x51, 20),
    receiver: hex(0x21, 20),
    nonce,
    gasLimit: 200_000n,
    timeoutHeight: 0n,
    timeoutUnixSeconds: 0n,
    payload: '0xc0ffee',
  };
  const encoded = encodeMessage(m);
  const id = messageId(encoded);
  const rec = { id, encoded, message: messageToJson(m), height: 100n + nonce, txHash: hex(0x70 + Number(nonce), 32), blockHash: hex(0x90, 32), logIndex: 0 };
  expect(await index.recordSent(src, [rec])).toEqual([id]);
  for (const to of path) expect(await index.transition([id], to, evidence(to, src, dst))).toEqual([id]);
  return id;
}

// One index for the file: PGlite takes seconds to open on a busy machine.
let index: MessageIndex;
beforeAll(async () => {
  index = await openIndex({});
});
afterAll(async () => {
  await index?.close();
});

describe('explorer assets', () => {
  let app: FastifyInstance;

  beforeAll(async () => {
    app = buildApi({ index, health: async () => ({ ok: true, governance: null, chains: [], queues: {} }) });
    // A no-op once src/api/server.ts registers the explorer itself.
    await registerExplorer(app);
    await app.ready();
  });

  afterAll(async () => {
    await app?.close();
  });

  it('redirects / to /explorer and serves the page with a strict content security policy', async () => {
    const root = await app.inject({ method: 'GET', url: '/' });
    expect(root.statusCode).toBe(302);
    expect(root.headers.location).toBe('/explorer');
    const page = await app.inject({ method: 'GET', url: '/explorer' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.body).toContain('<script type="module" src="/explorer/app.js">');
    const slash = await app.inject({ method: 'GET', url: '/explorer/' });
    expect(slash.statusCode).toBe(301);
    expect(slash.headers.location).toBe('/explorer');
  });

  it('serves the module and the stylesheet with their types, and nothing else from the folder', async () => {
    const js = await app.inject({ method: 'GET', url: '/explorer/app.js' });
    expect(js.statusCode).toBe(200);
    expect(js.headers['content-type']).toMatch(/^text\/javascript/);
    expect(js.headers['x-content-type-options']).toBe('nosniff');
    const css = await app.inject({ method: 'GET', url: '/explorer/style.css' });
    expect(css.statusCode).toBe(200);
    expect(css.headers['content-type']).toMatch(/^text\/css/);
    for (const url of ['/explorer/index.html', '/explorer/../explorer.ts', '/explorer/%2e%2e/explorer.ts', '/explorer/other.js']) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(404);
    }
  });

  it('still serves the API routes next to the page', async () => {
    const res = await app.inject({ method: 'GET', url: '/messages' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(Array.isArray((res.json() as { items: unknown }).items)).toBe(true);
  });

  it('fails with a 500 that does not name the folder when an asset is missing', async () => {
    const bare = Fastify({ logger: false });
    await registerExplorer(bare, { assetsDir: '/nonexistent/qiao-explorer' });
    try {
      const res = await bare.inject({ method: 'GET', url: '/explorer' });
      expect(res.statusCode).toBe(500);
      expect(res.body).not.toContain('/nonexistent');
    } finally {
      await bare.close();
    }
  });

  it('works as a fastify plugin, and registering twice is harmless', async () => {
    const other = buildApi({ index, health: async () => ({ ok: true, governance: null, chains: [], queues: {} }) });
    await other.register(registerExplorer);
    await registerExplorer(other);
    await other.ready();
    try {
      const res = await other.inject({ method: 'GET', url: '/explorer' });
      expect(res.statusCode).toBe(200);
      expect(res.body).toContain('<title>Qiao explorer</title>');
    } finally {
      await other.close();
    }
  });
});

describe.skipIf(!HAVE_CHROMIUM)('explorer page in headless Chromium', () => {
  let app: FastifyInstance;
  let browser: Browser;
  let page: Page;
  let base: string;
  const pageErrors: string[] = [];
  const ids: Record<string, Hex> = {};
  const health: HealthReport = {
    ok: true,
    governance: { url: 'http://127.0.0.1:8545', chainId: GOV, head: '12' },
    chains: [
      { chainId: A, head: '120', finalized: '118', checkpoint: '117', lag: '1', status: 'approved' },
      { chainId: B, head: '340', finalized: '338', checkpoint: '338', lag: '0', status: 'approved' },
    ],
    queues: { verify: { waiting: 0, delayed: 1, active: 0, dead: 0 } },
  };

  const rowOf = (id: Hex) => page.locator(`#messages tbody tr[data-id="${id}"]`);
  const hasRoute = (url: string) => app.hasRoute({ method: 'GET', url });

  beforeAll(async () => {
    await index.upsertChain(chainReg(A));
    await index.upsertChain(chainReg(B));
    ids.delivered = await send(index, A, B, 1n, ['verified', 'committed', 'attested', 'delivered']);
    ids.verified = await send(index, A, B, 2n, ['verified']);
    ids.failed = await send(index, B, A, 1n, ['verified', 'committed', 'attested', 'failed']);
    ids.sent = await send(index, A, B, 3n, []);

    const evTx = (i: number) => `0x${String(i).padStart(64, '0')}` as Hex;
    await index.recordRegistryEvents(
      (['pending', 'approved', 'suspended'] as const).map((status, i) => ({
        contract: 'ChainRegistry',
        kind: 'ChainStatusChanged',
        subject: A,
        status,
        data: { chainId: A },
        blockNumber: BigInt(3 + i),
        blockTime: new Date(Date.UTC(2026, 10, 25, 9, 0, i)),
        txHash: evTx(i + 1),
        logIndex: 0,
      })),
    );
    app = buildApi({ index, health: async () => health });
    await registerExplorer(app);
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (err) => pageErrors.push(String(err)));
    // The page runs under a strict policy: anything it blocks would be a broken feature.
    page.on('console', (msg) => {
      if (msg.type() === 'error' && /Content Security Policy/i.test(msg.text())) pageErrors.push(msg.text());
    });
  });

  afterAll(async () => {
    // The browser first: an open event stream would hold the server's close.
    await browser?.close();
    await app?.close();
  });

  it('lists the seeded messages with their statuses', async () => {
    await page.goto(`${base}/`);
    expect(new URL(page.url()).pathname).toBe('/explorer');
    await expect.poll(() => page.locator('#messages tbody tr').count(), { timeout: 10_000 }).toBe(4);
    for (const [status, id] of Object.entries(ids)) {
      const text = await rowOf(id).innerText();
      expect(text).toContain(shortId(id));
      expect(text).toContain(status);
    }
    expect(await rowOf(ids.failed!).innerText()).toMatch(/eip155:1002 0x1111…1111 → eip155:1001 0x2121…2121/);
  });

  it('filters by status through the URL hash', async () => {
    await page.locator('select[name="status"]').selectOption('sent');
    await expect.poll(() => new URL(page.url()).hash).toBe('#/messages?status=sent');
    await expect.poll(() => page.locator('#messages tbody tr').count()).toBe(1);
    expect(await page.locator('#messages tbody').innerText()).toContain(shortId(ids.sent!));
    // A shared link opens with the same filter filled in.
    await page.goto(`${base}/explorer#/messages?status=delivered`);
    await expect.poll(() => page.locator('#messages tbody').innerText()).toContain(shortId(ids.delivered!));
    expect(await page.locator('#messages tbody tr').count()).toBe(1);
    expect(await page.locator('select[name="status"]').inputValue()).toBe('delivered');
    await page.locator('#clear-filters').click();
    await expect.poll(() => page.locator('#messages tbody tr').count()).toBe(4);
  });

  it('filters by CAIP-10 account across chains from the form', async () => {
    // Every seeded message has receiver 0x21…21, so the account on B matches the messages sent to B only.
    const account = `${B}:${hex(0x21, 20)}`;
    await page.locator('input[name="party"]').fill(account);
    expect(await page.locator('select[name="role"]').isDisabled()).toBe(true);
    await page.locator('input[name="party"]').press('Enter');
    await expect.poll(() => new URLSearchParams(new URL(page.url()).hash.split('?')[1] ?? '').get('account')).toBe(account);
    await expect.poll(() => page.locator('#messages tbody tr').count()).toBe(3);
    for (const text of await page.locator('#messages tbody tr').allInnerTexts()) expect(text).toMatch(/→ eip155:1002/);
    // A plain address is a sender or receiver filter, as the person picks.
    await page.locator('input[name="party"]').fill(hex(0x21, 20));
    await page.locator('select[name="role"]').selectOption('receiver');
    await expect.poll(() => new URL(page.url()).hash).toBe(`#/messages?receiver=${hex(0x21, 20)}`);
    await expect.poll(() => page.locator('#messages tbody tr').count()).toBe(4);
    await page.locator('#clear-filters').click();
    await expect.poll(() => new URL(page.url()).hash).toBe('#/messages');
  });

  it('finds messages by transaction hash, refreshed by polling since the stream cannot filter on it', async () => {
    // The seeds of nonce 1 on both lanes share the source transaction 0x71…71.
    await page.locator('input[name="txHash"]').fill(hex(0x71, 32));
    await page.locator('input[name="txHash"]').press('Enter');
    await expect.poll(() => new URL(page.url()).hash).toBe(`#/messages?txHash=${hex(0x71, 32)}`);
    await expect.poll(() => page.locator('#messages tbody tr').count()).toBe(2);
    expect(await rowOf(ids.delivered!).isVisible()).toBe(true);
    expect(await rowOf(ids.failed!).isVisible()).toBe(true);
    expect(await page.locator('#live').getAttribute('data-mode')).toBe('poll');
    await page.locator('#clear-filters').click();
    await expect.poll(() => page.locator('#messages tbody tr').count()).toBe(4);
    expect(await page.locator('input[name="txHash"]').inputValue()).toBe('');
  });

  it('shows a rejected filter as an error the person can read', async () => {
    await page.goto(`${base}/explorer#/messages?chain=not-a-chain`);
    await expect.poll(() => page.locator('#list-error').innerText()).toContain('chain');
    expect(await page.locator('#list-error').isVisible()).toBe(true);
    await page.goto(`${base}/explorer#/messages`);
    await expect.poll(() => page.locator('#messages tbody tr').count()).toBe(4);
  });

  it('opens a message from the list and shows its five steps with their proofs', async () => {
    await rowOf(ids.delivered!).locator('td').nth(1).click();
    await expect.poll(() => new URL(page.url()).hash).toBe(`#/message/${ids.delivered}`);
    const view = page.locator('#view-message');
    await expect.poll(() => view.locator('h3').first().innerText(), { timeout: 10_000 }).toBe('Timeline (5 steps)');
    const steps = view.locator('ol.timeline > li');
    expect(await steps.locator('.step-head .badge').allInnerTexts()).toEqual(['sent', 'verified', 'committed', 'attested', 'delivered']);

    const fields = await view.locator('dl.fields').innerText();
    expect(fields).toContain(ids.delivered);
    expect(fields).toContain('eip155:1001');
    expect(fields).toContain('200000');

    const verified = await steps.nth(1).innerText();
    expect(verified).toContain('Header hash');
    expect(verified).toContain(HEADER_HASH);
    expect(verified).toContain('State root');
    expect(verified).toContain(STATE_ROOT);
    expect(verified).toMatch(/Proof nodes\s+5/);
    expect(verified).toContain('101');

    const attested = await steps.nth(3).innerText();
    expect(attested).toMatch(/Set id\s+3/);
    expect(attested).toMatch(/Signatures\s+2 \(threshold 2\)/);

    const delivered = await steps.nth(4).innerText();
    expect(delivered).toContain('eip155:1002');
    expect(delivered).toContain('56');

    // The stored proof is there to read, folded until asked for.
    const pre = steps.nth(1).locator('details.proof pre');
    expect(await pre.isVisible()).toBe(false);
    await steps.nth(1).locator('details.proof summary').click();
    expect(await pre.isVisible()).toBe(true);
    expect(await pre.innerText()).toContain('"accountProof"');
  });

  it('says so when a message is not in the index', async () => {
    await page.goto(`${base}/explorer#/message/${hex(0x99, 32)}`);
    await expect.poll(() => page.locator('#view-message').innerText()).toContain('No message');
  });

  it('shows a new message and a status change without a reload', async () => {
    await page.goto(`${base}/explorer#/messages`);
    await expect.poll(() => page.locator('#messages tbody tr').count()).toBe(4);
    // Through the SSE stream when the API has it, else through the page's refresh fallback.
    const expectedMode = hasRoute('/messages/stream') ? 'sse' : 'poll';
    await expect.poll(() => page.locator('#live').getAttribute('data-mode'), { timeout: 10_000 }).toBe(expectedMode);
    console.info(`[qiao] explorer live updates tested through: ${expectedMode === 'sse' ? 'SSE /messages/stream' : 'polling fallback (no /messages/stream route)'}`);
    await page.evaluate(() => {
      (globalThis as unknown as { qiaoNoReload: boolean }).qiaoNoReload = true;
    });

    const fresh = await send(index, B, A, 2n, []);
    await expect.poll(() => page.locator('#messages tbody tr').first().innerText(), { timeout: 15_000 }).toContain(shortId(fresh));
    expect(await page.locator('#messages tbody tr').first().innerText()).toContain('sent');
    expect(await page.locator('#messages tbody tr').count()).toBe(5);

    expect(await index.transition([ids.sent!], 'verified', evidence('verified', A, B))).toEqual([ids.sent]);
    await expect.poll(() => rowOf(ids.sent!).locator('.badge').innerText(), { timeout: 15_000 }).toBe('verified');

    expect(await page.evaluate(() => (globalThis as unknown as { qiaoNoReload?: boolean }).qiaoNoReload)).toBe(true);
  });

  it('falls back to refreshing the list when the hub has no event stream', async () => {
    // A second tab that sees /messages/stream answer 404, as an older hub would.
    const ctx = await browser.newContext();
    try {
      await ctx.route('**/messages/stream**', (route) =>
        route.fulfill({ status: 404, contentType: 'application/json', body: JSON.stringify({ error: { code: 'not_found', message: 'no route' } }) }),
      );
      const tab = await ctx.newPage();
      tab.on('pageerror', (err) => pageErrors.push(String(err)));
      await tab.goto(`${base}/explorer#/messages`);
      await expect.poll(() => tab.locator('#live').getAttribute('data-mode'), { timeout: 10_000 }).toBe('poll');
      expect(await tab.locator('#live').innerText()).toContain('refresh every');
      const before = await tab.locator('#messages tbody tr').count();
      await tab.evaluate(() => {
        (globalThis as unknown as { qiaoNoReload: boolean }).qiaoNoReload = true;
      });
      const fresh = await send(index, A, B, 4n, []);
      await expect.poll(() => tab.locator('#messages tbody tr').first().innerText(), { timeout: 15_000 }).toContain(shortId(fresh));
      expect(await tab.locator('#messages tbody tr').count()).toBe(before + 1);
      expect(await tab.evaluate(() => (globalThis as unknown as { qiaoNoReload?: boolean }).qiaoNoReload)).toBe(true);
    } finally {
      await ctx.close();
    }
  });

  it('updates an open message as it moves on', async () => {
    await page.goto(`${base}/explorer#/message/${ids.verified}`);
    const view = page.locator('#view-message');
    await expect.poll(() => view.locator('h3').first().innerText(), { timeout: 10_000 }).toBe('Timeline (2 steps)');
    await expect.poll(() => page.locator('#live').getAttribute('data-mode'), { timeout: 10_000 }).toBe(hasRoute('/messages/stream') ? 'sse' : 'poll');
    expect(await index.transition([ids.verified!], 'committed', evidence('committed', A, B))).toEqual([ids.verified]);
    await expect.poll(() => view.locator('h3').first().innerText(), { timeout: 15_000 }).toBe('Timeline (3 steps)');
    expect(await view.locator('h2 .badge').innerText()).toBe('committed');
  });

  it('shows the chains with their heads, lag and trust expiry', async () => {
    await page.locator('nav a[data-nav="chains"]').click();
    const table = page.locator('#chains');
    await expect.poll(() => table.isVisible(), { timeout: 10_000 }).toBe(true);
    const rowA = await table.locator(`tr[data-chain="${A}"]`).innerText();
    expect(rowA).toContain('eip155:1001');
    expect(rowA).toContain('approved');
    expect(rowA).toContain('120');
    expect(rowA).toContain('118');
    expect(rowA).toContain('117');
    expect(rowA).toContain('local-dev');
    expect(await page.locator('#view-chains').innerText()).toContain(GOV);
    // A chain's registry history opens under the table.
    const hist = page.locator(`details[data-history="${A}"]`);
    await hist.locator('summary').click();
    await expect.poll(() => hist.locator('tbody tr').count(), { timeout: 10_000 }).toBe(3);
    const rows = await hist.locator('tbody tr').allInnerTexts();
    expect(rows[0]).toContain('pending');
    expect(rows[1]).toContain('approved');
    expect(rows[2]).toContain('suspended');
    expect(rows[1]).toContain('2026-11-25 09:00:01');
    const other = page.locator(`details[data-history="${B}"]`);
    await other.locator('summary').click();
    await expect.poll(() => other.innerText(), { timeout: 10_000 }).toContain('No registry events recorded');
    await page.screenshot({ path: '/tmp/qiao-explorer-chains.png', fullPage: true });
  });

  it('shows lanes, or says they are not available on a hub without /lanes', async () => {
    await page.locator('nav a[data-nav="lanes"]').click();
    const view = page.locator('#view-lanes');
    if (!hasRoute('/lanes')) {
      await expect.poll(() => view.innerText(), { timeout: 10_000 }).toContain('Lanes not available');
      return;
    }
    const table = view.locator('#lanes');
    await expect.poll(() => table.isVisible(), { timeout: 10_000 }).toBe(true);
    expect(await table.innerText()).toContain('eip155:1001 → eip155:1002');
    // From a lane to its messages: the lane filter shows as a chip the person can remove.
    await table.locator(`tr[data-lane="${A}>${B}"] a`, { hasText: 'messages' }).click();
    await expect.poll(async () => (await page.locator('#extra-filters').innerText()).replace(/\s+/g, ' ')).toContain(`lane ${A}>${B}`);
    await expect.poll(() => page.locator('#messages tbody tr').count()).toBeGreaterThan(0);
    for (const text of await page.locator('#messages tbody tr').allInnerTexts()) expect(text).toMatch(/eip155:1001 \S+ → eip155:1002/);
    await page.locator('#extra-filters a.remove').click();
    await expect.poll(() => new URL(page.url()).hash).toBe('#/messages');
    await page.locator('nav a[data-nav="lanes"]').click();
    await expect.poll(() => table.isVisible(), { timeout: 10_000 }).toBe(true);
    if (hasRoute('/lanes/latency')) {
      // One message on A → B was delivered this minute: the chart has a point.
      await page.goto(`${base}/explorer#/lanes?lane=${encodeURIComponent(`${A}>${B}`)}`);
      await expect.poll(() => view.locator('svg.chart circle').count(), { timeout: 10_000 }).toBeGreaterThan(0);
      expect(await view.locator('svg.chart').innerHTML()).toContain('p95');
      await page.screenshot({ path: '/tmp/qiao-explorer-lanes.png', fullPage: true });
    }
  });

  it('shows the list once more for a look, and raised no script error anywhere', async () => {
    await page.goto(`${base}/explorer#/message/${ids.delivered}`);
    await expect.poll(() => page.locator('#view-message h3').first().innerText()).toBe('Timeline (5 steps)');
    await page.locator('#view-message ol.timeline > li').nth(3).locator('details.proof summary').click();
    await page.screenshot({ path: '/tmp/qiao-explorer-message.png', fullPage: true });
    await page.goto(`${base}/explorer#/messages`);
    await expect.poll(() => page.locator('#messages tbody tr').count()).toBe(6);
    await page.screenshot({ path: '/tmp/qiao-explorer-list.png', fullPage: true });
    expect(pageErrors).toEqual([]);
  });

  it('pages with "Load more" through the cursor', async () => {
    const C = chainId('eip155:1003');
    const records = [];
    for (let n = 1n; n <= 60n; n++) {
      const m: QiaoMessage = {
        version: 1,
        srcChain: C,
        srcPort: hex(0x50, 20),
        sender: hex(0x13, 20),
        dstChain: A,
        dstPort: hex(0x51, 20),
        receiver: hex(0x23, 20),
        nonce: n,
        gasLimit: 100_000n,
        timeoutHeight: 0n,
        timeoutUnixSeconds: 0n,
        payload: '0x',
      };
      const encoded = encodeMessage(m);
      records.push({ id: messageId(encoded), encoded, message: messageToJson(m), height: 500n, txHash: hex(0x77, 32), blockHash: hex(0x78, 32), logIndex: Number(n) });
    }
    expect(await index.recordSent(C, records)).toHaveLength(60);
    await page.goto(`${base}/explorer#/messages?chain=${encodeURIComponent(C)}`);
    await expect.poll(() => page.locator('#messages tbody tr').count(), { timeout: 10_000 }).toBe(50);
    const more = page.locator('#load-more');
    expect(await more.isVisible()).toBe(true);
    await more.click();
    await expect.poll(() => page.locator('#messages tbody tr').count(), { timeout: 10_000 }).toBe(60);
    expect(await more.isVisible()).toBe(false);
    const shown = new Set(await page.locator('#messages tbody tr').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-id'))));
    expect(shown).toEqual(new Set(records.map((r) => r.id)));
    expect(pageErrors).toEqual([]);
  });
});
