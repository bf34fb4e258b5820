import type { Selectable } from 'kysely';
import type { ChainFamily, ChainStatus, FinalityRule, LightClientType } from '../domain/chain.ts';
import type { ChainId } from '../domain/caip.ts';
import type { Hex } from '../domain/hex.ts';
import type { MessageJson } from '../domain/message.ts';
import type { MessageStatus } from '../domain/status.ts';
import type { AttestationsTable, BatchesTable, ChainsTable, LaneHoldsTable, MessagesTable, MisbehaviourEvidenceTable, NonceGapsTable, RegistryEventsTable, TransitionsTable } from './schema.ts';
import type { AttestationRow, BatchRow, BatchStatus, ChainRow, LaneHoldRow, MessageRow, MisbehaviourRow, NonceGap, OutcomeEvent, RegistryEventRow, TransitionEvent, TransitionRow } from './types.ts';

/*
 * Table rows to the interface's rows. Both drivers return int8/numeric as strings
 * here, but String() also covers a driver configured otherwise; jsonb comes parsed.
 */

function str(v: unknown): string {
  return String(v);
}

function strOrNull(v: unknown): string | null {
  return v === null || v === undefined ? null : String(v);
}

function date(v: unknown): Date {
  return v instanceof Date ? v : new Date(String(v));
}

export function toMessageRow(r: Selectable<MessagesTable>): MessageRow {
  return {
    id: r.id as Hex,
    encoded: r.encoded as Hex,
    message: r.message as MessageJson,
    srcChain: r.src_chain,
    dstChain: r.dst_chain,
    sender: r.sender,
    receiver: r.receiver,
    nonce: str(r.nonce),
    status: r.status as MessageStatus,
    reason: r.reason,
    srcTxHash: r.src_tx_hash as Hex | null,
    srcHeight: strOrNull(r.src_height),
    dstTxHash: r.dst_tx_hash as Hex | null,
    batchNo: strOrNull(r.batch_no),
    createdAt: date(r.created_at),
    updatedAt: date(r.updated_at),
  };
}

export function toTransitionRow(r: Selectable<TransitionsTable>): TransitionRow {
  return {
    seq: str(r.seq),
    messageId: r.message_id as Hex,
    status: r.status as MessageStatus,
    at: date(r.at),
    chain: r.chain,
    height: strOrNull(r.height),
    txHash: r.tx_hash as Hex | null,
    reason: r.reason,
    proof: r.proof ?? null,
  };
}

export function toChainRow(r: Selectable<ChainsTable>): ChainRow {
  return {
    chainId: r.chain_id as ChainId,
    family: r.family as ChainFamily,
    genesisHash: r.genesis_hash as Hex,
    port: r.port as Hex,
    lightClient: r.light_client as LightClientType,
    trustRoot: r.trust_root as Hex,
    finality: r.finality as FinalityRule,
    endpoints: r.endpoints,
    status: r.status as ChainStatus,
    updatedAt: date(r.updated_at),
  };
}

export function toBatchRow(r: Selectable<BatchesTable>): BatchRow {
  return {
    batchNo: str(r.batch_no),
    root: r.root as Hex,
    ids: r.ids as Hex[],
    status: r.status as BatchStatus,
    govTxHash: r.gov_tx_hash as Hex | null,
    govHeight: strOrNull(r.gov_height),
    createdAt: date(r.created_at),
  };
}

export function toAttestationRow(r: Selectable<AttestationsTable>): AttestationRow {
  return {
    batchNo: str(r.batch_no),
    rootType: r.root_type,
    setId: str(r.set_id),
    attestor: r.attestor,
    signature: r.signature as Hex,
    createdAt: date(r.created_at),
  };
}

export function toNonceGap(r: Selectable<NonceGapsTable>): NonceGap {
  return {
    srcChain: r.src_chain,
    srcPort: r.src_port,
    dstChain: r.dst_chain,
    expected: str(r.expected),
    seen: str(r.seen),
    detectedAt: date(r.detected_at),
  };
}

export function toOutcomeEvent(
  r: Pick<Selectable<TransitionsTable>, 'seq' | 'status' | 'at' | 'reason'> & Pick<Selectable<MessagesTable>, 'src_chain' | 'dst_chain' | 'created_at'>,
): OutcomeEvent {
  return {
    seq: str(r.seq),
    status: r.status as OutcomeEvent['status'],
    at: date(r.at),
    reason: r.reason,
    srcChain: r.src_chain,
    dstChain: r.dst_chain,
    createdAt: date(r.created_at),
  };
}

export function toTransitionEvent(
  r: Pick<Selectable<TransitionsTable>, 'seq' | 'message_id' | 'status' | 'at' | 'chain' | 'height' | 'tx_hash' | 'reason'> &
    Pick<Selectable<MessagesTable>, 'src_chain' | 'dst_chain' | 'sender' | 'receiver' | 'nonce'>,
): TransitionEvent {
  return {
    seq: str(r.seq),
    messageId: r.message_id as Hex,
    status: r.status as MessageStatus,
    at: date(r.at),
    chain: r.chain,
    height: strOrNull(r.height),
    txHash: r.tx_hash as Hex | null,
    reason: r.reason,
    srcChain: r.src_chain,
    dstChain: r.dst_chain,
    sender: r.sender,
    receiver: r.receiver,
    nonce: str(r.nonce),
  };
}

export function toRegistryEventRow(r: Selectable<RegistryEventsTable>): RegistryEventRow {
  return {
    seq: str(r.seq),
    contract: r.contract,
    kind: r.kind,
    subject: r.subject,
    status: r.status,
    data: (r.data ?? null) as Record<string, unknown> | null,
    blockNumber: str(r.block_number),
    blockTime: date(r.block_time),
    txHash: r.tx_hash as Hex,
    logIndex: r.log_index,
  };
}

export function toMisbehaviourRow(r: Selectable<MisbehaviourEvidenceTable>): MisbehaviourRow {
  return {
    id: str(r.id),
    chainId: r.chain_id,
    height: str(r.height),
    evidence: r.evidence as MisbehaviourRow['evidence'],
    detectedAt: date(r.detected_at),
    frozenTx: (r.frozen_tx ?? null) as Hex | null,
  };
}

export function toLaneHoldRow(r: Selectable<LaneHoldsTable>): LaneHoldRow {
  return {
    srcChain: r.src_chain,
    dstChain: r.dst_chain,
    maxDstGasPrice: str(r.max_dst_gas_price),
    gasPrice: str(r.gas_price),
    waiting: Number(r.waiting),
    since: date(r.since),
    updatedAt: date(r.updated_at),
  };
}
