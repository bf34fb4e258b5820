import { Contract, type Context } from 'fabric-contract-api';
import { getAddress } from 'ethers';
import { z } from 'zod';
import { coder } from '../shared/abi.ts';
import { ChaincodeError } from '../shared/errors.ts';
import { EventLog, TxState, creatorHash, outerInvocation } from '../shared/tx.ts';

export const ESCROW_CONTRACT = 'qiaoescrow';
/** Settlement message kinds (src/settlement/payload.ts, frozen). */
export const KIND = { LOCKED: 1, LOCK_FAILED: 2, RESERVE: 3, RELEASE: 4, REFUND: 5 } as const;
export type LockState = 'locked' | 'released' | 'refunded';
/** escrow -> hub messages: the commit that a LOCKED may trigger fans out one send per leg (as QiaoEscrow.sol). */
export const ESCROW_TO_HUB_GAS = 1_500_000n;
const UINT256_MAX = (1n << 256n) - 1n;

const hex = z.string().regex(/^0x(?:[0-9a-fA-F]{2})+$/).transform((h) => h.toLowerCase());
const configSchema = z.object({
  /** The port chaincode on this channel. */
  port: z.string().regex(/^[A-Za-z0-9_.+-]{1,64}$/).default('qiaoport'),
  /** CAIP-2 id of the governance chain. */
  govChain: z.string().regex(/^[-a-z0-9]{3,8}:[-_a-zA-Z0-9]{1,32}$/),
  /** SettlementHub's Qiao sender bytes (its address). */
  settlementHub: hex,
  /** The governance chain's port bytes. */
  govPort: hex,
});
type EscrowConfig = z.output<typeof configSchema> & { admin: string };

export interface Lock {
  token: string;
  amount: string;
  from: string;
  to: string;
  state: LockState;
  fromPool: boolean;
}

/**
 * Fabric accounts as the 20-byte addresses SettlementHub decodes (LOCKED/RESERVE
 * bodies are abi.encode(address token, uint256 amount, address from, address to)):
 * the last 20 bytes of the client's identity hash sha256(mspId || 0x00 || cert DER).
 */
export function accountOf(identityHashHex: string): string {
  return getAddress(`0x${identityHashHex.slice(-40)}`);
}

function address(v: string, field: string): string {
  try {
    return getAddress(v);
  } catch (cause) {
    throw new ChaincodeError('bad_argument', `${field} must be a 20-byte address`, { cause });
  }
}

function amountOf(v: string, field: string): bigint {
  if (!/^[0-9]{1,78}$/.test(v)) throw new ChaincodeError('bad_argument', `${field} must be a decimal uint256`);
  const b = BigInt(v);
  if (b > UINT256_MAX) throw new ChaincodeError('bad_argument', `${field} must be a decimal uint256`);
  if (b === 0n) throw new ChaincodeError('zero_amount', `${field} must not be zero`);
  return b;
}

function uetrOf(v: string): string {
  if (!/^0x[0-9a-fA-F]{32}$/.test(v)) throw new ChaincodeError('bad_argument', 'uetr must be 16 bytes of hex');
  return v.toLowerCase();
}

const K = {
  config: (st: TxState) => st.key('config'),
  balance: (st: TxState, token: string, account: string) => st.key('balance', token, account),
  pool: (st: TxState, provider: string, token: string) => st.key('pool', provider, token),
  lock: (st: TxState, uetr: string, leg: number) => st.key('lock', uetr, String(leg)),
  supply: (st: TxState, token: string) => st.key('supply', token),
};

async function config(st: TxState): Promise<EscrowConfig> {
  const c = await st.getJson<EscrowConfig>(K.config(st));
  if (!c) throw new ChaincodeError('not_initialised', 'the escrow has no configuration: call init first');
  return c;
}

async function getAmount(st: TxState, key: string): Promise<bigint> {
  return BigInt((await st.getString(key)) ?? '0');
}

async function add(st: TxState, key: string, delta: bigint): Promise<bigint> {
  const v = (await getAmount(st, key)) + delta;
  if (v < 0n) throw new ChaincodeError('insufficient_balance', 'balance too low');
  await st.putString(key, v.toString());
  return v;
}

function payload(kind: number, uetr: string, leg: number, body: string): string {
  return coder.encode(['uint8', 'bytes16', 'uint8', 'bytes'], [kind, uetr, leg, body]);
}

function transferBody(l: Lock): string {
  return coder.encode(['address', 'uint256', 'address', 'address'], [l.token, BigInt(l.amount), l.from, l.to]);
}

function toHub(cfg: EscrowConfig, kind: number, uetr: string, leg: number, body: string) {
  // No timeout: the hub's answer must arrive eventually.
  return {
    dstChain: cfg.govChain,
    dstPort: cfg.govPort,
    receiver: cfg.settlementHub,
    gasLimit: ESCROW_TO_HUB_GAS.toString(),
    timeoutHeight: '0',
    timeoutUnixSeconds: '0',
    payload: payload(kind, uetr, leg, body),
  };
}

