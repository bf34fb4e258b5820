/**
 * Types of the pure route engine. The engine sees a snapshot of the corridor
 * graph (read from SettlementHub and the escrows by the service), a request and
 * the compliance facts for the sender and receiver; it does no I/O.
 */

/** Corridor status as SettlementHub stores it (0 Proposed, 1 Approved, 2 Suspended). */
export type GraphCorridorStatus = 'proposed' | 'approved' | 'suspended';

/** One corridor with everything a route check needs, as of the snapshot. */
export interface GraphCorridor {
  /** SettlementHub corridor id (from 1). */
  id: number;
  srcChain: string;
  /** CAIP-19, `eip155:<id>/erc20:<0xlowercase>`. */
  srcAsset: string;
  dstChain: string;
  dstAsset: string;
  /** The liquidity provider's 20-byte address, lowercase 0x. */
  provider: string;
  feeBps: number;
  fixedFee: bigint;
  spreadBps: number;
  fxSource: string;
  minAmount: bigint;
  maxAmount: bigint;
  /** bytes32 schema ids (lowercase 0x); empty = no requirement. Semantics: "requires ANY of". */
  senderSchemas: readonly string[];
  receiverSchemas: readonly string[];
  expectedSeconds: number;
  status: GraphCorridorStatus;
  /** Destination units per source unit, scaled 1e18; 0n = never set. */
  rate: bigint;
  /** Unix seconds of the last setRate (0 = never). */
  rateUpdatedAt: number;
  /** min(corridor bucket, the requesting entity's bucket) at snapshot time. */
  headroom: bigint;
  /** The provider's escrow pool for dstAsset on dstChain (pays legs 1..h). */
  liquidity: bigint;
}

export interface GraphSnapshot {
  corridors: readonly GraphCorridor[];
  /** SettlementHub.maxRateAge (seconds); a rate older than this is refused by `open`. */
  maxRateAgeSeconds: number;
}

export interface RouteRequest {
  srcAsset: string;
  /** Sender address (lowercase 0x, the same on every EVM chain). */
  srcAccount: string;
  dstAsset: string;
  /** Receiver address (lowercase 0x). */
  dstAccount: string;
  /** What the sender locks on leg 0, fees included. */
  amount: bigint;
  /** 1..3, default 3 (SettlementHub.open accepts 1..3 hops). */
  maxHops?: number;
}

/**
 * Which schemas the sender and receiver hold a VALID attestation for (credit
 * status valid, issuer accredited, subject controlled by the account), mapped to
 * one such attestation id: the route proposes it for `open`.
 */
export interface ComplianceFacts {
  sender: ReadonlyMap<string, string>;
  receiver: ReadonlyMap<string, string>;
}

export type RejectReason =
  | 'not_approved'
  | 'suspended'
  | 'no_rate'
  | 'stale_rate'
  | 'below_minimum'
  | 'above_maximum'
  | 'limit_exhausted'
  | 'insufficient_liquidity'
  | 'sender_not_compliant'
  | 'receiver_not_compliant';

export const REJECT_REASONS: readonly RejectReason[] = [
  'not_approved',
  'suspended',
  'no_rate',
  'stale_rate',
  'below_minimum',
  'above_maximum',
  'limit_exhausted',
  'insufficient_liquidity',
  'sender_not_compliant',
  'receiver_not_compliant',
];

export interface HopQuote {
  corridorId: number;
  srcChain: string;
  srcAsset: string;
  dstChain: string;
  dstAsset: string;
  provider: string;
  amountIn: bigint;
  fee: bigint;
  net: bigint;
  rate: bigint;
  spreadBps: number;
  amountOut: bigint;
  expectedSeconds: number;
  /** Provider pool before and after this payment's leg. */
  liquidity: bigint;
  liquidityAfter: bigint;
  /** Limit headroom before and after this hop's input is consumed. */
  headroom: bigint;
  headroomAfter: bigint;
}

/** One leg as SettlementHub.open will store it (the spec's "Legs" section). */
export interface LegPlan {
  leg: number;
  chain: string;
  asset: string;
  amount: bigint;
  from: string;
  to: string;
}

export interface Route {
  corridorIds: number[];
  hops: HopQuote[];
  legs: LegPlan[];
  amountIn: bigint;
  amountOut: bigint;
  /**
   * amountIn minus what the receiver gets valued back in source units at the
   * route's own rate (product of the hop rates): fees plus spread, in srcAsset units.
   */
  cost: bigint;
  /** cost / amountIn in basis points (rounded down). */
  costBps: number;
  expectedSeconds: number;
  /** Smallest spare provider liquidity and limit headroom along the route after this payment. */
  minLiquidityAfter: bigint;
  minHeadroomAfter: bigint;
  /** An attestation the sender/receiver holds that satisfies every hop; null when none is required. */
  senderAttestation: string | null;
  receiverAttestation: string | null;
}

export interface RejectedRoute {
  corridorIds: number[];
  reason: RejectReason;
  /** Index of the hop that failed; null for a route-wide check (compliance). */
  hop: number | null;
  detail: string;
}

export interface RouteResult {
  routes: Route[];
  rejected: RejectedRoute[];
  /** Candidate paths examined (routes + rejected). */
  considered: number;
  /** True when the candidate cap stopped the search early. */
  truncated: boolean;
}
