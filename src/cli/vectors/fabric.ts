import { join } from 'node:path';
import { blockDataHash, parseBlockFile, type FabricBlock } from '../../../proofs/fabric/block.ts';
import { configFromBlock } from '../../../proofs/fabric/config.ts';
import { verifyBlockChain } from '../../../proofs/fabric/verify.ts';
import type { VectorCase, VectorFormat, VectorFs } from './types.ts';

/**
 * hyperledger-labs/blockchain-verifier test ledgers: a folder holding a JSON
 * description (`blockHeight`, per-block data `hashes`, `numTransactions`,
 * `ledgers[].blockFile`) and the peer block file it names. One ledger = one
 * case; the JSON states no verdict, so every ledger must verify valid, and the
 * stated heights, data hashes and transaction counts must match.
 */
interface LedgerDescription {
  blockHeight: number;
  hashes?: string[];
  numTransactions?: number[];
  ledgers: { name?: string; blockFile: string }[];
}

const MAX_JSON = 1 << 20;

function asDescription(content: Buffer): LedgerDescription | null {
  if (content.length > MAX_JSON) return null;
  const first = content.subarray(0, 64).toString('utf8').trimStart();
  if (!first.startsWith('{')) return null;
  let v: unknown;
  try {
    v = JSON.parse(content.toString('utf8'));
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const d = v as Record<string, unknown>;
  if (typeof d.blockHeight !== 'number' || !Array.isArray(d.ledgers)) return null;
  if (!d.ledgers.every((l) => typeof l === 'object' && l !== null && typeof (l as Record<string, unknown>).blockFile === 'string')) return null;
  return d as unknown as LedgerDescription;
}

function findDescription(dir: string, fs: VectorFs): LedgerDescription | null {
  let entries;
  try {
    entries = fs.list(dir);
  } catch {
    return null;
  }
  for (const e of entries) {
    if (e.dir) continue;
    let content: Buffer;
    try {
      content = fs.read(join(dir, e.name));
    } catch {
      continue;
    }
    const d = asDescription(content);
    if (d && d.ledgers.every((l) => fs.exists(join(dir, l.blockFile)))) return d;
  }
  return null;
}

/** A peer block file whose first block is a config block. */
function asBlockFile(content: Buffer): FabricBlock[] | null {
  if (content.length < 16) return null;
  try {
    const blocks = parseBlockFile(content);
    if (blocks.length === 0 || blocks[0]!.number !== 0n) return null;
    configFromBlock(blocks[0]!);
    return blocks;
  } catch {
    return null;
  }
}

function verifyLedger(blocks: FabricBlock[]): { verdict: 'valid' | 'invalid'; reason: string | null } {
  // Certificates are judged at each transaction's own time, as the peers that committed it did.
  const r = verifyBlockChain(blocks[0]!, blocks, { atTransactionTime: true });
  if (!r.ok) return { verdict: 'invalid', reason: r.reason };
  return { verdict: 'valid', reason: null };
}

function runDescribed(dir: string, fs: VectorFs): VectorCase[] {
  const d = findDescription(dir, fs);
  if (!d) throw new Error('no ledger description in folder');
  const out: VectorCase[] = [];
  for (const l of d.ledgers) {
    const name = d.ledgers.length > 1 ? `${dir}#${l.name ?? l.blockFile}` : dir;
    const blocks = asBlockFile(fs.read(join(dir, l.blockFile)));
    if (!blocks) {
      out.push({ case: name, expected: null, verdict: 'invalid', reason: 'proof_malformed' });
      continue;
    }
    const mismatch = (): string | null => {
      if (blocks.length !== d.blockHeight) return 'height_mismatch';
      for (const [i, b] of blocks.entries()) {
        const h = d.hashes?.[i];
        if (h !== undefined && Buffer.from(blockDataHash(b.data)).toString('hex') !== h.toLowerCase()) return 'fabric_data_hash_mismatch';
        const n = d.numTransactions?.[i];
        if (n !== undefined && b.data.length !== n) return 'proof_malformed';
      }
      return null;
    };
    const m = mismatch();
    if (m) {
      out.push({ case: name, expected: null, verdict: 'invalid', reason: m });
      continue;
    }
    out.push({ case: name, expected: null, ...verifyLedger(blocks) });
  }
  return out;
}

export const fabricLedger: VectorFormat = {
  name: 'fabric-ledger',
  claimDir: (dir, fs) => findDescription(dir, fs) !== null,
  claimFile(_path, content) {
    if (asDescription(content)) return 'helper';
    return asBlockFile(content) ? 'case' : false;
  },
  run(path, fs) {
    let isDir = false;
    try {
      fs.list(path);
      isDir = true;
    } catch {
      isDir = false;
    }
    if (isDir) return runDescribed(path, fs);
    const blocks = asBlockFile(fs.read(path));
    if (!blocks) return [{ case: path, expected: null, verdict: 'invalid', reason: 'proof_malformed' }];
    return [{ case: path, expected: null, ...verifyLedger(blocks) }];
  },
};

/** fabric vector formats for `qiao proof verify`. */
export const FORMATS: VectorFormat[] = [fabricLedger];