/**
 * Settlement legs on a Fabric channel: adapters/evm/contracts/settlement/QiaoEscrow.sol
 * with a fungible token ledger of its own instead of ERC-20s. A lock leaves only on
 * SettlementHub's RELEASE or REFUND, delivered by the port; each at most once.
 * Messages to the hub go through the port: from `lock` by calling it (this
 * chaincode is then the Qiao sender), from qiaoReceive as the returned outbox
 * (the port is mid-delivery and sends them itself, with this chaincode as sender).
 */
export class QiaoEscrowContract extends Contract {
  constructor() {
    super(ESCROW_CONTRACT);
  }

  async init(ctx: Context, configJson: string): Promise<void> {
    const st = new TxState(ctx.stub);
    if (await st.get(K.config(st))) throw new ChaincodeError('already_initialised', 'the escrow is configured already');
    let raw: unknown;
    try {
      raw = JSON.parse(configJson);
    } catch (cause) {
      throw new ChaincodeError('bad_config', 'config is not JSON', { cause });
    }
    const r = configSchema.safeParse(raw);
    if (!r.success) throw new ChaincodeError('bad_config', r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    await st.putJson(K.config(st), { ...r.data, admin: accountOf(creatorHash(ctx.stub)) } satisfies EscrowConfig);
  }

  /** The caller's account address. */
  async whoami(ctx: Context): Promise<string> {
    return accountOf(creatorHash(ctx.stub));
  }

  // ------------------------------------------------------------ token ledger

  async mint(ctx: Context, token: string, to: string, amount: string): Promise<void> {
    const st = new TxState(ctx.stub);
    const cfg = await config(st);
    if (accountOf(creatorHash(ctx.stub)) !== cfg.admin) throw new ChaincodeError('not_admin', 'only the admin mints');
    const t = address(token, 'token');
    const a = amountOf(amount, 'amount');
    await add(st, K.balance(st, t, address(to, 'to')), a);
    await add(st, K.supply(st, t), a);
  }

  async transfer(ctx: Context, token: string, to: string, amount: string): Promise<void> {
    const st = new TxState(ctx.stub);
    const t = address(token, 'token');
    const a = amountOf(amount, 'amount');
    const from = accountOf(creatorHash(ctx.stub));
    await add(st, K.balance(st, t, from), -a);
    await add(st, K.balance(st, t, address(to, 'to')), a);
  }

  async balanceOf(ctx: Context, token: string, account: string): Promise<string> {
    const st = new TxState(ctx.stub);
    return (await getAmount(st, K.balance(st, address(token, 'token'), address(account, 'account')))).toString();
  }

  async totalSupply(ctx: Context, token: string): Promise<string> {
    const st = new TxState(ctx.stub);
    return (await getAmount(st, K.supply(st, address(token, 'token')))).toString();
  }

  // --------------------------------------------------------- liquidity pools

  async deposit(ctx: Context, token: string, amount: string): Promise<void> {
    const st = new TxState(ctx.stub);
    const t = address(token, 'token');
    const a = amountOf(amount, 'amount');
    const me = accountOf(creatorHash(ctx.stub));
    await add(st, K.balance(st, t, me), -a);
    await add(st, K.pool(st, me, t), a);
  }

  async withdraw(ctx: Context, token: string, amount: string): Promise<void> {
    const st = new TxState(ctx.stub);
    const t = address(token, 'token');
    const a = amountOf(amount, 'amount');
    const me = accountOf(creatorHash(ctx.stub));
    await add(st, K.pool(st, me, t), -a);
    await add(st, K.balance(st, t, me), a);
  }

  async poolOf(ctx: Context, provider: string, token: string): Promise<string> {
    const st = new TxState(ctx.stub);
    return (await getAmount(st, K.pool(st, address(provider, 'provider'), address(token, 'token')))).toString();
  }

  // ------------------------------------------------------------- sender lock

  /** The sender's leg 0: takes `amount` from the caller and reports LOCKED to SettlementHub. */
  async lock(ctx: Context, uetrHex: string, token: string, amount: string, to: string): Promise<string> {
    const st = new TxState(ctx.stub);
    const cfg = await config(st);
    const uetr = uetrOf(uetrHex);
    const l: Lock = { token: address(token, 'token'), amount: amountOf(amount, 'amount').toString(), from: accountOf(creatorHash(ctx.stub)), to: address(to, 'to'), state: 'locked', fromPool: false };
    if (await st.get(K.lock(st, uetr, 0))) throw new ChaincodeError('lock_exists', `${uetr} leg 0 is locked already`);
    await add(st, K.balance(st, l.token, l.from), -BigInt(l.amount));
    await st.putJson(K.lock(st, uetr, 0), l);
    const s = toHub(cfg, KIND.LOCKED, uetr, 0, transferBody(l));
    const r = await ctx.stub.invokeChaincode(cfg.port, ['sendMessage', s.dstChain, s.dstPort, s.receiver, s.gasLimit, s.timeoutHeight, s.timeoutUnixSeconds, s.payload], ctx.stub.getChannelID());
    if (r.status >= 400) throw new ChaincodeError('port_refused', r.message ?? `status ${r.status}`);
    const sent = JSON.parse(new TextDecoder().decode(r.payload)) as { id: string; encoded: string };
    // Only the outer-most chaincode's event reaches clients: this one carries the port's MessageSent.
    const ev = new EventLog();
    ev.add('Locked', { uetr, leg: 0, ...l });
    ev.add('MessageSent', { id: sent.id, encoded: sent.encoded });
    ev.flush(ctx.stub);
    return sent.id;
  }

  // ---------------------------------------------------------------- messages

  /** Delivered by the port only; returns the port outbox (LOCKED / LOCK_FAILED reports) as JSON. */
  async qiaoReceive(ctx: Context, _idHex: string, srcChain: string, senderHex: string, payloadHex: string): Promise<string> {
    const st = new TxState(ctx.stub);
    const cfg = await config(st);
    const outer = outerInvocation(ctx.stub);
    if (outer?.chaincode !== cfg.port) throw new ChaincodeError('not_port', `only ${cfg.port} delivers`);
    if (srcChain !== cfg.govChain || senderHex.toLowerCase() !== cfg.settlementHub) throw new ChaincodeError('not_settlement_hub', `${srcChain} ${senderHex} is not SettlementHub`);
    let kind: number, uetr: string, leg: number, body: string;
    try {
      const r = coder.decode(['uint8', 'bytes16', 'uint8', 'bytes'], payloadHex);
      [kind, uetr, leg, body] = [Number(r[0]), (r[1] as string).toLowerCase(), Number(r[2]), r[3] as string];
    } catch (cause) {
      throw new ChaincodeError('bad_payload', 'not abi.encode(uint8 kind, bytes16 uetr, uint8 leg, bytes body)', { cause });
    }
    if (kind === KIND.RESERVE) return JSON.stringify({ send: await reserve(st, cfg, uetr, leg, body) });
    if (kind === KIND.RELEASE) await settle(st, uetr, leg, 'released');
    else if (kind === KIND.REFUND) await settle(st, uetr, leg, 'refunded');
    else throw new ChaincodeError('bad_kind', `kind ${kind}`);
    return '';
  }

  // ------------------------------------------------------------------- views

  async lockOf(ctx: Context, uetrHex: string, leg: string): Promise<string> {
    const st = new TxState(ctx.stub);
    return (await st.getString(K.lock(st, uetrOf(uetrHex), Number(leg)))) ?? '';
  }
}

async function reserve(st: TxState, cfg: EscrowConfig, uetr: string, leg: number, body: string) {
  let l: Lock;
  try {
    const r = coder.decode(['address', 'uint256', 'address', 'address'], body);
    l = { token: getAddress(r[0] as string), amount: (r[1] as bigint).toString(), from: getAddress(r[2] as string), to: getAddress(r[3] as string), state: 'locked', fromPool: true };
  } catch (cause) {
    throw new ChaincodeError('bad_payload', 'RESERVE body is not abi.encode(address, uint256, address, address)', { cause });
  }
  if (await st.get(K.lock(st, uetr, leg))) throw new ChaincodeError('lock_exists', `${uetr} leg ${leg} is locked already`);
  const poolKey = K.pool(st, l.from, l.token);
  const pool = await getAmount(st, poolKey);
  if (l.amount === '0' || pool < BigInt(l.amount)) {
    return [toHub(cfg, KIND.LOCK_FAILED, uetr, leg, coder.encode(['string'], ['insufficient liquidity']))];
  }
  await st.putString(poolKey, (pool - BigInt(l.amount)).toString());
  await st.putJson(K.lock(st, uetr, leg), l);
  return [toHub(cfg, KIND.LOCKED, uetr, leg, transferBody(l))];
}

async function settle(st: TxState, uetr: string, leg: number, to: 'released' | 'refunded'): Promise<void> {
  const key = K.lock(st, uetr, leg);
  const l = await st.getJson<Lock>(key);
  if (l?.state !== 'locked') throw new ChaincodeError('not_locked', `${uetr} leg ${leg} is ${l?.state ?? 'not locked'}`);
  await st.putJson(key, { ...l, state: to } satisfies Lock);
  if (to === 'released') await add(st, K.balance(st, l.token, l.to), BigInt(l.amount));
  else if (l.fromPool) await add(st, K.pool(st, l.from, l.token), BigInt(l.amount));
  else await add(st, K.balance(st, l.token, l.from), BigInt(l.amount));
}

