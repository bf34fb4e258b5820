export { settlementArtifacts, escrowArtifacts, type SettlementArtifacts, type EscrowArtifacts } from './artifacts.ts';
export { deploySettlementHub, deployEscrow, deployDemoToken, type SettlementHubSettings, type EscrowSettings, type DemoTokenSettings } from './deploy.ts';
export { SettlementHubClient, corridorTuple, sendWithMargin, type BlockTag } from './client.ts';
export { EscrowClient, ERC20_ABI } from './escrow-client.ts';
export { hopOutput, tryHopOutput, routeAmounts, planLegs, UnroutableAmount, RATE_SCALE, BPS, type HopPricing, type HopAmounts, type PlannedLeg } from './amounts.ts';
export { newUetr, isUetr, parseUetr, uetrToBytes16, bytes16ToUetr } from './uetr.ts';
export { encodeSettlementPayload, decodeSettlementPayload, BadSettlementPayload, SETTLEMENT_KINDS, type SettlementPayload, type SettlementKind, type LegTransfer } from './payload.ts';
export {
  SettlementRejected,
  SETTLEMENT_ERROR_CODES,
  COMPLIANCE_FAILURES,
  complianceFailure,
  toSettlementRejected,
  decodeSettlementError,
  snakeCase,
  type SettlementErrorCode,
  type SettlementErrorName,
  type ComplianceFailure,
} from './errors.ts';
export { entityOfAddress, entityOfDid } from './entity.ts';
export type * from './types.ts';
export {
  CORRIDOR_STATUSES,
  PAYMENT_STATES,
  LEG_STATES,
  ESCROW_LOCK_STATES,
  HUB_TO_ESCROW_GAS,
  ESCROW_TO_HUB_GAS,
  DEFAULT_MAX_RATE_AGE,
  MAX_HOPS,
} from './types.ts';
