import type { Hex } from '../../src/domain/hex.ts';
import { encodeEvmHeader, parseEvmHeader, type EvmHeader } from '../evm/header.ts';
import { keccak256, parseBytes, toHex } from '../evm/bytes.ts';
import { fail, ok, type VerifyResult } from '../result.ts';
import { decodeBftExtraData, extraDataForCommittedSeal, extraDataOnChain, type BftExtraData, type BftVariant } from './extra-data.ts';

/**
 * The two hashes Besu computes over a BFT header (BftBlockHashing), both over
 * the ordinary header RLP with only extraData replaced:
 *  - `hash`: the block's on-chain hash (seals removed, QBFT round set to 0;
 *    IBFT 2.0 drops both items). This is what eth_getBlockByNumber returns and
 *    what the child's parentHash names: it does not change with the seal set.
 *  - `sealHash`: what each committed seal signs (seals removed, round kept).
 * The genesis block keeps its extraData as is (Besu does the same).
 */
export interface BftHeader {
  header: EvmHeader;
  extra: BftExtraData;
  hash: Hex;
  sealHash: Uint8Array;
}

function hashWithExtra(header: EvmHeader, extra: Uint8Array): Uint8Array {
  return keccak256(encodeEvmHeader({ ...header, extraData: toHex(extra) }));
}

/** `round` overrides the header's round in the seal hash (used by tests to show a wrong round fails). */
export function parseBftHeader(json: unknown, variant: BftVariant, round?: number): VerifyResult<BftHeader> {
  const parsed = parseEvmHeader(json);
  if (!parsed.ok) return parsed;
  const header = parsed.header;
  const extra = decodeBftExtraData(parseBytes(header.extraData)!, variant);
  if (typeof extra === 'string') return fail('bft_extra_data_malformed', `${variant}: ${extra}`);
  if (header.number === 0n) {
    const h = keccak256(encodeEvmHeader(header));
    return ok({ header, extra, hash: toHex(h), sealHash: h });
  }
  return ok({
    header,
    extra,
    hash: toHex(hashWithExtra(header, extraDataOnChain(extra, variant))),
    sealHash: hashWithExtra(header, extraDataForCommittedSeal(extra, variant, round)),
  });
}
