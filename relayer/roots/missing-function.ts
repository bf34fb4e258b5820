import { causeChain } from '../../src/errors.ts';
import { revertData } from '../../src/evm/signer.ts';

/**
 * A view that reverts without any data on a contract that has code: the
 * contract predates the function (a governance chain deployed before hand-overs
 * or snapshots existed). RPC failures carry other codes and are retried.
 */
export function isMissingFunction(err: unknown): boolean {
  for (const e of causeChain(err)) {
    if ((e as { code?: unknown }).code === 'CALL_EXCEPTION' && !revertData(e)) return true;
  }
  return false;
}
