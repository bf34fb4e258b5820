import { compactToU8a, u8aConcat } from '@polkadot/util';
import { u32le } from './grandpa.ts';
import type { Runtime } from './runtime.ts';

/**
 * RuntimeEvent values SCALE-encoded by hand, field by field as the kitchensink
 * metadata declares them (checked by decoding through @polkadot/api in
 * test/model/substrate-server.test.ts). Hand encoding because polkadot-js
 * builds the generic Event type only from bytes, not from JSON.
 * Event = pallet index u8 ++ variant index u8 ++ fields.
 * EventRecord = Phase ++ Event ++ topics: Vec<H256> (always empty here).
 */
export type Phase = { applyExtrinsic: number } | 'finalization' | 'initialization';

/** sp_runtime::DispatchError: Other = 0, CannotLookup = 1, BadOrigin = 2, Module = 3 {index, error: [u8; 4]} */
export type DispatchError = { kind: 'Other' } | { kind: 'BadOrigin' } | { kind: 'Module'; index: number; error: number };

export type Event = Uint8Array;

export function encodeDispatchError(e: DispatchError): Uint8Array {
  switch (e.kind) {
    case 'Other':
      return Uint8Array.of(0);
    case 'BadOrigin':
      return Uint8Array.of(2);
    case 'Module':
      return Uint8Array.of(3, e.index, e.error, 0, 0, 0);
  }
}

export function encodeRecord(phase: Phase, event: Event): Uint8Array {
  const p = phase === 'finalization' ? Uint8Array.of(1) : phase === 'initialization' ? Uint8Array.of(2) : u8aConcat(Uint8Array.of(0), u32le(phase.applyExtrinsic));
  return u8aConcat(p, event, compactToU8a(0));
}

export function encodeEvents(records: Uint8Array[]): Uint8Array {
  return u8aConcat(compactToU8a(records.length), ...records);
}

/** The events of the pallets this runtime executes. */
export function eventsOf(rt: Runtime) {
  const ev = (pallet: string, name: string, ...fields: Uint8Array[]): Event => {
    const [p, v] = rt.event(pallet, name);
    return u8aConcat(Uint8Array.of(p, v), ...fields);
  };
  // DispatchInfo{weight: Weight{ref_time: Compact<u64>, proof_size: Compact<u64>}, class: Normal = 0, pays_fee: Yes = 0}
  const dispatchInfo = (refTime: number) => u8aConcat(compactToU8a(refTime), compactToU8a(0), Uint8Array.of(0, 0));
  const timepoint = (t: { height: number; index: number }) => u8aConcat(u32le(t.height), u32le(t.index));
  return {
    remarked: (sender: Uint8Array, hash: Uint8Array) => ev('System', 'Remarked', sender, hash),
    /** Remark.Stored{sender, content_hash}: same field shape, another pallet (relabelRemarked fault) */
    remarkStored: (sender: Uint8Array, hash: Uint8Array) => ev('Remark', 'Stored', sender, hash),
    extrinsicSuccess: (refTime: number) => ev('System', 'ExtrinsicSuccess', dispatchInfo(refTime)),
    extrinsicFailed: (err: DispatchError, refTime: number) => ev('System', 'ExtrinsicFailed', encodeDispatchError(err), dispatchInfo(refTime)),
    /** Contracts.ContractEmitted{contract, data: Vec<u8>} */
    contractEmitted: (contract: Uint8Array, data: Uint8Array) => ev('Contracts', 'ContractEmitted', contract, compactToU8a(data.length), data),
    /** Contracts.Called{caller: Origin::Signed(account) (variant 1), contract} */
    contractCalled: (caller: Uint8Array, contract: Uint8Array) => ev('Contracts', 'Called', Uint8Array.of(1), caller, contract),
    codeUpdated: () => ev('System', 'CodeUpdated'),
    itemCompleted: () => ev('Utility', 'ItemCompleted'),
    batchCompleted: () => ev('Utility', 'BatchCompleted'),
    batchInterrupted: (index: number, err: DispatchError) => ev('Utility', 'BatchInterrupted', u32le(index), encodeDispatchError(err)),
    newMultisig: (approving: Uint8Array, multisig: Uint8Array, callHash: Uint8Array) => ev('Multisig', 'NewMultisig', approving, multisig, callHash),
    multisigApproval: (approving: Uint8Array, tp: { height: number; index: number }, multisig: Uint8Array, callHash: Uint8Array) =>
      ev('Multisig', 'MultisigApproval', approving, timepoint(tp), multisig, callHash),
    multisigExecuted: (approving: Uint8Array, tp: { height: number; index: number }, multisig: Uint8Array, callHash: Uint8Array, result: DispatchError | null) =>
      ev('Multisig', 'MultisigExecuted', approving, timepoint(tp), multisig, callHash, result ? u8aConcat(Uint8Array.of(1), encodeDispatchError(result)) : Uint8Array.of(0)),
  };
}

export type Events = ReturnType<typeof eventsOf>;
