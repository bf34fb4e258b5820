import type { Call } from '@polkadot/types/interfaces';
import { compactToU8a, u8aConcat, u8aToHex } from '@polkadot/util';
import { blake2AsU8a } from '@polkadot/util-crypto';
import type { Dispatcher, DispatchOutcome } from './dispatch.ts';
import type { DispatchError, Events } from './events.ts';
import { u32le } from './grandpa.ts';
import { KEYS } from './storage.ts';

/**
 * pallet-multisig: as_multi / approve_as_multi / as_multi_threshold_1 with
 * the pallet's account derivation, storage (Multisigs double map), events and
 * errors. Deposits are not modelled (no balances pallet here): deposit = 0.
 * Account: blake2_256(SCALE(b"modlpy/utilisuba", sorted signatories, threshold: u16)).
 */
const PREFIX = new TextEncoder().encode('modlpy/utilisuba');

// pallet_multisig::Error variant indices
const ERR = { MinimumThreshold: 0, AlreadyApproved: 1, TooFewSignatories: 3, SignatoriesOutOfOrder: 5, SenderInSignatories: 6, NoTimepoint: 9, WrongTimepoint: 10, UnexpectedTimepoint: 11 };

export function multisigAccount(signatories: Uint8Array[], threshold: number): Uint8Array {
  const sorted = [...signatories].sort((a, b) => (u8aToHex(a) < u8aToHex(b) ? -1 : 1));
  return blake2AsU8a(u8aConcat(PREFIX, compactToU8a(sorted.length), ...sorted, Uint8Array.of(threshold & 0xff, threshold >> 8)), 256);
}

interface Timepoint {
  height: number;
  index: number;
}

interface Pending {
  when: Timepoint;
  depositor: Uint8Array;
  approvals: Uint8Array[];
}

function encodePending(p: Pending): Uint8Array {
  return u8aConcat(u32le(p.when.height), u32le(p.when.index), new Uint8Array(16), p.depositor, compactToU8a(p.approvals.length), ...p.approvals);
}

function decodePending(b: Uint8Array): Pending {
  const dv = new DataView(b.buffer, b.byteOffset, b.length);
  const when = { height: dv.getUint32(0, true), index: dv.getUint32(4, true) };
  const depositor = b.slice(24, 56);
  // approvals never exceed 63 here (MaxSignatories), so the compact length is one byte
  const n = b[56]! >> 2;
  const approvals = Array.from({ length: n }, (_, i) => b.slice(57 + 32 * i, 89 + 32 * i));
  return { when, depositor, approvals };
}

export function multisigPallet(state: Map<string, Uint8Array>, E: Events, palletIndex: number, now: () => Timepoint) {
  const fail = (error: number): DispatchOutcome => ({ events: [], error: { kind: 'Module', index: palletIndex, error } satisfies DispatchError });
  const same = (a: Uint8Array, b: Uint8Array) => u8aToHex(a) === u8aToHex(b);

  return (origin: Uint8Array, call: Call, dispatch: Dispatcher): DispatchOutcome | null => {
    const name = `${call.section}.${call.method}`;
    const args = call.args as unknown as unknown[];
    if (name === 'multisig.asMultiThreshold1') {
      const others = (args[0] as { toU8a(): Uint8Array }[]).map((a) => a.toU8a());
      if (others.length === 0) return fail(ERR.TooFewSignatories);
      const inner = dispatch(multisigAccount([origin, ...others], 1), args[1] as Call);
      return inner;
    }
    if (name !== 'multisig.asMulti' && name !== 'multisig.approveAsMulti') return null;

    const threshold = (args[0] as { toNumber(): number }).toNumber();
    const others = (args[1] as { toU8a(): Uint8Array }[]).map((a) => a.toU8a());
    const maybeTp = args[2] as { isSome: boolean; unwrap(): { height: { toNumber(): number }; index: { toNumber(): number } } };
    if (threshold < 2) return fail(ERR.MinimumThreshold);
    if (others.length < 1) return fail(ERR.TooFewSignatories);
    for (let i = 1; i < others.length; i++) if (u8aToHex(others[i - 1]!) >= u8aToHex(others[i]!)) return fail(ERR.SignatoriesOutOfOrder);
    if (others.some((o) => same(o, origin))) return fail(ERR.SenderInSignatories);

    const id = multisigAccount([origin, ...others], threshold);
    const inner = name === 'multisig.asMulti' ? (args[3] as Call) : null;
    const callHash = inner ? blake2AsU8a(inner.toU8a(), 256) : (args[3] as { toU8a(): Uint8Array }).toU8a();
    const key = KEYS.multisig(id, callHash);
    const raw = state.get(key);

    if (!raw) {
      if (maybeTp.isSome) return fail(ERR.UnexpectedTimepoint);
      state.set(key, encodePending({ when: now(), depositor: origin, approvals: [origin] }));
      return { events: [E.newMultisig(origin, id, callHash)], error: null };
    }
    const pending = decodePending(raw);
    if (!maybeTp.isSome) return fail(ERR.NoTimepoint);
    const tp = maybeTp.unwrap();
    if (tp.height.toNumber() !== pending.when.height || tp.index.toNumber() !== pending.when.index) return fail(ERR.WrongTimepoint);
    const approved = pending.approvals.some((a) => same(a, origin));
    const approvals = pending.approvals.length + (approved ? 0 : 1);
    if (inner && approvals >= threshold) {
      state.delete(key);
      const out = dispatch(id, inner);
      return { events: [...out.events, E.multisigExecuted(origin, pending.when, id, callHash, out.error)], error: null };
    }
    if (approved) return fail(ERR.AlreadyApproved);
    pending.approvals.push(origin);
    pending.approvals.sort((a, b) => (u8aToHex(a) < u8aToHex(b) ? -1 : 1));
    state.set(key, encodePending(pending));
    return { events: [E.multisigApproval(origin, pending.when, id, callHash)], error: null };
  };
}
