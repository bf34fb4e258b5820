import type { Logger } from 'pino';
import type { Hex } from '../../src/domain/hex.ts';
import { ContractRevertError, findCause } from '../../src/errors.ts';
import type { MessageIndex, MisbehaviourEvidence } from '../../src/index/types.ts';

/** Freezes a chain through the governance emergency path; resolves with the transaction sent. */
export type FreezeChain = (chainId: string) => Promise<{ txHash: Hex }>;

/**
 * What the relayer does with misbehaviour evidence from a light client: the
 * evidence is stored first (it must survive a failed freeze), then the chain
 * is frozen through governance and the freeze transaction is added to the
 * stored row. A frozen chain is disconnected by the registry follower like
 * any chain that is no longer approved.
 */
export async function handleMisbehaviour(e: MisbehaviourEvidence, deps: { index: MessageIndex; freeze?: FreezeChain | undefined; logger: Logger }): Promise<void> {
  const { index, freeze, logger } = deps;
  const row = await index.recordMisbehaviour(e);
  const alert = { alert: 'misbehaviour', chain: e.chainId, height: String(e.height), evidenceId: row.id, hashA: e.headerA.hash, hashB: e.headerB.hash };
  if (!freeze) {
    logger.fatal(alert, 'MISBEHAVIOUR evidence stored; no freeze hook is wired: freeze the chain through governance by hand');
    return;
  }
  try {
    const r = await freeze(e.chainId);
    await index.recordMisbehaviour(e, { frozenTx: r.txHash });
    logger.fatal({ ...alert, frozenTx: r.txHash }, 'MISBEHAVIOUR evidence stored; chain frozen through the governance emergency path');
  } catch (err) {
    // Another relayer process that saw the same fork may have frozen it first: the registry refuses a second freeze by name.
    const revert = findCause(err, ContractRevertError);
    if (revert?.errorName === 'BadTransition') {
      logger.fatal({ ...alert, err }, 'MISBEHAVIOUR evidence stored; the chain is already frozen (or retired) in the registry');
      return;
    }
    logger.fatal({ ...alert, err }, 'MISBEHAVIOUR evidence stored; the emergency freeze FAILED: freeze the chain through governance by hand');
  }
}
