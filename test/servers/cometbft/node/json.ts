import { sha256 } from '@noble/hashes/sha2.js';
import type { AbciEvent, Block, TxResult } from './chain.ts';
import type { BlockId, Commit, Header, Validator } from './consensus.ts';
import { BLOCK_PROTOCOL } from './consensus.ts';
import { rfc3339 } from './proto.ts';

/** CometBFT v0.38 RPC JSON shapes (HexBytes upper-case hex, []byte base64, int64 as strings). */
export const HEX = (b: Uint8Array): string => Buffer.from(b).toString('hex').toUpperCase();
export const B64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');

export function blockIdJson(id: BlockId | null): unknown {
  return id
    ? { hash: HEX(id.hash), parts: { total: id.parts.total, hash: HEX(id.parts.hash) } }
    : { hash: '', parts: { total: 0, hash: '' } };
}

export function headerJson(h: Header): unknown {
  return {
    version: { block: BLOCK_PROTOCOL.toString(), app: (h.appVersion ?? 0n).toString() },
    chain_id: h.chainId,
    height: h.height.toString(),
    time: rfc3339(h.time),
    last_block_id: blockIdJson(h.lastBlockId),
    last_commit_hash: HEX(h.lastCommitHash),
    data_hash: HEX(h.dataHash),
    validators_hash: HEX(h.validatorsHash),
    next_validators_hash: HEX(h.nextValidatorsHash),
    consensus_hash: HEX(h.consensusHash),
    app_hash: HEX(h.appHash),
    last_results_hash: HEX(h.lastResultsHash),
    evidence_hash: HEX(h.evidenceHash),
    proposer_address: HEX(h.proposerAddress),
  };
}

export function commitJson(c: Commit | null): unknown {
  if (!c) return { height: '0', round: 0, block_id: blockIdJson(null), signatures: [] };
  return {
    height: c.height.toString(),
    round: c.round,
    block_id: blockIdJson(c.blockId),
    signatures: c.signatures.map((s) => ({
      block_id_flag: s.flag,
      validator_address: HEX(s.address),
      timestamp: rfc3339(s.timestamp),
      signature: s.signature.length ? B64(s.signature) : null,
    })),
  };
}

export function pubKeyJson(pk: Uint8Array): unknown {
  return { type: 'tendermint/PubKeyEd25519', value: B64(pk) };
}

export function validatorJson(v: Validator): unknown {
  return { address: HEX(v.address), pub_key: pubKeyJson(v.pubKey), voting_power: v.power.toString(), proposer_priority: '0' };
}

export function eventsJson(events: AbciEvent[]): unknown {
  return events.map((e) => ({ type: e.type, attributes: e.attributes.map((a) => ({ key: a.key, value: a.value, index: a.index })) }));
}

export function txResultJson(r: TxResult): unknown {
  return {
    code: r.code,
    data: r.data.length ? B64(r.data) : null,
    log: r.log,
    info: '',
    gas_wanted: r.gasWanted.toString(),
    gas_used: r.gasUsed.toString(),
    events: eventsJson(r.events),
    codespace: r.codespace,
  };
}

/** `block` as served: header/commit may be replaced by a fault (forged header) */
export function blockJson(b: Block, header: Header = b.header): unknown {
  return {
    header: headerJson(header),
    data: { txs: b.txs.map(B64) },
    evidence: { evidence: [] },
    last_commit: commitJson(b.lastCommit),
  };
}

export function txJson(b: Block, index: number): unknown {
  const tx = b.txs[index]!;
  return {
    hash: HEX(sha256(tx)),
    height: b.header.height.toString(),
    index,
    tx_result: txResultJson(b.results[index]!),
    tx: B64(tx),
  };
}
