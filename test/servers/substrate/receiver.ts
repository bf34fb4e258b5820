import type { Call } from '@polkadot/types/interfaces';
import { u8aConcat, u8aToHex } from '@polkadot/util';
import type { DispatchOutcome } from './dispatch.ts';
import type { DispatchError, Events } from './events.ts';

/**
 * A MODEL of a receiver contract under pallet-contracts (no wasm runs here):
 * `contracts.call(dest, value, gas_limit, storage_deposit_limit, data)` to one
 * of the chosen addresses records the call and emits
 * `Contracts.ContractEmitted { contract, data }` and `Contracts.Called
 * { caller: Origin::Signed(origin), contract }`; data starting with the bytes
 * "fail" traps like a reverting contract (`Contracts.ContractReverted`), so a
 * `utility.batchAll` around it reverts — the analogue of DemoReceiver.sol.
 * The id a call is recorded with is the last 32-byte remark the same origin
 * made earlier in the same extrinsic (the Qiao delivery batch remarks the
 * message id first). A call to any other address fails with ContractNotFound.
 */
export interface ReceiverRecord {
  received: number;
  ids: `0x${string}`[];
  payloads: `0x${string}`[];
  callers: `0x${string}`[];
}

// pallet_contracts::Error variant indices (kitchensink spec 268)
const ERR = { ContractNotFound: 6, ContractReverted: 27 };
const FAIL = new TextEncoder().encode('fail');

export class ReceiverModels {
  private readonly records = new Map<string, ReceiverRecord>();
  /** undo log of the current extrinsic: batchAll rolls back to a mark */
  private journal: { addr: string }[] = [];
  /** the last remark dispatched in the current extrinsic (the id a delivery batch carries) */
  lastRemark: Uint8Array | null = null;

  constructor(addresses: readonly `0x${string}`[]) {
    for (const a of addresses) this.records.set(a.toLowerCase(), { received: 0, ids: [], payloads: [], callers: [] });
  }

  record(addr: `0x${string}`): ReceiverRecord | null {
    const r = this.records.get(addr.toLowerCase());
    return r ? { ...r, ids: [...r.ids], payloads: [...r.payloads], callers: [...r.callers] } : null;
  }

  mark(): number {
    return this.journal.length;
  }

  rollback(mark: number): void {
    while (this.journal.length > mark) {
      const { addr } = this.journal.pop()!;
      const r = this.records.get(addr)!;
      r.received--;
      r.ids.pop();
      r.payloads.pop();
      r.callers.pop();
    }
  }

  /** Called between extrinsics: what was recorded stays. */
  commit(): void {
    this.journal = [];
    this.lastRemark = null;
  }

  call(E: Events, palletIndex: number, origin: Uint8Array, call: Call): DispatchOutcome {
    const lastRemark = this.lastRemark;
    const fail = (error: number): DispatchOutcome => ({ events: [], error: { kind: 'Module', index: palletIndex, error } satisfies DispatchError });
    const args = call.args as unknown as { toU8a(bare?: boolean): Uint8Array }[];
    // dest: MultiAddress; only MultiAddress::Id (variant 0 ++ 32 bytes) names a contract here
    const dest = args[0]!.toU8a();
    if (dest.length !== 33 || dest[0] !== 0) return fail(ERR.ContractNotFound);
    const contract = dest.slice(1);
    const addr = u8aToHex(contract);
    const rec = this.records.get(addr);
    if (!rec) return fail(ERR.ContractNotFound);
    const data = args[4]!.toU8a(true);
    if (data.length >= FAIL.length && FAIL.every((b, i) => data[i] === b)) return fail(ERR.ContractReverted);
    rec.received++;
    rec.ids.push(lastRemark && lastRemark.length === 32 ? u8aToHex(lastRemark) : '0x');
    rec.payloads.push(u8aToHex(data));
    rec.callers.push(u8aToHex(origin));
    this.journal.push({ addr });
    return { events: [E.contractEmitted(contract, u8aConcat(new TextEncoder().encode('received:'), data)), E.contractCalled(origin, contract)], error: null };
  }
}
