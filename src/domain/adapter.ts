import type { Logger } from 'pino';
import type { AttestationDomain } from './attestation.ts';
import type { ChainId } from './caip.ts';
import type { ChainFamily, ChainRegistration } from './chain.ts';
import type { Hex } from './hex.ts';
import type { QiaoMessage } from './message.ts';

/**
 * A member chain, as the relayer sees it: small capabilities rather than one
 * god client, so each stage takes only what it uses.
 */
export interface ChainHeads {
  head: bigint;
  /** Highest height that is final under the chain's finality rule. */
  finalized: bigint;
}

/** A `MessageSent` found at a source port; `id` is recomputed from `encoded`. */
export interface ObservedMessage {
  id: Hex;
  encoded: Hex;
  message: QiaoMessage;
  height: bigint;
  blockHash: Hex;
  txHash: Hex;
  logIndex: number;
}

export interface MessageWatcher {
  heads(): Promise<ChainHeads>;
  /** Messages the port emitted in heights [from, to], in chain order. */
  messagesIn(from: bigint, to: bigint): Promise<ObservedMessage[]>;
  /** The block hash the primary endpoint reports at a height (the header `local-dev` trust rests on). */
  blockHashAt(height: bigint): Promise<Hex | null>;
  /**
   * Raw headers [from, to] as the chain's RPC serves them, for light clients that walk headers (QBFT/IBFT 2.0).
   * `endpoint` (default 0, the primary) picks the registered endpoint: the others are witnesses the light client cross-checks.
   */
  rawHeaders?(from: bigint, to: bigint, endpoint?: number): Promise<Record<string, unknown>[]>;
  /** The port's next outbound nonce of a lane at `height` (for gap checks). */
  laneNonceAt?(dstChain: ChainId, height: bigint): Promise<bigint>;
}

/** Family-specific, JSON-safe evidence that a port committed messages at a height. */
export interface SourceProof {
  kind: string;
  height: string;
  [k: string]: unknown;
}

export interface CommitmentProver {
  /** Fetches, from `endpoint` (index into the chain's endpoints), the proof for ids at a height. */
  proveCommitments(height: bigint, ids: readonly Hex[], endpoint?: number): Promise<SourceProof>;
  endpointCount(): number;
}

export interface DeliveryItem {
  id: Hex;
  encoded: Hex;
  proof: Hex[];
}

export interface DeliveryBatch {
  rootType: 1;
  /** The set that signed (the port's current set, or its previous one within the grace window). */
  setId: bigint;
  batchNo: bigint;
  root: Hex;
  signatures: Hex[];
  items: DeliveryItem[];
}

export type DeliveryOutcome =
  | { id: Hex; status: 'delivered'; txHash: Hex; height: bigint }
  | { id: Hex; status: 'failed'; txHash: Hex; height: bigint; reason: string }
  | { id: Hex; status: 'rejected'; reason: string };

export interface Receipt {
  id: Hex;
  /** `cancelled`: the port's cancel marker (past the timeout, or skipped by the port's admin: never deliverable again). */
  status: 'delivered' | 'failed' | 'cancelled';
  txHash: Hex;
  height: bigint;
  reason?: string;
  /** A `cancelled` receipt the admin wrote with skip (an ordered lane's head), not a timeout's cancel marker; `reason` is the admin's. */
  skipped?: true;
}

/** The attestor sets a destination port accepts now. */
export interface PortAttestorState {
  setId: bigint;
  threshold: number;
  members: string[];
  /** The set before the port's last hand-over; its signatures count while `now <= validUntil`. */
  previous: { setId: bigint; threshold: number; validUntil: bigint } | null;
  /** The port chain's latest block time (seconds), the clock the grace window runs on. */
  now: bigint;
}

/** A signed hand-over to the next attestor set (root type 3, batchNo = newSetId), signed by the port's current set. */
export interface AttestorRotation {
  newSetId: bigint;
  members: string[];
  threshold: number;
  signatures: Hex[];
}

/** The registry snapshot a port holds; snapshotNo 0 = none yet. */
export interface PortRegistryRoot {
  snapshotNo: bigint;
  treeRoot: Hex;
  takenAt: bigint;
}

/** An attested registry snapshot (root type 2) for a port. */
export interface RegistryRootDelivery extends PortRegistryRoot {
  setId: bigint;
  signatures: Hex[];
}

export interface PortTx {
  txHash: Hex;
  height: bigint;
}

/** A destination chain's clock, as its latest block says (the one message timeouts run on). */
export interface PortClock {
  height: bigint;
  time: bigint;
}

/** Writes the cancel marker of one attested message past its timeout (the root is accepted first if needed). */
export interface CancelRequest {
  setId: bigint;
  batchNo: bigint;
  root: Hex;
  signatures: Hex[];
  item: DeliveryItem;
}

/**
 * An ordered lane at a destination port (issue 5): messages of one source port
 * (srcChain, srcPort) delivered only in nonce order, `next` being the one the
 * port takes next. Unordered lanes (the default) come back `{ ordered: false }`.
 */
