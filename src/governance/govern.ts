import type { Hex } from '../domain/hex.ts';
import type { TxSender } from '../evm/signer.ts';

/** What happened to a governance action: executed now, or waiting for approvals or the timelock. */
export interface GovernResult {
  /** 0n when the governor is a plain key (no proposal). */
  proposalId: bigint;
  executed: boolean;
  txHash: Hex;
}

/**
 * The one way the hub asks governance to do something. Registries never call
 * their governor directly: with a council it is a proposal (executed at once
 * when one key is the whole council and there is no timelock), with a plain
 * governor key it is the call itself.
 */
export interface GovernPath {
  readonly governor: string;
  execute(target: string, data: Hex, description: string): Promise<GovernResult>;
  /** The emergency path (suspend or freeze only): smaller threshold, no timelock. */
  emergency(target: string, data: Hex, description: string): Promise<GovernResult>;
}

/** A governor that is an externally owned key: every action is sent directly (tests, legacy data folders). */
export function directGovernance(sender: TxSender): GovernPath {
  const send = async (target: string, data: Hex): Promise<GovernResult> => {
    const r = await sender.send({ to: target, data });
    return { proposalId: 0n, executed: true, txHash: r.hash as Hex };
  };
  return { governor: sender.address, execute: send, emergency: send };
}
