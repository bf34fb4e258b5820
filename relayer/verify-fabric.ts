import { FabricTxProofSchema, type FabricTxItem } from '../adapters/fabric/proof.ts';
import { acceptValidation, blockHeaderHash, decodeBlock, decodeEnvelope, verifyBlock, type BlockContext, type FabricBlock, type MspSet, type VerifiedTx } from '../proofs/fabric/index.ts';
import { METADATA_TRANSACTIONS_FILTER } from '../proofs/fabric/block.ts';
import { bytesField, decode } from '../proofs/fabric/pb.ts';
import { decodeIdentity } from '../proofs/fabric/tx.ts';
import type { Hex } from '../src/domain/hex.ts';
import { decodeMessage, messageId, type QiaoMessage } from '../src/domain/message.ts';
import { QiaoError } from '../src/errors.ts';

/**
 * Why a Fabric source proof is refused: the common reasons, the proofs/fabric
 * reasons of the block's own checks (orderer signatures, endorsements, ...),
 * and `validation_not_confirmed` when peers of k organisations did not all
 * sign that the transaction is valid.
 */
export type FabricVerdict = { ok: true } | { ok: false; reason: string; detail: string };

/** What the Fabric light client vouches for: block `height` verified from the trust root, by header hash. */
export interface FabricBlockAnchor {
  kind: 'fabric-block';
  height: bigint;
  hash: Hex;
}

