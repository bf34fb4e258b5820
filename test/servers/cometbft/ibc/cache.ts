import type { KV, TxContext } from '../node/module.ts';
import { CachedKV } from './store.ts';

/** ctx.CacheContext(): store writes and events held back until commit(), dropped otherwise. */
export function cacheContext(parent: TxContext): { ctx: TxContext; commit(): void } {
  const stores = new Map<string, CachedKV>();
  const events: [string, [string, string][]][] = [];
  const ctx: TxContext = {
    height: parent.height,
    time: parent.time,
    chainId: parent.chainId,
    txHash: parent.txHash,
    signers: parent.signers,
    bank: parent.bank,
    store(name: string): KV {
      let s = stores.get(name);
      if (!s) {
        s = new CachedKV(parent.store(name));
        stores.set(name, s);
      }
      return s;
    },
    emit(type, attrs) {
      events.push([type, attrs]);
    },
  };
  return {
    ctx,
    commit() {
      for (const s of stores.values()) s.commit();
      for (const [t, a] of events) parent.emit(t, a);
      events.length = 0;
    },
  };
}
