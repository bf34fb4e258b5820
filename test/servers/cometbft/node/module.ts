/**
 * The contract between the chain node model and the modules plugged into it (IBC core, the Qiao
 * contract model, ...). Modules see only these interfaces, never the node internals, so the two
 * halves can be built and tested apart.
 */

export interface KV {
  get(key: Uint8Array): Uint8Array | undefined;
  set(key: Uint8Array, value: Uint8Array): void;
  delete(key: Uint8Array): void;
  /** keys with this prefix, sorted */
  prefix(p: Uint8Array): [Uint8Array, Uint8Array][];
}

export interface Coin {
  denom: string;
  amount: string;
}

export interface Bank {
  balance(addr: string, denom: string): bigint;
  /** throws ModuleError (insufficient funds) */
  send(from: string, to: string, coins: Coin[]): void;
}

export interface BlockInfo {
  height: bigint;
  time: Date;
  chainId: string;
}

export interface TxContext extends BlockInfo {
  store(name: string): KV;
  bank: Bank;
  emit(type: string, attrs: [string, string][]): void;
  /** sha256 of the tx bytes, 0x-lowercase (known before execution) */
  txHash: string;
  /** bech32 */
  signers: string[];
}

export interface QueryContext extends BlockInfo {
  store(name: string): KV;
  bank: Bank;
}

/** A handler's refusal: the tx fails with this code/codespace and the message as its log. */
export class ModuleError extends Error {
  constructor(
    readonly codespace: string,
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = 'ModuleError';
  }
}

export interface Module {
  /** store name it uses, e.g. 'ibc', 'wasm' */
  name: string;
  /** keyed by typeUrl */
  msgs: Record<string, (ctx: TxContext, value: Uint8Array) => void>;
  /** keyed by gRPC path, e.g. '/ibc.core.client.v1.Query/ClientState' */
  queries: Record<string, (ctx: QueryContext, req: Uint8Array) => Uint8Array>;
  /** optional end-of-block hook */
  endBlock?(ctx: TxContext): void;
}