export interface FabricExpectation {
  chainId: string;
  /** The registered port: UTF-8 of `<channel>/<chaincode>`. */
  port: Hex;
  height: bigint;
  ids: readonly Hex[];
  anchor: FabricBlockAnchor;
  /** The config, previous block and chaincode policies in force for the block, from the light client. */
  context: BlockContext;
  /** Organisations whose peers must sign that a transaction is valid. */
  k: number;
  /** The MSPs whose peers may answer (default: the channel's, from the context). */
  msps?: MspSet;
  /** When validation answers are judged (their certificates must be valid then); default unchecked. */
  at?: Date;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The commitment key the port writes for message `id` (a composite key: `\0commit\0<id>\0`). */
export const fabricCommitKey = (id: Hex): string => `\u0000commit\u0000${id.toLowerCase()}\u0000`;

/** The registered port: the UTF-8 bytes of `<channel>/<chaincode>`. */
export function splitFabricPort(port: Hex): { channel: string; chaincode: string } | null {
  let s: string;
  try {
    s = utf8.decode(Buffer.from(port.slice(2), 'hex'));
  } catch {
    return null;
  }
  const i = s.indexOf('/');
  if (i <= 0 || i === s.length - 1 || s.indexOf('/', i + 1) >= 0) return null;
  return { channel: s.slice(0, i), chaincode: s.slice(i + 1) };
}

const hex = (b: Uint8Array): Hex => `0x${Buffer.from(b).toString('hex')}` as Hex;
const refuse = (reason: string, detail: string): FabricVerdict => ({ ok: false, reason, detail });

/** A validation code no Fabric peer writes: the transaction is left out of the block's checks. */
export const NOT_CHECKED = 255;

/**
 * The block with a TRANSACTIONS_FILTER of the verifier's choosing: the
 * served one is outside the block hash, so whether a transaction is checked
 * as valid (creator, endorsements, the policy of every namespace it writes)
 * is decided here, and whether it is valid by the signed answers.
 */
export function withFilter(block: FabricBlock, code: (i: number) => number): FabricBlock {
  const filter = new Uint8Array(block.data.length);
  for (let i = 0; i < filter.length; i++) filter[i] = code(i);
  const metadata = [...block.metadata];
  while (metadata.length <= METADATA_TRANSACTIONS_FILTER) metadata.push(new Uint8Array(0));
  metadata[METADATA_TRANSACTIONS_FILTER] = filter;
  return { ...block, metadata };
}

/**
 * The verify step of a Fabric source (pure). The block must be the one the
 * light client verified at that height (header hash) and verifies again in
 * its context: data hash, orderer signatures, and for each transaction that
 * carries a requested id: creator, endorsements and the endorsement policy
 * of every namespace it writes (policies must be known: `checked`). The
 * transaction writes the port's commitment key for the id to 0x01 in the
 * port chaincode's namespace, the message hashes to the id and names this
 * chain and port as its source, and peers of k organisations signed that the
 * transaction is valid — with no signed answer saying otherwise.
 */
export function verifyFabricTxs(proof: unknown, expect: FabricExpectation): FabricVerdict {
  const p = FabricTxProofSchema.safeParse(proof);
  if (!p.success) return refuse('proof_malformed', `${p.error.issues[0]!.path.join('.')}: ${p.error.issues[0]!.message}`);
  const pr = p.data;
  if (BigInt(pr.height) !== expect.height) return refuse('height_mismatch', `proof is for block ${pr.height}, expected ${expect.height}`);
  let anchorHeight: bigint;
  try {
    // An anchor read back from the index has its height as a decimal string.
    anchorHeight = BigInt(expect.anchor.height);
  } catch {
    return refuse('expectation_invalid', 'anchor height is not an integer');
  }
  if (anchorHeight !== expect.height) return refuse('untrusted_header', `the light client vouches for block ${anchorHeight}, the proof is for ${expect.height}`);
  if (!Number.isInteger(expect.k) || expect.k < 1) return refuse('expectation_invalid', `k must be a positive integer, got ${expect.k}`);
  const own = splitFabricPort(expect.port);
  if (!own) return refuse('expectation_invalid', `registered port ${expect.port} is not the UTF-8 of "<channel>/<chaincode>"`);
  if (expect.context.config.channelId !== own.channel) return refuse('expectation_invalid', `the light client follows channel ${expect.context.config.channelId}, the port is on ${own.channel}`);

  let block: FabricBlock;
  try {
    block = decodeBlock(new Uint8Array(Buffer.from(pr.block, 'base64')));
  } catch (e) {
    return refuse('proof_malformed', `block does not decode: ${(e as Error).message}`);
  }
  if (block.number !== expect.height) return refuse('height_mismatch', `the block is block ${block.number}, expected ${expect.height}`);
  const hash = hex(blockHeaderHash(block));
  if (hash !== expect.anchor.hash.toLowerCase()) return refuse('untrusted_header', `block ${block.number} hashes to ${hash}, the light client trusts ${expect.anchor.hash}`);

  const index = new Map<string, number>();
  try {
    for (const [i, env] of block.data.entries()) {
      const txId = decodeEnvelope(env).txId;
      if (!index.has(txId)) index.set(txId, i);
    }
  } catch (e) {
    return refuse('proof_malformed', `an envelope does not decode: ${(e as Error).message}`);
  }

  // Which served tx carries each requested id.
  const byId = new Map<string, { item: FabricTxItem; at: number; encoded: Hex }>();
  for (const [at, item] of pr.txs.entries()) {
    for (const m of item.messages) {
      const id = messageId(m.toLowerCase() as Hex);
      if (!byId.has(id)) byId.set(id, { item, at, encoded: m.toLowerCase() as Hex });
    }
  }
  const wanted = new Map<string, { item: FabricTxItem; at: number; encoded: Hex; txIndex: number }>();
  for (const id of expect.ids) {
    const s = byId.get(id.toLowerCase());
    if (!s) return refuse('missing_slot', `the proof serves no message whose id is ${id}`);
    const txIndex = index.get(s.item.txId);
    if (txIndex === undefined) return refuse('missing_slot', `txs.${s.at}: tx ${s.item.txId} is not in block ${block.number}`);
    wanted.set(id.toLowerCase(), { ...s, txIndex });
  }

  const check = new Set([...wanted.values()].map((w) => w.txIndex));
  const checked = verifyBlock(withFilter(block, (i) => (check.has(i) ? 0 : NOT_CHECKED)), expect.context, { atTransactionTime: true, ...(expect.at ? { at: expect.at } : {}) });
  if (!checked.ok) return refuse(checked.reason, checked.detail);
  const msps = expect.msps ?? expect.context.config.msps;
  const confirmed = new Map<string, FabricVerdict>();

  for (const id of expect.ids) {
    const w = wanted.get(id.toLowerCase())!;
    const what = `txs.${w.at} (${id})`;
    const r = checkTx(id, w.encoded, checked.block.txs[w.txIndex]!, own.chaincode, expect);
    if (!r.ok) return { ...r, detail: `${what}: ${r.detail}` };
    let v = confirmed.get(w.item.txId);
    if (!v) {
      v = confirmValidation(w.item, block.data[w.txIndex]!, expect.k, msps, expect.at);
      confirmed.set(w.item.txId, v);
    }
    if (!v.ok) return { ...v, detail: `${what}: ${v.detail}` };
  }
  return { ok: true };
}

function checkTx(id: Hex, encoded: Hex, tx: VerifiedTx, chaincode: string, expect: FabricExpectation): FabricVerdict {
  if (tx.policy !== 'checked') return refuse('fabric_policy_unknown', `tx ${tx.txId}: endorsement policy ${tx.policy}${tx.unknownPolicies.length ? ` (${tx.unknownPolicies.join(', ')})` : ''}`);
  const key = fabricCommitKey(id);
  // Another chaincode may call the port (sendMessage): what counts is the write in the port's namespace, under the port's policy.
  const write = tx.rwsets.filter((ns) => ns.namespace === chaincode).flatMap((ns) => ns.writes).find((w) => w.key === key);
  if (!write) return refuse('commitment_absent', `tx ${tx.txId} does not write ${JSON.stringify(key)} in ${chaincode}`);
  if (write.isDelete || write.value.length !== 1 || write.value[0] !== 1) return refuse('commitment_mismatch', `tx ${tx.txId} writes ${hex(write.value)} to the commitment of ${id}, not 0x01`);
  let m: QiaoMessage;
  try {
    m = decodeMessage(encoded, 'message');
  } catch (e) {
    if (e instanceof QiaoError) return refuse('proof_malformed', e.message);
    throw e;
  }
  if (m.srcChain !== expect.chainId || m.srcPort.toLowerCase() !== expect.port.toLowerCase()) {
    return refuse('wrong_address', `the message names ${m.srcChain} port ${m.srcPort}, not this chain's port`);
  }
  return { ok: true };
}

/** Signed validation answers counted by organisation. */
export interface ValidationTally {
  /** Organisations whose peers signed that the tx is VALID (about exactly this envelope). */
  valid: Set<string>;
  /** Organisations whose peers signed another validation code for it. */
  invalid: Set<string>;
  /** Answers that carry no weight either way (unsigned, another tx, a peer not answering yet), with why. */
  ignored: string[];
}

/**
 * Each answer is judged alone by acceptValidation: one that does not verify
 * carries no weight either way, so one bad answer cannot sink the others.
 */
export function tallyValidation(txId: string, answers: readonly Uint8Array[], envelope: Uint8Array, msps: MspSet, at?: Date): ValidationTally {
  const out: ValidationTally = { valid: new Set(), invalid: new Set(), ignored: [] };
  for (const [i, response] of answers.entries()) {
    const r = acceptValidation(txId, [{ proposalResponse: response }], 1, msps, { envelope, ...(at ? { at } : {}) });
    if (r.ok) for (const o of r.organisations) out.valid.add(o);
    // Only reached once the answer's signature verified: the endorser named in it is who signed.
    else if (r.reason === 'fabric_tx_invalid') out.invalid.add(answerOrg(response));
    else out.ignored.push(`answer ${i}: ${r.reason}`);
  }
  return out;
}

function answerOrg(response: Uint8Array): string {
  return decodeIdentity(bytesField(decode(bytesField(decode(response), 6)), 1)).mspId;
}

/**
 * A signed answer saying the tx is not valid refuses it (honest peers
 * validate deterministically, so signed answers that disagree are not a
 * confirmation); otherwise peers of k organisations must say VALID.
 */
function confirmValidation(item: FabricTxItem, envelope: Uint8Array, k: number, msps: MspSet, at: Date | undefined): FabricVerdict {
  const t = tallyValidation(item.txId, item.validation.map((a) => new Uint8Array(Buffer.from(a.response, 'base64'))), envelope, msps, at);
  const valid = [...t.valid].join(', ') || 'none';
  if (t.invalid.size) return refuse('validation_not_confirmed', `tx ${item.txId}: peers of ${[...t.invalid].join(', ')} signed that it is not valid; valid per ${valid}`);
  if (t.valid.size < k) {
    return refuse('validation_not_confirmed', `tx ${item.txId}: valid per ${t.valid.size} organisation(s) (${valid}), ${k} required${t.ignored.length ? `; ignored ${t.ignored.join(', ')}` : ''}`);
  }
  return { ok: true };
}
