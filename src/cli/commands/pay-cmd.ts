import type { Command } from 'commander';
import { QiaoError, ValidationError } from '../../errors.ts';
import { resolveApiUrl } from '../api-url.ts';
import { printJson, printTable, short } from '../output.ts';

type Opts = Record<string, string | boolean | undefined>;

/** The hub answered with an error body; `code` is its reason code (e.g. quote_expired, stale_rate). */
export class HubApiError extends QiaoError {
  constructor(
    readonly status: number,
    code: string,
    message: string,
    data: Record<string, unknown> = {},
    options: { cause?: unknown } = {},
  ) {
    super(code, message, { ...options, data: { status, ...data } });
  }
}

/** One JSON call to the hub's HTTP API; error bodies become HubApiError. */
export async function callHub<T>(api: string, method: 'GET' | 'POST', path: string, body?: unknown, timeoutMs = 60_000): Promise<T> {
  let res: Response;
  try {
    res = await fetch(new URL(path, api.endsWith('/') ? api : `${api}/`), {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (cause) {
    throw new HubApiError(0, 'hub_unreachable', `${method} ${path}: the hub at ${api} did not answer`, {}, { cause });
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new HubApiError(res.status, 'bad_response', `${method} ${path}: HTTP ${res.status}, not JSON`);
  }
  if (!res.ok) {
    const e = (json as { error?: { code?: string; message?: string; field?: string } }).error ?? {};
    throw new HubApiError(res.status, e.code ?? 'http_error', `${method} ${path}: ${e.message ?? `HTTP ${res.status}`}`, e.field ? { field: e.field } : {});
  }
  return json as T;
}

const apiOptions = (cmd: Command) => cmd.option('--api <url>', 'hub API (default: the hub of --data-dir)').option('--data-dir <dir>', 'data folder of the hub').option('--json', 'print JSON');
const api = (o: Opts) => resolveApiUrl({ api: o.api as string | undefined, dataDir: o.dataDir as string | undefined });

function int(v: string | boolean | undefined, field: string, min: number, max: number): number | undefined {
  if (typeof v !== 'string') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new ValidationError(field, `must be an integer in ${min}..${max}`);
  return n;
}

interface RouteView {
  corridorIds: number[];
  amountIn: string;
  amountOut: string;
  cost: string;
  costBps: number;
  expectedSeconds: number;
  minLiquidityAfter: string;
  minHeadroomAfter: string;
}
interface QuoteView {
  quoteId: string;
  expiresAt: string;
  routes: RouteView[];
  rejected: { corridorIds: number[]; reason: string; detail: string }[];
  notes?: string[];
}

function printQuote(q: QuoteView): void {
  console.log(`quote ${q.quoteId}, expires ${q.expiresAt}`);
  printTable(
    q.routes.map((r, i) => ({ route: i, corridors: r.corridorIds.join(' > '), in: r.amountIn, out: r.amountOut, cost: `${r.cost} (${r.costBps} bps)`, seconds: r.expectedSeconds, liquidity: r.minLiquidityAfter, headroom: r.minHeadroomAfter })),
    ['route', 'corridors', 'in', 'out', 'cost', 'seconds', 'liquidity', 'headroom'],
  );
  if (q.rejected.length) {
    console.log('\nrefused:');
    printTable(
      q.rejected.map((r) => ({ corridors: r.corridorIds.join(' > '), reason: r.reason, detail: r.detail })),
      ['corridors', 'reason', 'detail'],
    );
  }
  for (const n of q.notes ?? []) console.log(`note: ${n}`);
}

export function registerPay(program: Command): void {
  const pay = program.command('pay').description('cross-border settlement: quotes, payments and their status (through the hub API)');

  apiOptions(
    pay
      .command('quote')
      .description('ranked routes for an amount, and why other routes are refused')
      .requiredOption('--from-asset <caip19>', 'what the sender pays, e.g. eip155:1/erc20:0x…')
      .requiredOption('--from <account>', 'sender: 0x address or CAIP-10')
      .requiredOption('--to-asset <caip19>', 'what the receiver gets')
      .requiredOption('--to <account>', 'receiver: 0x address or CAIP-10')
      .requiredOption('--amount <units>', 'integer token units the sender locks, fees included')
      .option('--max-hops <n>', '1..3 (default 3)')
      .option('--sender-attestation <uid>', 'CreditRegistry uid for corridors that require one')
      .option('--receiver-attestation <uid>', 'CreditRegistry uid of the receiver'),
  ).action(async (o: Opts) => {
    const maxHops = int(o.maxHops, 'max-hops', 1, 3);
    const body = {
      srcAsset: o.fromAsset,
      srcAccount: o.from,
      dstAsset: o.toAsset,
      dstAccount: o.to,
      amount: o.amount,
      ...(maxHops === undefined ? {} : { maxHops }),
      ...(typeof o.senderAttestation === 'string' ? { senderAttestation: o.senderAttestation } : {}),
      ...(typeof o.receiverAttestation === 'string' ? { receiverAttestation: o.receiverAttestation } : {}),
    };
    const q = await callHub<QuoteView>(await api(o), 'POST', 'routes/quote', body);
    if (o.json) return printJson(q);
    printQuote(q);
  });

  apiOptions(
    pay
      .command('send')
      .description('open a quoted route on SettlementHub; prints the leg-0 lock the sender must make (or makes it with --lock)')
      .requiredOption('--quote <id>', 'quote id from `qiao pay quote`')
      .option('--route <n>', 'route index in the quote', '0')
      .option('--uetr <uuid>', 'UETR to use (default: a new UUIDv4)')
      .option('--deadline-seconds <s>', 'deadline from now (default 600)')
      .option('--sender-attestation <uid>', 'override the quoted sender attestation')
      .option('--lock', 'also approve the token and lock leg 0 on the source chain, signed by --key-file / QIAO_KEY')
      .option('--rpc <url>', 'source chain RPC (with --lock)')
      .option('--key-file <file>', 'sender key file (with --lock)'),
  ).action(async (o: Opts) => {
    const routeIndex = int(o.route, 'route', 0, 1000)!;
    const deadlineSeconds = int(o.deadlineSeconds, 'deadline-seconds', 10, 7 * 24 * 3600);
    if (o.lock && typeof o.rpc !== 'string') throw new ValidationError('rpc', '--lock needs the source chain RPC: --rpc <url>');
    const opened = await callHub<{ uetr: string; deadline: string; txHash: string; lock: { chain: string; escrow: string; token: string; amount: string; to: string } }>(await api(o), 'POST', 'payments', {
      quoteId: o.quote,
      routeIndex,
      ...(typeof o.uetr === 'string' ? { uetr: o.uetr } : {}),
      ...(deadlineSeconds === undefined ? {} : { deadlineSeconds }),
      ...(typeof o.senderAttestation === 'string' ? { senderAttestation: o.senderAttestation } : {}),
    });
    let lockTx: string | undefined;
    if (o.lock) lockTx = await lockLeg0(o.rpc as string, o.keyFile as string | undefined, opened.uetr, opened.lock);
    if (o.json) return printJson({ ...opened, ...(lockTx ? { lockTx } : {}) });
    console.log(`payment ${opened.uetr} opened (tx ${short(opened.txHash, 18)}), deadline ${new Date(Number(opened.deadline) * 1000).toISOString()}`);
    const l = opened.lock;
    if (lockTx) console.log(`leg 0 locked on ${l.chain}: tx ${lockTx}`);
    else console.log(`lock leg 0 before the deadline: on ${l.chain}, approve ${l.amount} of token ${l.token} to escrow ${l.escrow}, then QiaoEscrow.lock(${opened.uetr}, ${l.token}, ${l.amount}, ${l.to})`);
  });

  apiOptions(
    pay
      .command('status <uetr>')
      .description("a payment's decision and each leg's escrow state, read from the chains")
      .option('--pacs002', 'print the ISO 20022 pacs.002 status report (JSON)')
      .option('--pacs008', 'print the ISO 20022 pacs.008 credit transfer (JSON)'),
  ).action(async (uetr: string, o: Opts) => {
    const base = await api(o);
    const path = `payments/${encodeURIComponent(uetr)}`;
    if (o.pacs002) return printJson(await callHub(base, 'GET', `${path}/pacs.002`));
    if (o.pacs008) return printJson(await callHub(base, 'GET', `${path}/pacs.008`));
    const s = await callHub<{ uetr: string; state: string; deadline: string; legs: { index: number; chain: string; amount: string; from: string; to: string; state: string; escrow: { state: string } | null }[]; messages: { id: string; kind: string; leg: number; status: string }[] }>(base, 'GET', path);
    if (o.json) return printJson(s);
    console.log(`payment ${s.uetr}: ${s.state} (deadline ${new Date(Number(s.deadline) * 1000).toISOString()})`);
    printTable(
      s.legs.map((l) => ({ leg: l.index, chain: l.chain, amount: l.amount, from: short(l.from, 12), to: short(l.to, 12), hub: l.state, escrow: l.escrow?.state ?? '?' })),
      ['leg', 'chain', 'amount', 'from', 'to', 'hub', 'escrow'],
    );
    if (s.messages.length) {
      console.log('\nmessages:');
      printTable(
        s.messages.map((m) => ({ id: short(m.id, 14), kind: m.kind, leg: m.leg, status: m.status })),
        ['id', 'kind', 'leg', 'status'],
      );
    }
  });
}

/** approve + QiaoEscrow.lock with the sender's key, on the source chain. */
async function lockLeg0(rpc: string, keyFile: string | undefined, uetr: string, l: { escrow: string; token: string; amount: string; to: string }): Promise<string> {
  const [{ readFile }, { JsonRpcProvider, Wallet, Contract }, { uetrToBytes16 }] = await Promise.all([import('node:fs/promises'), import('ethers'), import('../../settlement/uetr.ts')]);
  const key = (keyFile ? await readFile(keyFile, 'utf8') : (process.env.QIAO_KEY ?? '')).trim();
  if (!/^0x[0-9a-fA-F]{64}$/.test(key)) throw new ValidationError(keyFile ? 'key-file' : 'QIAO_KEY', 'must hold one private key: 0x and 64 hex digits');
  const provider = new JsonRpcProvider(rpc);
  try {
    const wallet = new Wallet(key, provider);
    const token = new Contract(l.token, ['function approve(address,uint256) returns (bool)'], wallet);
    await (await token.getFunction('approve')(l.escrow, BigInt(l.amount))).wait();
    const escrow = new Contract(l.escrow, ['function lock(bytes16,address,uint256,address)'], wallet);
    const tx = await escrow.getFunction('lock')(uetrToBytes16(uetr), l.token, BigInt(l.amount), l.to);
    await tx.wait();
    return tx.hash as string;
  } finally {
    provider.destroy();
  }
}
