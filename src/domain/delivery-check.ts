import { getAddress } from 'ethers';
import { QiaoError } from '../errors.ts';
import type { DeliveryBatch, DeliveryItem, DeliveryOutcome, Receipt } from './adapter.ts';
import { recoverAttestor, ROOT_TYPE, type AttestationDomain } from './attestation.ts';
import type { ChainId } from './caip.ts';
import type { Hex } from './hex.ts';
import { MessageTree } from './merkle.ts';
import { decodeMessage, messageId, type QiaoMessage } from './message.ts';

/**
 * What a destination port checks before it acts, for deliverers whose chain
 * checks none of it itself (a Substrate multisig, a Cosmos solo machine) or
 * that check ahead of the chain (Fabric: one bad item must not sink the batch).
 */
export type CheckedItem = { ok: true; id: Hex; message: QiaoMessage } | { ok: false; reason: 'id_mismatch' | 'bad_message' | 'bad_proof' | 'wrong_chain' | 'wrong_port' };

/** The item's bytes hash to its id, decode as a message, are in the root, and are addressed to this chain and port. */
export function checkDeliveryItem(root: Hex, item: DeliveryItem, dst: { chainId: ChainId | string; portBytes: Hex }): CheckedItem {
  let message: QiaoMessage;
  const id = item.id.toLowerCase() as Hex;
  try {
    if (messageId(item.encoded) !== id) return { ok: false, reason: 'id_mismatch' };
    message = decodeMessage(item.encoded, 'item');
  } catch (cause) {
    if (cause instanceof QiaoError) return { ok: false, reason: 'bad_message' };
    throw cause;
  }
  let included = false;
  try {
    included = MessageTree.verify(root, id, item.proof);
  } catch {
    included = false;
  }
  if (!included) return { ok: false, reason: 'bad_proof' };
  if (message.dstChain !== dst.chainId) return { ok: false, reason: 'wrong_chain' };
  if (message.dstPort.toLowerCase() !== dst.portBytes.toLowerCase()) return { ok: false, reason: 'wrong_port' };
  return { ok: true, id, message };
}

/** The distinct members of `members` whose signatures over the batch's messages root recover (malformed ones count for nobody). */
export function attestedBy(batch: Pick<DeliveryBatch, 'setId' | 'batchNo' | 'root' | 'signatures'>, domain: AttestationDomain, members: Iterable<string>): Set<string> {
  const trusted = new Set([...members].map((m) => getAddress(m)));
  const signers = new Set<string>();
  for (const sig of batch.signatures) {
    try {
      const who = recoverAttestor(domain, { rootType: ROOT_TYPE.messages, setId: batch.setId, batchNo: batch.batchNo, root: batch.root }, sig);
      if (trusted.has(who)) signers.add(who);
    } catch {
      // a malformed signature counts for nobody
    }
  }
  return signers;
}

/** What a delivery reports for an id the port already holds a receipt for: delivery is never dispatched twice. */
export function outcomeOfReceipt(r: Receipt): DeliveryOutcome {
  if (r.status === 'delivered') return { id: r.id, status: 'delivered', txHash: r.txHash, height: r.height };
  if (r.status === 'failed') return { id: r.id, status: 'failed', txHash: r.txHash, height: r.height, reason: r.reason ?? 'failed' };
  return { id: r.id, status: 'rejected', reason: 'cancelled' };
}
