import { decode as rlpDecode, encode as rlpEncode } from '@ethereumjs/rlp';
import { equalBytes, toHex } from '../evm/bytes.ts';

/**
 * The BFT `extraData` of Hyperledger Besu (and Quorum's QBFT), an RLP list:
 *   QBFT:  [vanity(32), validators[], vote, round, seals[]]
 *     vote  = [] when none, else [recipient(20), 0xff (add) | '' (drop)]
 *     round = an RLP integer scalar (minimal big-endian bytes, '' for 0)
 *   IBFT 2.0: [vanity(32), validators[], vote, round, seals[]]
 *     vote  = '' (RLP null) when none, else [recipient(20), 0xff (add) | 0x00 (drop)]
 *     round = exactly 4 bytes, big-endian
 * Each seal is 65 bytes r || s || recId (recId 0 or 1).
 * The decoded items are kept as they were, so that the hashed forms below
 * are the upstream bytes with only the seals (and round) replaced.
 */
export type BftVariant = 'qbft' | 'ibft2';

export interface BftExtraData {
  vanity: Uint8Array;
  validators: Uint8Array[];
  /** The raw vote item, re-encoded as is. */
  vote: Uint8Array | Uint8Array[];
  round: number;
  /** The raw round item. */
  roundItem: Uint8Array;
  seals: Uint8Array[];
}

type Item = Uint8Array | Item[];

const isBytes = (x: Item | undefined): x is Uint8Array => x instanceof Uint8Array;

function checkVote(vote: Item, variant: BftVariant): string | null {
  if (variant === 'qbft' && Array.isArray(vote) && vote.length === 0) return null;
  if (variant === 'ibft2' && isBytes(vote) && vote.length === 0) return null;
  if (!Array.isArray(vote) || vote.length !== 2) return 'vote must be absent or [recipient, type]';
  const [recipient, type] = vote;
  if (!isBytes(recipient) || recipient.length !== 20) return 'vote recipient must be 20 bytes';
  if (!isBytes(type)) return 'vote type must be bytes';
  const add = type.length === 1 && type[0] === 0xff;
  const drop = variant === 'qbft' ? type.length === 0 : type.length === 1 && type[0] === 0x00;
  return add || drop ? null : `vote type ${toHex(type)} is neither add nor drop`;
}

function parseRound(item: Uint8Array, variant: BftVariant): number | string {
  if (variant === 'ibft2') {
    if (item.length !== 4) return 'IBFT 2.0 round must be exactly 4 bytes';
  } else if (item.length > 4 || (item.length > 0 && item[0] === 0)) {
    return 'QBFT round must be a minimal integer scalar of at most 4 bytes';
  }
  let n = 0;
  for (const b of item) n = n * 256 + b;
  // Besu reads the round into a Java int.
  return n > 0x7fffffff ? 'round exceeds a 32-bit signed integer' : n;
}

export function decodeBftExtraData(extra: Uint8Array, variant: BftVariant): BftExtraData | string {
  let items: Item;
  try {
    items = rlpDecode(extra) as Item;
  } catch (cause) {
    return `extraData is not RLP: ${(cause as Error).message}`;
  }
  if (!Array.isArray(items) || items.length !== 5) return 'extraData must be an RLP list of 5 items';
  const [vanity, validators, vote, round, seals] = items as [Item, Item, Item, Item, Item];
  if (!isBytes(vanity) || vanity.length !== 32) return 'vanity must be 32 bytes';
  if (!Array.isArray(validators) || !validators.every((v) => isBytes(v) && v.length === 20)) return 'validators must be a list of 20-byte addresses';
  const badVote = checkVote(vote, variant);
  if (badVote) return badVote;
  if (!isBytes(round)) return 'round must be bytes';
  const r = parseRound(round, variant);
  if (typeof r === 'string') return r;
  if (!Array.isArray(seals) || !seals.every(isBytes)) return 'committed seals must be a list of byte strings';
  // Non-canonical RLP would let two encodings of one extraData hash differently.
  if (!equalBytes(rlpEncode(items), extra)) return 'extraData is not canonical RLP';
  return { vanity, validators: validators as Uint8Array[], vote: vote as Uint8Array | Uint8Array[], round: r, roundItem: round, seals: seals as Uint8Array[] };
}

function roundItem(round: number, variant: BftVariant): Uint8Array {
  if (variant === 'ibft2') return new Uint8Array([round >>> 24, (round >>> 16) & 0xff, (round >>> 8) & 0xff, round & 0xff]);
  const out: number[] = [];
  for (let n = round; n > 0; n = Math.floor(n / 256)) out.unshift(n & 0xff);
  return new Uint8Array(out);
}

/**
 * extraData as the committed seals sign it (Besu EncodingType.EXCLUDE_COMMIT_SEALS):
 * QBFT keeps the round and writes an empty seal list; IBFT 2.0 keeps the round and drops the seal item.
 */
export function extraDataForCommittedSeal(e: BftExtraData, variant: BftVariant, round = e.round): Uint8Array {
  const head = [e.vanity, e.validators, e.vote, roundItem(round, variant)];
  return rlpEncode(variant === 'qbft' ? [...head, []] : head);
}

/**
 * extraData as the on-chain block hash sees it (EXCLUDE_COMMIT_SEALS_AND_ROUND_NUMBER):
 * QBFT writes round 0 and an empty seal list; IBFT 2.0 drops both items.
 */
export function extraDataOnChain(e: BftExtraData, variant: BftVariant): Uint8Array {
  return rlpEncode(variant === 'qbft' ? [e.vanity, e.validators, e.vote, new Uint8Array(0), []] : [e.vanity, e.validators, e.vote]);
}

/** Builds an extraData (for tests, fixtures and tools); `vote` null means none. */
export function encodeBftExtraData(
  args: { vanity?: Uint8Array; validators: Uint8Array[]; vote?: { recipient: Uint8Array; add: boolean } | null; round: number; seals: Uint8Array[] },
  variant: BftVariant,
): Uint8Array {
  const { vanity = new Uint8Array(32), validators, vote = null, round, seals } = args;
  let voteItem: Uint8Array | Uint8Array[];
  if (!vote) voteItem = variant === 'qbft' ? [] : new Uint8Array(0);
  else voteItem = [vote.recipient, vote.add ? new Uint8Array([0xff]) : variant === 'qbft' ? new Uint8Array(0) : new Uint8Array([0])];
  return rlpEncode([vanity, validators, voteItem, roundItem(round, variant), seals]);
}
