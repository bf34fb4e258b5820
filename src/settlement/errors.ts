import { Interface } from 'ethers';
import { ContractRevertError, QiaoError, findCause } from '../errors.ts';

/**
 * SettlementHub's custom errors, by name, as the snake_case codes callers branch on.
 * The Solidity error names are the source of truth; this list is checked against the
 * compiled ABI in test/contracts/settlement-hub.test.ts.
 */
export const SETTLEMENT_ERROR_CODES = {
  // open(): one per refusal, in the order the contract checks them
  NotOperator: 'not_operator',
  UetrUsed: 'uetr_used',
  DeadlinePassed: 'deadline_passed',
  BadHopCount: 'bad_hop_count',
  UnknownCorridor: 'unknown_corridor',
  HopsNotChained: 'hops_not_chained',
  CorridorNotApproved: 'corridor_not_approved',
  NoRate: 'no_rate',
  StaleRate: 'stale_rate',
  BelowMinimum: 'below_minimum',
  AboveMaximum: 'above_maximum',
  FeeExceedsAmount: 'fee_exceeds_amount',
  ZeroOutput: 'zero_output',
  CorridorLimitExhausted: 'corridor_limit_exhausted',
  EntityLimitExhausted: 'entity_limit_exhausted',
  SenderNotCompliant: 'sender_not_compliant',
  ReceiverNotCompliant: 'receiver_not_compliant',
  BelowMinOut: 'below_min_out',
  NoEscrow: 'no_escrow',
  PortNotSet: 'port_not_set',
  // corridors
  NotProvider: 'not_provider',
  BadCorridor: 'bad_corridor',
  BadRate: 'bad_rate',
  BadStatusChange: 'bad_status_change',
  // messages and decisions
  NotPort: 'not_port',
  UnknownEscrow: 'unknown_escrow',
  BadKind: 'bad_kind',
  UnknownPayment: 'unknown_payment',
  NotOpen: 'not_open',
  DeadlineNotPassed: 'deadline_not_passed',
  // Governed
  NotGovernor: 'not_governor',
  ZeroAddress: 'zero_address',
} as const;

export type SettlementErrorName = keyof typeof SETTLEMENT_ERROR_CODES;
export type SettlementErrorCode = (typeof SETTLEMENT_ERROR_CODES)[SettlementErrorName];

/** Why an attestation did not satisfy a corridor (the `why` argument of Sender/ReceiverNotCompliant). */
export const COMPLIANCE_FAILURES = ['ok', 'missing', 'not_valid', 'wrong_schema', 'not_controller', 'issuer_not_accredited'] as const;
export type ComplianceFailure = (typeof COMPLIANCE_FAILURES)[number];

/** `NotOpen(uetr, state)` etc. carry a payment state number; the reason codes E maps to are above. */
export function complianceFailure(why: bigint | number): ComplianceFailure {
  return COMPLIANCE_FAILURES[Number(why)] ?? 'not_valid';
}

/** snake_case of a CamelCase Solidity error name (used for names outside the table too). */
export function snakeCase(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/([A-Z])([A-Z][a-z])/g, '$1_$2').toLowerCase();
}

/**
 * SettlementHub or QiaoEscrow refused a call. `code` is the snake_case of the contract's
 * custom error name (e.g. `stale_rate`), `errorName` the name itself, `args` its
 * arguments as strings (bigints in decimal, bytes as 0x hex).
 */
export class SettlementRejected extends QiaoError {
  constructor(
    readonly errorName: string,
    readonly args: readonly string[],
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(snakeCase(errorName), message, { ...options, data: { errorName, args: [...args] } });
  }
}

/**
 * Turns a ContractRevertError (anywhere in the cause chain) from a settlement contract into a
 * SettlementRejected; anything else is returned unchanged.
 */
export function toSettlementRejected(err: unknown): unknown {
  if (err instanceof SettlementRejected) return err;
  const revert = findCause(err, ContractRevertError);
  if (!revert || revert.errorName === 'unknown') return err;
  const args = (revert.data.args as string[] | undefined) ?? [];
  return new SettlementRejected(revert.errorName, args, `settlement refused: ${revert.errorName}(${args.join(', ')})`, { cause: err });
}

/** Decodes raw revert data through a settlement ABI; null when it is not one of its errors. */
export function decodeSettlementError(iface: Interface, data: string): SettlementRejected | null {
  try {
    const e = iface.parseError(data);
    if (!e) return null;
    const args = [...e.args].map((a) => String(a));
    return new SettlementRejected(e.name, args, `settlement refused: ${e.name}(${args.join(', ')})`);
  } catch {
    return null;
  }
}
