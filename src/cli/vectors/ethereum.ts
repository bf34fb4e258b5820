import { dirname, join } from 'node:path';
import { encode as rlpEncode } from '@ethereumjs/rlp';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { bytesToHex, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { verifyAccountProof, verifyStorageProof, type EvmAccount } from '../../../proofs/evm/account.ts';
import { hashHeader } from '../../../proofs/evm/header.ts';
import type { Hex } from '../../domain/hex.ts';
import type { VectorCase, VectorFormat, VectorFs } from './types.ts';

/**
 * Ethereum execution-layer vector formats for `qiao proof verify` (the beacon
 * light-client formats live in beacon.ts). All are recognised by content:
 *  - ethereum-rpc-folder: a folder holding an eth_getBlockByNumber block and
 *    eth_getProof answers for it (helios `tests/testdata/rpc`): one case, the
 *    header hash and every account/storage proof against its stateRoot, plus
 *    the receipt trie when the block's receipts are there;
 *  - ethereum-get-proof: a lone eth_getProof answer (ethereumjs Ropsten files):
 *    one case; no header anchors it, so its state root is keccak256 of the
 *    first account-proof node, and the case name says so;
 *  - ethereum-trie-test: ethereum/tests TrieTests root vectors: one case per
 *    named test, the root rebuilt here; `trietestnextprev` (iterator order,
 *    not a proof test) is not claimed, so the runner prints a notice;
 *  - ethereum-header: a lone block header (snowbridge): its keccak256(RLP) hash;
 *  - ethereum-receipts: a block's receipts (eth_getBlockReceipts shape) next
 *    to its header file: the receipt trie root against the header.
 */

type Json = Record<string, unknown>;
const MAX_JSON_BYTES = 8 * 1024 * 1024;

const isRecord = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const toHex = (b: Uint8Array): Hex => `0x${bytesToHex(b)}`;
const same = (a: unknown, b: unknown) => typeof a === 'string' && typeof b === 'string' && a.toLowerCase() === b.toLowerCase();

function parseJson(content: Buffer): unknown {
  if (content.length > MAX_JSON_BYTES) return undefined;
  const first = content.subarray(0, 64).toString('utf8').trimStart()[0];
  if (first !== '{' && first !== '[') return undefined;
  try {
    return JSON.parse(content.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

function readJson(fs: VectorFs, path: string): unknown {
  return parseJson(fs.read(path));
}

const valid = (name: string): VectorCase => ({ case: name, expected: null, verdict: 'valid', reason: null });
const invalid = (name: string, reason: string): VectorCase => ({ case: name, expected: null, verdict: 'invalid', reason });

/** Thrown inside a case to end it as invalid with a reason code (caught in the same case). */
class CaseFailure extends Error {
  constructor(readonly reason: string, detail: string) {
    super(detail);
  }
}

/** `body` returns an optional note for the case name (the line has no other place for one). */
function runCase(name: string, body: () => string | void): VectorCase {
  try {
    const note = body();
    return valid(note ? `${name} (${note})` : name);
  } catch (err) {
    if (err instanceof CaseFailure) return invalid(name, err.reason);
    throw err;
  }
}

// ---------------------------------------------------------------- shapes

function isBlock(v: unknown): v is Json {
  return isRecord(v) && typeof v.parentHash === 'string' && typeof v.stateRoot === 'string' && typeof v.hash === 'string' && typeof v.extraData === 'string' && !('accountProof' in v);
}

/** eth_getProof (EIP-1186) or the helios {account, accountProof, storageProof} shape. */
function isAccountProof(v: unknown): v is Json {
  return isRecord(v) && Array.isArray(v.accountProof) && (Array.isArray(v.storageProof) || v.storageProof === undefined);
}

function isReceipt(v: unknown): v is Json {
  return isRecord(v) && typeof v.transactionHash === 'string' && typeof v.cumulativeGasUsed === 'string' && Array.isArray(v.logs) && typeof v.logsBloom === 'string';
}

const isReceiptList = (v: unknown): v is Json[] => Array.isArray(v) && v.length > 0 && v.every(isReceipt);

function isTrieTest(v: unknown): v is { source?: unknown; tests: Record<string, { in: unknown; root: unknown }> } {
  if (!isRecord(v) || !isRecord(v.tests)) return false;
  const tests = Object.values(v.tests);
  return tests.length > 0 && tests.every((t) => isRecord(t) && 'in' in t && typeof t.root === 'string');
}

// ---------------------------------------------------------------- header and proofs

function checkHeader(block: Json): { stateRoot: Hex; receiptsRoot: Hex; hash: Hex } {
  const h = hashHeader(block);
  if (!h.ok) throw new CaseFailure(h.reason, h.detail);
  if (!same(h.hash, block.hash)) throw new CaseFailure('header_hash_mismatch', `header hashes to ${h.hash}, its hash field says ${String(block.hash)}`);
  return { stateRoot: h.header.stateRoot, receiptsRoot: h.header.receiptsRoot, hash: h.hash };
}

function quantity(v: unknown): bigint | null {
  if (v === '0x') return 0n;
  return typeof v === 'string' && /^0x[0-9a-fA-F]{1,64}$/.test(v) ? BigInt(v) : null;
}

const EMPTY_CODE_HASH = '0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470';
const EMPTY_TRIE_ROOT = '0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421';

/** The account fields a proof claims: top level (eth_getProof) or under `account` (helios). */
function claimedAccount(p: Json): Json {
  return isRecord(p.account) ? p.account : p;
}

function compareAccount(claimed: Json, proven: EvmAccount | null, who: string): void {
  const nonce = quantity(claimed.nonce);
  const balance = quantity(claimed.balance);
  const storageRoot = claimed.storageHash ?? claimed.storageRoot;
  const expect = proven ?? { nonce: 0n, balance: 0n, storageRoot: EMPTY_TRIE_ROOT, codeHash: EMPTY_CODE_HASH };
  if (nonce !== expect.nonce || balance !== expect.balance || !same(storageRoot, expect.storageRoot) || !same(claimed.codeHash, expect.codeHash)) {
    throw new CaseFailure('account_proof_invalid', `${who}: claimed account fields differ from the proven ${proven ? 'account' : 'absence'}`);
  }
}

function slotWord(key: unknown): Hex {
  if (typeof key !== 'string' || !/^0x[0-9a-fA-F]{1,64}$/.test(key)) throw new CaseFailure('proof_malformed', `storage key ${String(key)} is not a hex word`);
  return `0x${key.slice(2).padStart(64, '0')}`;
}

/** Verifies one proof object against `stateRoot`; returns a short description. */
function checkAccountProof(p: Json, address: Hex, stateRoot: Hex, who: string): string {
  const acc = verifyAccountProof(stateRoot, address, p.accountProof as Hex[]);
  if (!acc.ok) throw new CaseFailure(acc.reason, `${who}: ${acc.detail}`);
  compareAccount(claimedAccount(p), acc.account, who);
  if (p.code !== undefined && (typeof p.code !== 'string' || !/^0x(?:[0-9a-fA-F]{2})*$/.test(p.code))) throw new CaseFailure('proof_malformed', `${who}: code is not hex`);
  if (typeof p.code === 'string' && acc.account && !same(toHex(keccak_256(hexToBytes(p.code.slice(2)))), acc.account.codeHash)) {
    throw new CaseFailure('account_proof_invalid', `${who}: keccak256(code) differs from the proven codeHash`);
  }
  const slots = (p.storageProof as unknown[] | undefined) ?? [];
  for (const [i, sp] of slots.entries()) {
    if (!isRecord(sp) || !Array.isArray(sp.proof)) throw new CaseFailure('proof_malformed', `${who}: storageProof[${i}] is not {key, value, proof}`);
    const root = acc.account?.storageRoot ?? EMPTY_TRIE_ROOT;
    const st = verifyStorageProof(root, slotWord(sp.key), sp.proof as Hex[]);
    if (!st.ok) throw new CaseFailure(st.reason, `${who}: ${st.detail}`);
    if (quantity(sp.value) !== st.value) throw new CaseFailure('storage_value_mismatch', `${who}: slot ${String(sp.key)} claims ${String(sp.value)}`);
  }
  return `${acc.account ? 'account' : 'absent account'} ${address} with ${slots.length} storage proof(s)`;
}

// ---------------------------------------------------------------- tries (roots rebuilt from key/value pairs)

type Nibbles = number[];

function nibbles(key: Uint8Array): Nibbles {
  const out: number[] = [];
  for (const b of key) out.push(b >> 4, b & 0x0f);
  return out;
}

function compact(path: Nibbles, leaf: boolean): Uint8Array {
  const odd = path.length % 2 === 1;
  const flag = (leaf ? 2 : 0) + (odd ? 1 : 0);
  const all = odd ? [flag, ...path] : [flag, 0, ...path];
  const out = new Uint8Array(all.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = (all[2 * i]! << 4) | all[2 * i + 1]!;
  return out;
}

type RawNode = Uint8Array | RawNode[];

/** A child reference: the node itself when its RLP is under 32 bytes, else its hash. */
function ref(node: RawNode[]): RawNode {
  const enc = rlpEncode(node);
  return enc.length < 32 ? node : keccak_256(enc);
}

function buildNode(entries: [Nibbles, Uint8Array][], depth: number): RawNode[] {
  if (entries.length === 1) return [compact(entries[0]![0].slice(depth), true), entries[0]![1]];
  // Longest common prefix below `depth`.
  let common = 0;
  for (;;) {
    const n = entries[0]![0][depth + common];
    if (n === undefined || !entries.every(([k]) => k[depth + common] === n)) break;
    common++;
  }
  if (common > 0) return [compact(entries[0]![0].slice(depth, depth + common), false), ref(buildNode(entries, depth + common))];
  const branch: RawNode[] = Array.from({ length: 17 }, () => new Uint8Array(0));
  for (let n = 0; n < 16; n++) {
    const group = entries.filter(([k]) => k[depth] === n);
    if (group.length) branch[n] = ref(buildNode(group, depth + 1));
  }
  const here = entries.find(([k]) => k.length === depth);
  if (here) branch[16] = here[1];
  return branch;
}

/** Root of a Merkle-Patricia trie holding `pairs` (empty values are absent). */
export function trieRoot(pairs: Map<string, Uint8Array>): Hex {
  const entries: [Nibbles, Uint8Array][] = [];
  for (const [k, v] of pairs) if (v.length > 0) entries.push([nibbles(hexToBytes(k)), v]);
  if (entries.length === 0) return EMPTY_TRIE_ROOT;
  return toHex(keccak_256(rlpEncode(buildNode(entries, 0))));
}

/** ethereum/tests convention: a string starting with 0x is hex, any other is UTF-8. */
function trieBytes(v: unknown, what: string): Uint8Array {
  if (typeof v !== 'string') throw new CaseFailure('proof_malformed', `${what} is not a string`);
  if (v.startsWith('0x')) {
    if (!/^0x(?:[0-9a-fA-F]{2})*$/.test(v)) throw new CaseFailure('proof_malformed', `${what} is not even-length hex`);
    return hexToBytes(v.slice(2));
  }
  return utf8ToBytes(v);
}

function trieOps(input: unknown): [Uint8Array, Uint8Array | null][] {
  const pairs: [unknown, unknown][] = Array.isArray(input) ? (input as [unknown, unknown][]) : isRecord(input) ? Object.entries(input) : [];
  if (!Array.isArray(input) && !isRecord(input)) throw new CaseFailure('proof_malformed', '`in` is neither a list of pairs nor an object');
  return pairs.map((p, i) => {
    if (!Array.isArray(p) || p.length !== 2) throw new CaseFailure('proof_malformed', `in[${i}] is not a [key, value] pair`);
    return [trieBytes(p[0], `in[${i}] key`), p[1] === null ? null : trieBytes(p[1], `in[${i}] value`)];
  });
}

function rootOf(ops: [Uint8Array, Uint8Array | null][], secure: boolean): Hex {
  const m = new Map<string, Uint8Array>();
  for (const [k, v] of ops) {
    const key = bytesToHex(secure ? keccak_256(k) : k);
    if (v === null || v.length === 0) m.delete(key);
    else m.set(key, v);
  }
  return trieRoot(m);
}

// ---------------------------------------------------------------- receipts

function receiptRlp(r: Json): Uint8Array {
  const q = (v: unknown, what: string): Uint8Array => {
    const n = quantity(v);
    if (n === null) throw new CaseFailure('proof_malformed', `receipt ${what} is not a quantity`);
    return n === 0n ? new Uint8Array(0) : hexToBytes(n.toString(16).padStart(Math.ceil(n.toString(16).length / 2) * 2, '0'));
  };
  const b = (v: unknown, what: string): Uint8Array => {
    if (typeof v !== 'string' || !/^0x(?:[0-9a-fA-F]{2})*$/.test(v)) throw new CaseFailure('proof_malformed', `receipt ${what} is not hex`);
    return hexToBytes(v.slice(2));
  };
  // Pre-Byzantium receipts carry a post-state root instead of a status.
  const first = typeof r.root === 'string' && r.status === undefined ? b(r.root, 'root') : q(r.status, 'status');
  const logs = (r.logs as Json[]).map((l) => [b(l.address, 'log address'), (l.topics as unknown[]).map((t) => b(t, 'log topic')), b(l.data, 'log data')]);
  const body = rlpEncode([first, q(r.cumulativeGasUsed, 'cumulativeGasUsed'), b(r.logsBloom, 'logsBloom'), logs]);
  const type = r.type === undefined ? 0n : quantity(r.type);
  if (type === null || type > 0x7fn) throw new CaseFailure('proof_malformed', 'receipt type is not an EIP-2718 type');
  if (type === 0n) return body;
  const out = new Uint8Array(body.length + 1);
  out[0] = Number(type);
  out.set(body, 1);
  return out;
}

function receiptsRoot(receipts: Json[]): Hex {
  const m = new Map<string, Uint8Array>();
  for (const r of receipts) {
    const idx = quantity(r.transactionIndex);
    if (idx === null) throw new CaseFailure('proof_malformed', 'receipt transactionIndex is not a quantity');
    m.set(bytesToHex(rlpEncode(idx)), receiptRlp(r));
  }
  return trieRoot(m);
}

function checkReceipts(receipts: Json[], header: { receiptsRoot: Hex; hash: Hex }): void {
  if (!receipts.every((r) => same(r.blockHash, header.hash))) throw new CaseFailure('untrusted_header', 'a receipt names another block');
  const root = receiptsRoot(receipts);
  if (!same(root, header.receiptsRoot)) throw new CaseFailure('proof_malformed', `receipt trie root ${root} differs from the header's ${header.receiptsRoot}`);
}

function checkReceiptIn(r: Json, all: Json[], who: string): void {
  const mine = all.find((x) => same(x.transactionHash, r.transactionHash));
  if (!mine || !same(r.blockHash, mine.blockHash) || bytesToHex(receiptRlp(r)) !== bytesToHex(receiptRlp(mine))) {
    throw new CaseFailure('proof_malformed', `${who}: receipt ${String(r.transactionHash)} is not the one in the verified receipt trie`);
  }
}

function isLogList(v: unknown): v is Json[] {
  return Array.isArray(v) && v.length > 0 && v.every((l) => isRecord(l) && typeof l.address === 'string' && Array.isArray(l.topics) && typeof l.data === 'string' && typeof l.transactionHash === 'string');
}

function checkLogIn(l: Json, all: Json[], who: string): void {
  const r = all.find((x) => same(x.transactionHash, l.transactionHash));
  const found = r && (r.logs as Json[]).some((x) => same(x.address, l.address) && same(x.data, l.data) && same(x.logIndex, l.logIndex) && JSON.stringify((x.topics as string[]).map((t) => t.toLowerCase())) === JSON.stringify((l.topics as string[]).map((t) => String(t).toLowerCase())));
  if (!found) throw new CaseFailure('proof_malformed', `${who}: log ${String(l.logIndex)} of ${String(l.transactionHash)} is not in the verified receipts`);
}

// ---------------------------------------------------------------- formats

function jsonFilesOf(dir: string, fs: VectorFs): { path: string; json: unknown }[] {
  return fs
    .list(dir)
    .filter((e) => !e.dir)
    .map((e) => ({ path: join(dir, e.name), json: readJson(fs, join(dir, e.name)) }))
    .filter((f) => f.json !== undefined);
}

const rpcFolder: VectorFormat = {
  name: 'ethereum-rpc-folder',
  claimDir(dir, fs) {
    let block = false;
    let proof = false;
    for (const e of fs.list(dir)) {
      if (e.dir) continue;
      const json = readJson(fs, join(dir, e.name));
      block ||= isBlock(json);
      proof ||= isAccountProof(json);
    }
    return block && proof;
  },
  run(dir, fs) {
    const files = jsonFilesOf(dir, fs);
    return [
      runCase(dir, () => {
        const blocks = files.filter((f) => isBlock(f.json));
        if (blocks.length !== 1) throw new CaseFailure('header_malformed', `expected one block in the folder, found ${blocks.length}`);
        const block = blocks[0]!.json as Json;
        const header = checkHeader(block);
        // Addresses the folder names (proof `address` fields, the fee recipient): the helios
        // {account, ...} shape omits its address, so it must be one of these for its proof to verify.
        const candidates = new Set<string>([String(block.miner).toLowerCase()]);
        for (const f of files) if (isAccountProof(f.json) && typeof f.json.address === 'string') candidates.add(f.json.address.toLowerCase());
        for (const f of files.filter((x) => isAccountProof(x.json))) {
          const p = f.json as Json;
          const who = f.path.slice(dir.length + 1);
          if (typeof p.address === 'string') {
            checkAccountProof(p, p.address as Hex, header.stateRoot, who);
          } else {
            const matches = [...candidates].filter((a) => {
              try {
                checkAccountProof(p, a as Hex, header.stateRoot, who);
                return true;
              } catch (err) {
                if (err instanceof CaseFailure) return false;
                throw err;
              }
            });
            if (matches.length === 0) throw new CaseFailure('account_proof_invalid', `${who}: no address named in the folder has this proven account`);
          }
        }
        const lists = files.filter((f) => isReceiptList(f.json) && f.json.every((r) => same(r.blockHash, header.hash)));
        for (const f of lists) checkReceipts(f.json as Json[], header);
        const all = lists.flatMap((f) => f.json as Json[]);
        if (all.length > 0) {
          // Single receipts and logs of the block count once their receipt is in the verified trie.
          for (const f of files) {
            const who = f.path.slice(dir.length + 1);
            if (isReceipt(f.json)) checkReceiptIn(f.json, all, who);
            if (isLogList(f.json)) for (const l of f.json) checkLogIn(l, all, who);
          }
        }
        return undefined;
      }),
    ];
  },
};

const getProof: VectorFormat = {
  name: 'ethereum-get-proof',
  claimFile(_path, content) {
    const json = parseJson(content);
    return isAccountProof(json) && typeof json.address === 'string' ? 'case' : false;
  },
  run(path, fs) {
    return [
      runCase(path, () => {
        const p = readJson(fs, path);
        if (!isAccountProof(p) || typeof p.address !== 'string') throw new CaseFailure('proof_malformed', 'not an eth_getProof answer');
        const first = (p.accountProof as unknown[])[0];
        if (typeof first !== 'string' || !/^0x(?:[0-9a-fA-F]{2})+$/.test(first)) throw new CaseFailure('proof_malformed', 'accountProof[0] is not hex');
        // Nothing in the file names a block: the root is the one the proof itself starts from.
        const stateRoot = toHex(keccak_256(hexToBytes(first.slice(2))));
        const what = checkAccountProof(p, p.address as Hex, stateRoot, 'proof');
        return `${what}; unanchored: no header in the vector, stateRoot ${stateRoot} is keccak256(accountProof[0])`;
      }),
    ];
  },
};

const trieTest: VectorFormat = {
  name: 'ethereum-trie-test',
  claimFile(_path, content) {
    return isTrieTest(parseJson(content)) ? 'case' : false;
  },
  run(path, fs) {
    const file = readJson(fs, path);
    if (!isTrieTest(file)) return [invalid(path, 'proof_malformed')];
    // ethereum/tests ships secure and plain variants in the same shape; the file's
    // `source` says which. Without it, either root is accepted and the case says which matched.
    const source = typeof file.source === 'string' ? file.source.toLowerCase() : null;
    const secure = source === null ? null : source.includes('securetrie');
    return Object.entries(file.tests).map(([name, t]) =>
      runCase(`${path}#${name}`, () => {
        const ops = trieOps(t.in);
        const want = String(t.root).toLowerCase();
        const kinds = secure === null ? [false, true] : [secure];
        const hit = kinds.find((s) => rootOf(ops, s) === want);
        if (hit === undefined) throw new CaseFailure('proof_malformed', `rebuilt root differs from ${want}`);
        return secure === null ? (hit ? 'secure trie' : 'plain trie') : undefined;
      }),
    );
  },
};

const header: VectorFormat = {
  name: 'ethereum-header',
  claimFile(_path, content) {
    return isBlock(parseJson(content)) ? 'case' : false;
  },
  run(path, fs) {
    return [
      runCase(path, () => {
        checkHeader(readJson(fs, path) as Json);
      }),
    ];
  },
};

const receipts: VectorFormat = {
  name: 'ethereum-receipts',
  claimFile(_path, content) {
    return isReceiptList(parseJson(content)) ? 'case' : false;
  },
  run(path, fs) {
    return [
      runCase(path, () => {
        const list = readJson(fs, path) as Json[];
        // The header is found by content among the neighbours: the block these receipts name.
        const block = jsonFilesOf(dirname(path), fs).find((f) => isBlock(f.json) && same((f.json as Json).hash, list[0]!.blockHash));
        if (!block) throw new CaseFailure('untrusted_header', `no header of block ${String(list[0]!.blockHash)} next to the receipts`);
        const h = checkHeader(block.json as Json);
        checkReceipts(list, h);
      }),
    ];
  },
};

/** ethereum vector formats for `qiao proof verify`. */
export const FORMATS: VectorFormat[] = [rpcFolder, getProof, trieTest, header, receipts];
