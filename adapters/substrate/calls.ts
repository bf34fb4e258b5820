import type { Call } from '@polkadot/types/interfaces';
import { u8aToHex } from '@polkadot/util';
import type { Hex } from '../../src/domain/hex.ts';
import { multisigAccount } from './multisig.ts';

/**
 * The `system.remarkWithEvent` calls inside one extrinsic's call, with the
 * origin each runs as: the signer for a top-level remark or one inside
 * `utility.batchAll`, the multisig account for one inside `multisig.asMulti`
 * / `asMultiThreshold1` (pallet-multisig's derivation from the signer, the
 * other signatories and the threshold). Messages the attestors' account sends
 * (acks of deliveries to this chain) are such nested remarks. `via` says what
 * must also hold for the remark to have run: `asMulti` only runs the call at
 * the approval that reaches the threshold (its MultisigExecuted event is Ok).
 */
export interface NestedRemark {
  origin: Hex;
  remark: Uint8Array;
  via: 'signed' | 'threshold1' | 'asMulti';
}

interface Arg {
  toU8a(bare?: boolean): Uint8Array;
  toNumber(): number;
}

export function nestedRemarks(signer: Uint8Array, call: Call): NestedRemark[] {
  const out: NestedRemark[] = [];
  const walk = (c: Call, origin: Uint8Array, via: NestedRemark['via'], depth: number) => {
    if (depth > 4) return; // deeper nesting is not how Qiao sends; not followed
    const args = c.args as unknown as Arg[];
    switch (`${c.section}.${c.method}`) {
      case 'system.remarkWithEvent':
        out.push({ origin: u8aToHex(origin) as Hex, remark: args[0]!.toU8a(true), via });
        return;
      case 'utility.batchAll':
        for (const inner of c.args[0] as unknown as Call[]) walk(inner, origin, via, depth + 1);
        return;
      case 'multisig.asMulti': {
        const others = (c.args[1] as unknown as Arg[]).map((a) => a.toU8a());
        walk(c.args[3] as unknown as Call, multisigAccount([origin, ...others], args[0]!.toNumber()), 'asMulti', depth + 1);
        return;
      }
      case 'multisig.asMultiThreshold1': {
        const others = (c.args[0] as unknown as Arg[]).map((a) => a.toU8a());
        walk(c.args[1] as unknown as Call, multisigAccount([origin, ...others], 1), via === 'asMulti' ? via : 'threshold1', depth + 1);
        return;
      }
      default:
        return;
    }
  };
  try {
    walk(call, signer, 'signed', 0);
  } catch {
    // a malformed signatory list (duplicates, bad threshold): the chain would refuse it; nothing ran
    return [];
  }
  return out;
}