export interface LaneState {
  ordered: boolean;
  next: bigint;
}

/** What a source port recorded for one of its outbound messages when the destination's answer arrived. */
export interface AckState {
  outcome: 'none' | 'delivered' | 'failed' | 'cancelled';
  /** The transaction that recorded it (absent for `none`). */
  txHash?: Hex;
  height?: bigint;
  /** For `cancelled` of a refundable send: what was returned and whether the sender took it (else claimable). */
  refund?: { sender: string; value: bigint; paid: boolean };
}

export interface MessageDeliverer {
  /** Delivers what has no receipt yet; items already received come back with their receipt. */
  deliver(batch: DeliveryBatch): Promise<DeliveryOutcome[]>;
  receiptOf(id: Hex): Promise<Receipt | null>;
  /** Ports that follow attestor-set hand-overs: which sets they accept now. */
  attestorState?(): Promise<PortAttestorState>;
  rotateAttestors?(r: AttestorRotation): Promise<PortTx>;
  /** Ports that hold registry snapshots for contracts on their chain. */
  registryRoot?(): Promise<PortRegistryRoot>;
  acceptRegistryRoot?(r: RegistryRootDelivery): Promise<PortTx>;
  /** Ports with acknowledgements and timeouts (cancel markers, acks travelling back as messages). */
  clock?(): Promise<PortClock>;
  cancel?(r: CancelRequest): Promise<PortTx>;
  ackOf?(id: Hex): Promise<AckState>;
  /**
   * Delivers one message again that has a failed receipt (an operator's retry; `deliver` never re-sends a failed
   * one on its own). Comes back `delivered`, `failed` again with the receiver's reason, or `rejected`.
   */
  retry?(r: CancelRequest): Promise<DeliveryOutcome>;
  /** Ports with ordered lanes: a lane's state at this port. */
  lane?(srcChain: string, srcPort: Hex): Promise<LaneState>;
  /**
   * Ports with ordered lanes: the admin gives up on the head of an ordered lane (never delivered afterwards; the
   * source is answered like a cancel, with `reason`). Needs the port admin's key.
   */
  skip?(r: CancelRequest, reason: string): Promise<PortTx>;
  /** Ports that charge lane fees (issue 5): a lane's fee now (lane = keccak256(dstChain)), and setting it from a registry snapshot leaf. */
  laneFee?(lane: Hex): Promise<{ fee: bigint; snapshotNo: bigint }>;
  setLaneFee?(leaf: PortRegistryLeaf, proof: Hex[]): Promise<PortTx>;
}

/** A registry snapshot leaf as ports check it (src/registries/snapshot/leaves.ts). */
export interface PortRegistryLeaf {
  kind: number;
  key: Hex;
  a: Hex;
  b: Hex;
  status: number;
  validUntil: bigint;
  data: Hex;
}

export interface ChainAdapter {
  readonly chainId: ChainId;
  readonly family: ChainFamily;
  readonly watcher: MessageWatcher;
  readonly prover: CommitmentProver;
  readonly deliverer: MessageDeliverer;
  close(): Promise<void>;
}

export interface AdapterContext {
  logger: Logger;
  /** Hex private key the relayer pays destination gas with (never logged). */
  relayerKey?: Hex;
  /**
   * Hex private key of the destination ports' admin (the hub's governor key deployed the ports it runs), for the one
   * admin act the relayer performs: an operator's skip of an ordered lane's head. Absent: skips are refused. Never logged.
   */
  portAdminKey?: Hex;
  /** Hex secp256k1 keys of the attestors the hub holds (embedded hub): families without a port contract sign deliveries with them (Substrate multisig). Never logged. */
  attestorKeys?: Hex[];
  /** A folder where adapters keep durable per-chain state (the Cosmos solo machine's signature records and journal). */
  dataDir?: string;
  /** The EIP-712 domain attestations are signed in (governance chain id + MessageLog): deliverers that sign on the attestors' behalf (Cosmos solo machine, Fabric) check a batch against it first. */
  attestation?: AttestationDomain;
  /**
   * The hub's attested cancel orders, for families whose ports have no trustworthy clock (Fabric): the deliverer
   * decides a message is past its timeout on the chain's latest block time and `issue` sends the order, an ordinary
   * Qiao message from the hub's timeout authority on the governance chain's port, payload
   * abi.encode(uint8 3, bytes32 originalId, bytes original), that the destination port applies once delivered.
   * Absent when the governance chain is not a member chain: such ports then never cancel.
   */
  cancelOrders?: {
    /** The timeout authority's address (the orders' Qiao sender). */
    sender: Hex;
    govChain: string;
    govPort: Hex;
    issue(o: { dstChain: string; dstPort: Hex; original: Hex }): Promise<PortTx>;
  };
}

export type AdapterFactory = (registration: ChainRegistration, ctx: AdapterContext) => Promise<ChainAdapter>;
