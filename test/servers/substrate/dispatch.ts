import type { Call } from '@polkadot/types/interfaces';
import { blake2AsU8a } from '@polkadot/util-crypto';
import type { DispatchError, Event, Events } from './events.ts';
import type { ReceiverModels } from './receiver.ts';

/**
 * The calls this test runtime executes, with the events and errors the real
 * pallets emit (frame-system, pallet-utility; pallet-multisig in multisig.ts).
 */
export interface DispatchState {
  events: Events;
  /** the relabelRemarked fault: emit Remark.Stored where System.Remarked belongs */
  relabelRemarked: boolean;
  /** pallets with storage (multisig); returns null when the call is not theirs */
  extra?: (origin: Uint8Array, call: Call, dispatch: Dispatcher) => DispatchOutcome | null;
  /** modelled receiver contracts (contracts.call), see receiver.ts */
  receivers?: { models: ReceiverModels; palletIndex: number };
}

export interface DispatchOutcome {
  events: Event[];
  error: DispatchError | null;
}

export type Dispatcher = (origin: Uint8Array, call: Call) => DispatchOutcome;

/** Calls the server can execute; anything else is refused at submission. */
export function isSupportedCall(call: Call): boolean {
  switch (`${call.section}.${call.method}`) {
    case 'system.remark':
    case 'system.remarkWithEvent':
    case 'multisig.approveAsMulti':
    case 'contracts.call':
      return true;
    case 'utility.batchAll':
    case 'utility.batch':
      return (call.args[0] as unknown as Call[]).every(isSupportedCall);
    case 'multisig.asMulti':
      return isSupportedCall(call.args[3] as unknown as Call);
    case 'multisig.asMultiThreshold1':
      return isSupportedCall(call.args[1] as unknown as Call);
    default:
      return false;
  }
}

export function makeDispatcher(st: DispatchState): Dispatcher {
  const E = st.events;
  const dispatch: Dispatcher = (origin, call) => {
    const name = `${call.section}.${call.method}`;
    switch (name) {
      case 'system.remark':
        return { events: [], error: null };
      case 'system.remarkWithEvent': {
        const remark = (call.args[0] as unknown as { toU8a(bare: boolean): Uint8Array }).toU8a(true);
        const hash = blake2AsU8a(remark, 256);
        if (st.receivers) st.receivers.models.lastRemark = remark;
        return { events: [st.relabelRemarked ? E.remarkStored(origin, hash) : E.remarked(origin, hash)], error: null };
      }
      case 'utility.batchAll':
      case 'utility.batch': {
        const calls = call.args[0] as unknown as Call[];
        const events: Event[] = [];
        const mark = st.receivers?.models.mark() ?? 0;
        for (let i = 0; i < calls.length; i++) {
          const out = dispatch(origin, calls[i]!);
          if (out.error) {
            // batchAll is transactional: nothing of the batch survives; batch stops and reports
            if (name === 'utility.batchAll') {
              st.receivers?.models.rollback(mark);
              return { events: [], error: out.error };
            }
            events.push(E.batchInterrupted(i, out.error));
            return { events, error: null };
          }
          events.push(...out.events, E.itemCompleted());
        }
        events.push(E.batchCompleted());
        return { events, error: null };
      }
      case 'contracts.call':
        if (!st.receivers) return { events: [], error: { kind: 'Other' } };
        return st.receivers.models.call(E, st.receivers.palletIndex, origin, call);
      default:
        return st.extra?.(origin, call, dispatch) ?? { events: [], error: { kind: 'Other' } };
    }
  };
  return dispatch;
}
