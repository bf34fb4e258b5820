import { BaseAccount } from 'cosmjs-types/cosmos/auth/v1beta1/auth';
import { Any } from 'cosmjs-types/google/protobuf/any';
import { addressBytes, bech32Address } from './address.ts';
import { ModuleError, type Bank, type Coin, type KV } from './module.ts';
import { concat } from './proto.ts';

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

/** auth's store layout (collections, SDK v0.50): 0x01 | addr -> Any(BaseAccount); 0x02 -> next account number */
const ACCOUNT_PREFIX = Uint8Array.of(0x01);
const GLOBAL_ACCOUNT_NUMBER = Uint8Array.of(0x02);
/** bank's: 0x02 | len(addr) | addr | denom -> amount (decimal) */
const BALANCE_PREFIX = Uint8Array.of(0x02);

export const SDK = 'sdk';

export class Accounts {
  constructor(private readonly kv: KV) {}

  get(address: string): BaseAccount | undefined {
    const v = this.kv.get(concat(ACCOUNT_PREFIX, addressBytes(address)));
    return v ? BaseAccount.decode(Any.decode(v).value) : undefined;
  }

  set(acc: BaseAccount): void {
    const any = Any.fromPartial({ typeUrl: '/cosmos.auth.v1beta1.BaseAccount', value: BaseAccount.encode(acc).finish() });
    this.kv.set(concat(ACCOUNT_PREFIX, addressBytes(acc.address)), Any.encode(any).finish());
  }

  /** the account, created with the next account number if new (as bank does on a first receipt) */
  ensure(address: string): BaseAccount {
    const existing = this.get(address);
    if (existing) return existing;
    const raw = this.kv.get(GLOBAL_ACCOUNT_NUMBER);
    const n = raw ? BigInt(text(raw)) : 0n;
    this.kv.set(GLOBAL_ACCOUNT_NUMBER, utf8(String(n + 1n)));
    const acc = BaseAccount.fromPartial({ address, accountNumber: n, sequence: 0n });
    this.set(acc);
    return acc;
  }
}

function balanceKey(address: string, denom: string): Uint8Array {
  const a = addressBytes(address);
  return concat(BALANCE_PREFIX, Uint8Array.of(a.length), a, utf8(denom));
}

export function formatCoins(coins: Coin[]): string {
  return coins.map((c) => `${c.amount}${c.denom}`).join(',');
}

/** x/bank over the tx's (buffered) stores; `emit` receives the SDK's coin_spent/coin_received/transfer events. */
export class BankKeeper implements Bank {
  constructor(
    private readonly kv: KV,
    private readonly accounts: Accounts,
    private readonly emit: (type: string, attrs: [string, string][]) => void = () => {},
  ) {}

  balance(addr: string, denom: string): bigint {
    const v = this.kv.get(balanceKey(addr, denom));
    return v ? BigInt(text(v)) : 0n;
  }

  balances(addr: string): Coin[] {
    const a = addressBytes(addr);
    const prefix = concat(BALANCE_PREFIX, Uint8Array.of(a.length), a);
    return this.kv.prefix(prefix).map(([k, v]) => ({ denom: text(k.slice(prefix.length)), amount: text(v) }));
  }

  private setBalance(addr: string, denom: string, amount: bigint): void {
    if (amount === 0n) this.kv.delete(balanceKey(addr, denom));
    else this.kv.set(balanceKey(addr, denom), utf8(amount.toString()));
  }

  mint(addr: string, coins: Coin[]): void {
    this.accounts.ensure(addr);
    for (const c of coins) this.setBalance(addr, c.denom, this.balance(addr, c.denom) + BigInt(c.amount));
  }

  send(from: string, to: string, coins: Coin[]): void {
    for (const c of coins) {
      if (!/^\d+$/.test(c.amount) || !/^[a-zA-Z][a-zA-Z0-9/:._-]{2,127}$/.test(c.denom)) {
        throw new ModuleError(SDK, 10, `${c.amount}${c.denom}: invalid coins`);
      }
      const have = this.balance(from, c.denom);
      if (have < BigInt(c.amount)) {
        throw new ModuleError(SDK, 5, `spendable balance ${have}${c.denom} is smaller than ${c.amount}${c.denom}: insufficient funds`);
      }
    }
    for (const c of coins) {
      this.setBalance(from, c.denom, this.balance(from, c.denom) - BigInt(c.amount));
    }
    this.accounts.ensure(to);
    for (const c of coins) this.setBalance(to, c.denom, this.balance(to, c.denom) + BigInt(c.amount));
    const amount = formatCoins(coins);
    this.emit('coin_spent', [['spender', from], ['amount', amount]]);
    this.emit('coin_received', [['receiver', to], ['amount', amount]]);
    this.emit('transfer', [['recipient', to], ['sender', from], ['amount', amount]]);
  }
}

export { bech32Address };
