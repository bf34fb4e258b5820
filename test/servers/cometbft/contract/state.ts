import type { Coin, KV } from '../node/module.ts';
import { Store } from '../ibc/store.ts';

export interface ContractConfig {
  port_id: string;
  channel_id: string;
  chain_id: string;
  open: boolean;
}

export interface SentRecord {
  sender: string;
  sequence: string;
  outcome: 'none' | 'delivered' | 'failed' | 'cancelled';
  funds: Coin[];
  height?: string;
  tx_hash?: string;
  paid?: boolean;
}

export interface ReceiptRecord {
  /** `cancelled`: the cancel marker (past the timeout, never received; never receivable again) */
  status: 'delivered' | 'failed' | 'cancelled';
  reason?: string;
  height: string;
  tx_hash: string;
}

export interface IncomingAck {
  outcome: number;
  ack_id: string;
  reason: string;
  height: string;
}

/** The Qiao contract's state in the `wasm` store (JSON values, as a CosmWasm contract would keep them). */
export class ContractState {
  private readonly s: Store;
  constructor(kv: KV) {
    this.s = new Store(kv);
  }
  config(): ContractConfig | undefined {
    return this.s.getJson<ContractConfig>('qiao/config');
  }
  setConfig(c: ContractConfig): void {
    this.s.setJson('qiao/config', c);
  }
  /** Next nonce of the lane (own port -> dstChain), counting from 1; `take` consumes it. */
  laneNonce(dstChain: string, take: boolean): bigint {
    const key = `qiao/lane/${dstChain}`;
    const next = this.s.getU64(key) ?? 1n;
    if (take) this.s.setU64(key, next + 1n);
    return next;
  }
  sent(id: string): SentRecord | undefined {
    return this.s.getJson<SentRecord>(`qiao/sent/${id}`);
  }
  setSent(id: string, r: SentRecord): void {
    this.s.setJson(`qiao/sent/${id}`, r);
  }
  receipt(id: string): ReceiptRecord | undefined {
    return this.s.getJson<ReceiptRecord>(`qiao/receipt/${id}`);
  }
  setReceipt(id: string, r: ReceiptRecord): void {
    this.s.setJson(`qiao/receipt/${id}`, r);
  }
  incomingAck(originalId: string): IncomingAck | undefined {
    return this.s.getJson<IncomingAck>(`qiao/incoming_ack/${originalId}`);
  }
  setIncomingAck(originalId: string, a: IncomingAck): void {
    this.s.setJson(`qiao/incoming_ack/${originalId}`, a);
  }
}
