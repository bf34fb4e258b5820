import type { Hex } from '../domain/hex.ts';

/**
 * A settlement corridor as SettlementHub stores it (fields in the contract's order).
 * Amounts are integer token units; rates are destination units per source unit, scaled 1e18.
 */
export interface Corridor {
  /** CAIP-2 of the chain the hop's input is locked on. */
  srcChain: string;
  /** CAIP-19 `eip155:<id>/erc20:<0xaddress lowercase>`. */
  srcAsset: string;
  dstChain: string;
  dstAsset: string;
  /** The liquidity provider: proposes, sets the rate, receives the input, pays the output from its pool. */
  provider: string;
  feeBps: number;
  fixedFee: bigint;
  spreadBps: number;
  /** Free text naming where the provider's rate comes from (shown, never interpreted). */
  fxSource: string;
  minAmount: bigint;
  maxAmount: bigint;
  /** Token bucket over every sender's inputs on this corridor. */
  bucketCapacity: bigint;
  bucketRefillPerSecond: bigint;
  /** Token bucket per entity (a sender's DID hash, or keccak256(abi.encode(address))). */
  entityCapacity: bigint;
  entityRefillPerSecond: bigint;
  /** "Requires ANY of": a non-empty list means the sender's attestation must be of one of these schemas. */
  senderSchemas: Hex[];
  receiverSchemas: Hex[];
  expectedSeconds: bigint;
}

export const CORRIDOR_STATUSES = ['proposed', 'approved', 'suspended'] as const;
export type CorridorStatus = (typeof CORRIDOR_STATUSES)[number];

export interface CorridorView {
  id: number;
  corridor: Corridor;
  status: CorridorStatus;
  /** 0n = no rate set yet. */
  rate: bigint;
  /** Unix seconds of the last setRate; 0n = never. */
  rateUpdatedAt: bigint;
}

export const PAYMENT_STATES = ['none', 'open', 'committed', 'aborted'] as const;
export type PaymentState = (typeof PAYMENT_STATES)[number];

export const LEG_STATES = ['pending', 'locked', 'lock_failed', 'release_sent', 'refund_sent'] as const;
export type LegState = (typeof LEG_STATES)[number];

export const ESCROW_LOCK_STATES = ['none', 'locked', 'released', 'refunded'] as const;
export type EscrowLockState = (typeof ESCROW_LOCK_STATES)[number];

/** One leg of a payment as SettlementHub records it. */
export interface LegView {
  index: number;
  chain: string;
  asset: string;
  /** Checksummed address of the leg's token on `chain`. */
  token: string;
  amount: bigint;
  from: string;
  to: string;
  state: LegState;
}

export interface PaymentView {
  uetr: string;
  state: PaymentState;
  sender: string;
  receiver: string;
  deadline: bigint;
  openedAt: bigint;
  /** 0n while open. */
  decidedAt: bigint;
  legs: LegView[];
  /** The corridors of the route, in hop order. */
  corridorIds: number[];
}

/** A lock as QiaoEscrow records it. */
export interface EscrowLock {
  token: string;
  amount: bigint;
  from: string;
  to: string;
  state: EscrowLockState;
}

export interface OpenPaymentInput {
  /** UUIDv4, lowercase. */
  uetr: string;
  corridorIds: number[];
  /** What the sender locks on leg 0 (fees included). */
  amount: bigint;
  sender: string;
  receiver: string;
  /** A CreditRegistry uid; omitted / zero when no hop requires a sender schema. */
  senderAttestation?: Hex;
  receiverAttestation?: Hex;
  /** Unix seconds (governance chain clock). */
  deadline: bigint;
  minOut: bigint;
}

/** A member chain's escrow and port as SettlementHub knows them. */
export interface EscrowBinding {
  chain: string;
  escrow: string;
  port: string;
}

/** Gas limits of settlement messages (the design's numbers). */
export const HUB_TO_ESCROW_GAS = 300_000n;
export const ESCROW_TO_HUB_GAS = 1_500_000n;
/** SettlementHub's default maximum rate age in seconds (setMaxRateAge changes it). */
export const DEFAULT_MAX_RATE_AGE = 3600n;
export const MAX_HOPS = 3;
