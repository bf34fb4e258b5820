import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { HAVE_VECTORS, vectorPath } from '../helpers/vectors.ts';
import { exitCodeOf, runVectors } from '../../src/cli/vectors/runner.ts';
import { FORMATS } from '../../src/cli/vectors/fabric.ts';
import {
  acceptValidation,
  blockHeaderHash,
  configFromBlock,
  decodeEndorserTransaction,
  decodeEnvelope,
  nOutOfMembers,
  parseBlockFile,
  verifyBlock,
  verifyBlockChain,
  verifyEndorsements,
  type FabricBlock,
} from '../../proofs/fabric/index.ts';
import { PROOF_FAILURES } from '../../proofs/result.ts';
import { decode, bytesField, repeatedBytes } from '../../proofs/fabric/pb.ts';
import { decodeIdentity } from '../../proofs/fabric/tx.ts';
import { pb, type PbIn } from './fixtures/fabric/pbw.ts';
import { toHighS } from './fixtures/fabric/certs.ts';
import {
  assembleTx,
  encodeBlock,
  endorserTx,
  hashOf,
  makeBlock,
  makeChannel,
  makeLedger,
  makeOrg,
  issueCert,
  lifecycleCollections,
  memberOf,
  sigPolicy,
  qsccAnswer,
  type Channel,
  type RawBlock,
} from './fixtures/fabric/network.ts';

const LEDGERS = {
  'fabcar-1.4.1': { file: 'fabcar-1.4.1/blockfile_000000', heads: ['b3c26d05869b7824', '47057c5ae4816d94', '141d3366fc6decd0', '1bd7273d75b2a933', 'e6a0fe3b020ba560', 'e2b9ff7c034dd1ca', '78ebb37735885d7d', '8cf2f48d8609b4d6'] },
  'asset-transfer-basic-2.4.7': {
    file: 'asset-transfer-basic-2.4.7/chains/chains/mychannel/blockfile_000000',
    heads: ['d7ceef4ae72eda74', '1d765a828b15eb3f', 'a7380dd2fd8a71ac', '201754f73645711f', 'e6c2bc1535cea420', '8ae3edf0e97da085', 'c14fb632520fe91e', '8bcfe0010f91ec58', '7c09d1a2a1482d54', '5c3722440f80af61'],
  },
} as const;
type LedgerName = keyof typeof LEDGERS;

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const load = (name: LedgerName): FabricBlock[] => parseBlockFile(readFileSync(vectorPath('fabric', 'blockchain-verifier', LEDGERS[name].file)));
const clone = (b: FabricBlock): FabricBlock => ({ ...b, previousHash: b.previousHash.slice(), dataHash: b.dataHash.slice(), data: b.data.map((d) => d.slice()), metadata: b.metadata.map((m) => m.slice()) });

/** Rebuilds a SIGNATURES metadata entry with one signature replaced. */
function withOrdererSignature(meta: Uint8Array, f: (sig: Uint8Array) => Uint8Array): Uint8Array {
  const m = decode(meta);
  const sigs = repeatedBytes(m, 2).map((s, i) => {
    const d = decode(s);
    return i === 0 ? pb([1, bytesField(d, 1)], [2, f(bytesField(d, 2))]) : s;
  });
  return pb([1, bytesField(m, 1)], ...sigs.map((s): [number, PbIn] => [2, s]));
}

function flip(b: Uint8Array, i: number, mask: number): Uint8Array {
  const out = b.slice();
  out[i % out.length]! ^= mask || 1;
  return out;
}

if (!HAVE_VECTORS) console.warn(`fabric vectors not found at ${vectorPath('fabric')}: vector tests skipped`);

describe.skipIf(!HAVE_VECTORS)('fabric: upstream ledgers (blockchain-verifier)', () => {
  it('qiao proof verify gives every ledger valid, one case per ledger', () => {
    const r = runVectors([vectorPath('fabric')], FORMATS, { now: new Date('2026-01-01T00:00:00Z') });
    expect(r.cases.map((c) => [c.verdict, c.reason])).toEqual([
      ['valid', null],
      ['valid', null],
    ]);
    expect(r.cases).toHaveLength(2);
    expect(exitCodeOf(r.cases)).toBe(0);
  });

  it('gives the same verdicts from randomly named folders (detection by content)', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'qiao-fabric-'));
    try {
      for (const name of Object.keys(LEDGERS)) cpSync(vectorPath('fabric', 'blockchain-verifier', name), join(tmp, randomBytes(6).toString('hex')), { recursive: true });
      const r = runVectors([tmp], FORMATS, { now: new Date('2026-01-01T00:00:00Z') });
      expect(r.cases).toHaveLength(2);
      expect(exitCodeOf(r.cases)).toBe(0);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  for (const name of Object.keys(LEDGERS) as LedgerName[]) {
    it(`${name}: header hashes, chain, orderer signatures and endorsement policies`, () => {
      const blocks = load(name);
      expect(blocks.map((b) => hex(blockHeaderHash(b)).slice(0, 16))).toEqual(LEDGERS[name].heads);
      const r = verifyBlockChain(blocks[0]!, blocks, { trustedHash: blockHeaderHash(blocks[0]!) });
      expect(r.ok, JSON.stringify(!r.ok && r)).toBe(true);
      if (!r.ok) return;
      expect(r.head.number).toBe(BigInt(blocks.length - 1));
      const endorser = r.blocks.flatMap((b) => b.txs).filter((t) => t.headerType === 3);
      expect(endorser.length).toBeGreaterThan(0);
      // Every endorser transaction's policy came from the ledger itself (lscc / _lifecycle / channel config).
      expect(endorser.every((t) => t.policy === 'checked')).toBe(true);
      expect(endorser.some((t) => t.rwsets.some((ns) => ns.writes.length > 0))).toBe(true);
    });
  }

  it('fabcar-1.4.1 learns AND(Org1.peer, Org2.peer) from lscc; basic learns MAJORITY Endorsement from _lifecycle', () => {
    const f = verifyBlockChain(load('fabcar-1.4.1')[0]!, load('fabcar-1.4.1'));
    const b = verifyBlockChain(load('asset-transfer-basic-2.4.7')[0]!, load('asset-transfer-basic-2.4.7'));
    if (!f.ok || !b.ok) throw new Error('ledgers must verify');
    const fab = f.blocks.at(-1)!.chaincodes.get('fabcar')!.policy;
    expect(fab).toMatchObject({ type: 'signature', rule: { n: 2 }, principals: [{ mspId: 'Org1MSP', role: 3 }, { mspId: 'Org2MSP', role: 3 }] });
    expect(b.blocks.at(-1)!.chaincodes.get('basic')!.policy).toMatchObject({ type: 'implicit', rule: 'MAJORITY', subPolicy: 'Endorsement' });
  });

  it('judges certificates at transaction time: the 2.4.7 certificates have expired since', () => {
    const b = load('asset-transfer-basic-2.4.7');
    expect(verifyBlockChain(b[0]!, b, { atTransactionTime: true }).ok).toBe(true);
    const r = verifyBlockChain(b[0]!, b, { at: new Date('2026-11-25T00:00:00Z') });
    expect(r).toMatchObject({ ok: false, reason: 'fabric_identity_invalid' });
    expect(!r.ok && r.detail).toContain('not valid at');
  });

  it('rejects a wrong trusted hash (untrusted_header)', () => {
    const blocks = load('fabcar-1.4.1');
    const r = verifyBlockChain(blocks[0]!, blocks, { trustedHash: new Uint8Array(32) });
    expect(r).toMatchObject({ ok: false, reason: 'untrusted_header' });
  });

  it('property: any flipped envelope byte breaks the data hash', () => {
    const blocks = load('asset-transfer-basic-2.4.7');
    fc.assert(
      fc.property(fc.integer({ min: 1, max: blocks.length - 1 }), fc.nat(), fc.integer({ min: 1, max: 255 }), (bi, pos, mask) => {
        const bs = blocks.map(clone);
        bs[bi]!.data[0] = flip(bs[bi]!.data[0]!, pos, mask);
        expect(verifyBlockChain(bs[0]!, bs)).toMatchObject({ ok: false, reason: 'fabric_data_hash_mismatch' });
      }),
      { numRuns: 40 },
    );
  });

  it('property: any flipped previous_hash byte breaks the chain', () => {
    const blocks = load('fabcar-1.4.1');
    fc.assert(
      fc.property(fc.integer({ min: 1, max: blocks.length - 1 }), fc.nat(31), fc.integer({ min: 1, max: 255 }), (bi, pos, mask) => {
        const bs = blocks.map(clone);
        bs[bi]!.previousHash = flip(bs[bi]!.previousHash, pos, mask);
        expect(verifyBlockChain(bs[0]!, bs)).toMatchObject({ ok: false, reason: 'fabric_hash_chain_broken' });
      }),
      { numRuns: 40 },
    );
  });

  it('property: a flipped orderer signature byte is signature_invalid', () => {
    const blocks = load('asset-transfer-basic-2.4.7');
    fc.assert(
      fc.property(fc.integer({ min: 1, max: blocks.length - 1 }), fc.nat(), fc.integer({ min: 1, max: 255 }), (bi, pos, mask) => {
        const bs = blocks.map(clone);
        bs[bi]!.metadata[0] = withOrdererSignature(bs[bi]!.metadata[0]!, (s) => flip(s, pos, mask));
        expect(verifyBlockChain(bs[0]!, bs)).toMatchObject({ ok: false, reason: 'signature_invalid' });
      }),
      { numRuns: 30 },
    );
  });

  it('rejects the high-S twin of a valid orderer signature, and a block without signatures', () => {
    const bs = load('fabcar-1.4.1').map(clone);
    bs[3]!.metadata[0] = withOrdererSignature(bs[3]!.metadata[0]!, toHighS);
    const r = verifyBlockChain(bs[0]!, bs);
    expect(r).toMatchObject({ ok: false, reason: 'signature_invalid' });
    expect(!r.ok && r.detail).toContain('low-S');
    const cs = load('fabcar-1.4.1').map(clone);
    cs[2]!.metadata[0] = new Uint8Array(0);
    expect(verifyBlockChain(cs[0]!, cs)).toMatchObject({ ok: false, reason: 'insufficient_signatures' });
  });

  it('property: a flipped endorsement signature byte is signature_invalid (verifyEndorsements)', () => {
    const blocks = load('asset-transfer-basic-2.4.7');
    const config = configFromBlock(blocks[0]!);
    const policy = config.policy('/Channel/Application/Endorsement');
    const action = decodeEndorserTransaction(decodeEnvelope(blocks[7]!.data[0]!).data)[0]!;
    expect(verifyEndorsements(action, policy, config.msps)).toMatchObject({ ok: true, endorsers: ['Org1MSP', 'Org2MSP'] });
    fc.assert(
      fc.property(fc.nat(action.endorsements.length - 1), fc.nat(), fc.integer({ min: 1, max: 255 }), (ei, pos, mask) => {
        const endorsements = action.endorsements.map((e, i) => (i === ei ? { ...e, signature: flip(e.signature, pos, mask) } : e));
        expect(verifyEndorsements({ ...action, endorsements }, policy, config.msps)).toMatchObject({ ok: false, reason: 'signature_invalid' });
      }),
      { numRuns: 30 },
    );
  });

  it('rejects an endorser certificate from another CA (fabric_identity_invalid)', () => {
    const blocks = load('fabcar-1.4.1');
    const config = configFromBlock(blocks[0]!);
    const action = decodeEndorserTransaction(decodeEnvelope(blocks[5]!.data[0]!).data)[0]!;
    const rogue = makeOrg('Org1MSP').issue('peer0', 'peer');
    const endorser = decodeIdentity(rogue.identity);
    const endorsements = [{ endorser, signature: action.endorsements[0]!.signature }, action.endorsements[1]!];
    const r = verifyEndorsements({ ...action, endorsements }, nOutOfMembers(1, ['Org1MSP', 'Org2MSP']), config.msps);
    expect(r).toMatchObject({ ok: false, reason: 'fabric_identity_invalid' });
  });

  it('rejects the ledgers under a policy that needs more organisations', () => {
    const three = nOutOfMembers(3, ['Org1MSP', 'Org2MSP', 'Org3MSP']);
    const f = load('fabcar-1.4.1');
    expect(verifyBlockChain(f[0]!, f, { chaincodePolicies: { fabcar: three } })).toMatchObject({ ok: false, reason: 'fabric_endorsement_policy_unsatisfied' });
    const b = load('asset-transfer-basic-2.4.7');
    expect(verifyBlockChain(b[0]!, b, { chaincodePolicies: { basic: three } })).toMatchObject({ ok: false, reason: 'fabric_endorsement_policy_unsatisfied' });
    // Org1 alone does not make a MAJORITY of two orgs either.
    const config = configFromBlock(b[0]!);
    const action = decodeEndorserTransaction(decodeEnvelope(b[8]!.data[0]!).data)[0]!;
    const one = { ...action, endorsements: action.endorsements.filter((e) => e.endorser.mspId === 'Org1MSP') };
    expect(verifyEndorsements(one, config.policy('/Channel/Application/Endorsement'), config.msps)).toMatchObject({ ok: false, reason: 'fabric_endorsement_policy_unsatisfied' });
  });
});

describe('fabric: a channel made in the test', () => {
  const ch: Channel = makeChannel();
  const ledger = makeLedger(ch);
  const enc = (bs: RawBlock[]) => bs.map(encodeBlock);
  const chain = (bs: RawBlock[], opts = {}) => verifyBlockChain(encodeBlock(bs[0]!), enc(bs.slice(1)), opts);
  /** Replaces the last block's data and re-signs it with the orderer, so only the transaction is at fault. */
  const withLastTx = (envelope: Uint8Array, opts: { signers?: Channel['peers']; codes?: number[] } = {}): RawBlock[] => {
    const bs = ledger.blocks.slice(0, -1);
    return [...bs, makeBlock(ch, BigInt(bs.length), hashOf(bs.at(-1)!), [envelope], opts)];
  };

  it('verifies config, a _lifecycle definition and a 2-of-3 endorsed invoke', () => {
    const r = chain(ledger.blocks);
    expect(r.ok, JSON.stringify(!r.ok && r)).toBe(true);
    if (!r.ok) return;
    const tx = r.blocks[2]!.txs[0]!;
    expect(tx).toMatchObject({ chaincode: 'asset', policy: 'checked', endorsers: ['Org1MSP', 'Org3MSP'], txId: ledger.invoke.txId });
    expect(tx.rwsets[0]!.writes[0]!.key).toBe('asset1');
  });

  it('verifyBlock checks one block against the previous one', () => {
    const config = configFromBlock(ledger.blocks[0]!);
    const b1 = verifyBlock(encodeBlock(ledger.blocks[1]!), { config, previous: { number: 0n, hash: hashOf(ledger.blocks[0]!) } });
    expect(b1.ok).toBe(true);
    expect(verifyBlock(encodeBlock(ledger.blocks[2]!), { config, previous: { number: 0n, hash: hashOf(ledger.blocks[0]!) } })).toMatchObject({ ok: false, reason: 'fabric_hash_chain_broken' });
    expect(verifyBlock(new Uint8Array([0x0a, 0xff]), { config })).toMatchObject({ ok: false, reason: 'proof_malformed' });
  });

  it('endorsement by one of three orgs fails MAJORITY', () => {
    const tx = endorserTx(ch, { creator: ch.clients[0]!, endorsers: [ch.peers[0]!], chaincode: 'asset', writes: [{ key: 'a', value: new Uint8Array([1]) }] });
    expect(chain(withLastTx(tx.envelope))).toMatchObject({ ok: false, reason: 'fabric_endorsement_policy_unsatisfied' });
    // Two endorsements from the same org's peers count once.
    const twice = endorserTx(ch, { creator: ch.clients[0]!, endorsers: [ch.peers[0]!, ch.orgs[0]!.issue('peer1', 'peer')], chaincode: 'asset', writes: [{ key: 'a', value: new Uint8Array([1]) }] });
    expect(chain(withLastTx(twice.envelope))).toMatchObject({ ok: false, reason: 'fabric_endorsement_policy_unsatisfied' });
  });

  it('a client is not a peer for Endorsement policies', () => {
    const tx = endorserTx(ch, { creator: ch.clients[0]!, endorsers: [ch.peers[0]!, ch.clients[1]!], chaincode: 'asset', writes: [{ key: 'a', value: new Uint8Array([1]) }] });
    expect(chain(withLastTx(tx.envelope))).toMatchObject({ ok: false, reason: 'fabric_endorsement_policy_unsatisfied' });
  });

  it('rejects an endorser certificate from another CA, and a revoked one', () => {
    const rogue = makeOrg('Org2MSP').issue('peer0', 'peer');
    const tx = endorserTx(ch, { creator: ch.clients[0]!, endorsers: [ch.peers[0]!, rogue], chaincode: 'asset', writes: [{ key: 'a', value: new Uint8Array([1]) }] });
    expect(chain(withLastTx(tx.envelope))).toMatchObject({ ok: false, reason: 'fabric_identity_invalid' });

    const ch2 = makeChannel();
    const bad = ch2.orgs[1]!.issue('peer9', 'peer');
    ch2.orgs[1]!.revoked.push(bad.cert.serial);
    const l2 = makeLedger(ch2);
    const tx2 = endorserTx(ch2, { creator: ch2.clients[0]!, endorsers: [ch2.peers[0]!, bad], chaincode: 'asset', writes: [{ key: 'a', value: new Uint8Array([1]) }] });
    const bs = [...l2.blocks, makeBlock(ch2, 3n, hashOf(l2.blocks[2]!), [tx2.envelope])];
    const r = verifyBlockChain(encodeBlock(bs[0]!), bs.slice(1).map(encodeBlock));
    expect(r).toMatchObject({ ok: false, reason: 'fabric_identity_invalid' });
    expect(!r.ok && r.detail).toContain('revoked');
    // The same ledger without the revoked endorser verifies (the CRL itself parsed and checked).
    expect(verifyBlockChain(encodeBlock(l2.blocks[0]!), l2.blocks.slice(1).map(encodeBlock)).ok).toBe(true);
  });

  it('chains through intermediate CAs listed in the MSP, and not through others', () => {
    const ch3 = makeChannel();
    const org2 = ch3.orgs[1]!;
    const mid = issueCert({ subject: { o: 'org2', cn: 'ica.org2' }, issuer: org2.ca, ca: true });
    const stray = issueCert({ subject: { o: 'org2', cn: 'stray.org2' }, issuer: org2.ca, ca: true });
    org2.intermediates.push(mid);
    const l3 = makeLedger(ch3);
    const viaMid = org2.issue('peer5', 'peer', mid);
    const viaStray = org2.issue('peer6', 'peer', stray);
    const mk = (e: typeof viaMid) => {
      const tx = endorserTx(ch3, { creator: ch3.clients[0]!, endorsers: [ch3.peers[0]!, e], chaincode: 'asset', writes: [{ key: 'k', value: new Uint8Array([2]) }] });
      const bs = [...l3.blocks, makeBlock(ch3, 3n, hashOf(l3.blocks[2]!), [tx.envelope])];
      return verifyBlockChain(encodeBlock(bs[0]!), bs.slice(1).map(encodeBlock));
    };
    expect(mk(viaMid).ok).toBe(true);
    expect(mk(viaStray)).toMatchObject({ ok: false, reason: 'fabric_identity_invalid' });
  });

  it('collection-level policies from _lifecycle, and key-level policies from the caller', () => {
    const defs = lifecycleCollections(ch, ch.clients[0]!, ch.peers.slice(0, 2), 'asset', [{ name: 'org3only', policy: sigPolicy(1, [memberOf('Org3MSP')]) }]);
    const base = [...ledger.blocks, makeBlock(ch, 3n, hashOf(ledger.blocks[2]!), [defs.envelope])];
    const withTx = (endorsers: Channel['peers']) => {
      const tx = endorserTx(ch, { creator: ch.clients[0]!, endorsers, chaincode: 'asset', writes: [], privateWrites: [{ collection: 'org3only', key: 'secret', value: new Uint8Array([7]) }] });
      return chain([...base, makeBlock(ch, 4n, hashOf(base[3]!), [tx.envelope])]);
    };
    const good = withTx([ch.peers[2]!]);
    expect(good.ok, JSON.stringify(!good.ok && good)).toBe(true);
    if (good.ok) {
      const coll = good.blocks[4]!.txs[0]!.rwsets[0]!.collections[0]!;
      expect(coll.collection).toBe('org3only');
      expect(coll.hashedWrites).toHaveLength(1);
      expect(coll.pvtRwsetHash).toHaveLength(32);
    }
    expect(withTx([ch.peers[0]!, ch.peers[1]!])).toMatchObject({ ok: false, reason: 'fabric_endorsement_policy_unsatisfied' });
    const keyPolicy = (ns: string, key: string) => (ns === 'asset' && key === 'asset1' ? nOutOfMembers(3, ['Org1MSP', 'Org2MSP', 'Org3MSP']) : undefined);
    expect(chain(ledger.blocks, { keyPolicy })).toMatchObject({ ok: false, reason: 'fabric_endorsement_policy_unsatisfied' });
  });

  it('checks certificate validity at the time the caller gives', () => {
    expect(chain(ledger.blocks, { at: new Date('2030-01-01T00:00:00Z') }).ok).toBe(true);
    const r = chain(ledger.blocks, { at: new Date('2050-01-01T00:00:00Z') });
    expect(r).toMatchObject({ ok: false, reason: 'fabric_identity_invalid' });
    expect(!r.ok && r.detail).toContain('not valid at');
  });

  it('property: a tampered endorsement signature is signature_invalid even when the block is re-signed', () => {
    fc.assert(
      fc.property(fc.nat(1), fc.nat(), fc.integer({ min: 1, max: 255 }), (ei, pos, mask) => {
        const p = ledger.invoke.parts;
        const endorsements = p.endorsements.map((e, i) => {
          if (i !== ei) return e;
          const d = decode(e);
          return pb([1, bytesField(d, 1)], [2, flip(bytesField(d, 2), pos, mask)]);
        });
        const env = assembleTx(ch.clients[1]!, { ...p, endorsements });
        expect(chain(withLastTx(env))).toMatchObject({ ok: false, reason: 'signature_invalid' });
      }),
      { numRuns: 20 },
    );
  });

  it('rejects a transaction whose proposal hash does not bind its header', () => {
    const p = ledger.invoke.parts;
    const env = assembleTx(ch.clients[1]!, { ...p, ccpp: pb([1, pb([1, 'other'])]) });
    expect(chain(withLastTx(env))).toMatchObject({ ok: false, reason: 'fabric_proposal_hash_mismatch' });
  });

  it('rejects a creator outside /Channel/Application/Writers and a forged creator signature', () => {
    const tx = endorserTx(ch, { creator: ch.peers[0]!, endorsers: [ch.peers[0]!, ch.peers[1]!], chaincode: 'asset', writes: [{ key: 'a', value: new Uint8Array([1]) }] });
    expect(chain(withLastTx(tx.envelope))).toMatchObject({ ok: false, reason: 'fabric_creator_unauthorized' });
    const env = decode(ledger.invoke.envelope);
    const forged = pb([1, bytesField(env, 1)], [2, flip(bytesField(env, 2), 10, 0x40)]);
    expect(chain(withLastTx(forged))).toMatchObject({ ok: false, reason: 'signature_invalid' });
  });

  it('orderer signatures: a peer cannot sign blocks; unknown policy can be required', () => {
    expect(chain(withLastTx(ledger.invoke.envelope, { signers: [ch.peers[0]!] }))).toMatchObject({ ok: false, reason: 'insufficient_signatures' });
    const tx = endorserTx(ch, { creator: ch.clients[0]!, endorsers: [ch.peers[0]!], chaincode: 'unknowncc', writes: [{ key: 'a', value: new Uint8Array([1]) }] });
    const r = chain(withLastTx(tx.envelope));
    expect(r.ok && r.blocks[2]!.txs[0]!.policy).toBe('unknown');
    expect(chain(withLastTx(tx.envelope), { requireKnownPolicies: true })).toMatchObject({ ok: false, reason: 'fabric_policy_unknown' });
  });

  it('a transaction flagged invalid is not endorsement-checked, but still hashed', () => {
    const tx = endorserTx(ch, { creator: ch.clients[0]!, endorsers: [ch.peers[0]!], chaincode: 'asset', writes: [{ key: 'a', value: new Uint8Array([1]) }] });
    const r = chain(withLastTx(tx.envelope, { codes: [10] }));
    expect(r.ok && r.blocks[2]!.txs[0]).toMatchObject({ validationCode: 10, policy: 'not_checked' });
  });

  it('acceptValidation: k organisations of signed qscc answers', () => {
    const msps = configFromBlock(ledger.blocks[0]!).msps;
    const env = ledger.invoke.envelope;
    const id = ledger.invoke.txId;
    const answers = ch.peers.map((p) => ({ proposalResponse: qsccAnswer(p, env, 0) }));
    expect(acceptValidation(id, answers.slice(0, 2), 2, msps, { envelope: env })).toMatchObject({ ok: true, organisations: ['Org1MSP', 'Org2MSP'] });
    expect(acceptValidation(id, answers.slice(0, 2), 3, msps)).toMatchObject({ ok: false, reason: 'insufficient_signatures' });
    const samePeerOrg = [answers[0]!, { proposalResponse: qsccAnswer(ch.orgs[0]!.issue('peer1', 'peer'), env, 0) }];
    expect(acceptValidation(id, samePeerOrg, 2, msps)).toMatchObject({ ok: false, reason: 'insufficient_signatures' });
    expect(acceptValidation(id, [answers[0]!, { proposalResponse: qsccAnswer(ch.peers[1]!, env, 11) }], 1, msps)).toMatchObject({ ok: false, reason: 'fabric_tx_invalid' });
    expect(acceptValidation('00'.repeat(32), answers, 2, msps)).toMatchObject({ ok: false, reason: 'fabric_answer_mismatch' });
    expect(acceptValidation(id, answers, 2, msps, { envelope: ledger.define.envelope })).toMatchObject({ ok: false, reason: 'fabric_answer_mismatch' });
    expect(acceptValidation(id, [{ proposalResponse: qsccAnswer(ch.clients[0]!, env, 0) }], 1, msps)).toMatchObject({ ok: false, reason: 'fabric_identity_invalid' });
    expect(acceptValidation(id, [{ proposalResponse: qsccAnswer(makeOrg('Org1MSP').issue('peer0', 'peer'), env, 0) }], 1, msps)).toMatchObject({ ok: false, reason: 'fabric_identity_invalid' });
    expect(acceptValidation(id, [{ proposalResponse: qsccAnswer(ch.peers[0]!, env, 0, { chaincode: 'mycc' }) }], 1, msps)).toMatchObject({ ok: false, reason: 'fabric_answer_mismatch' });
    expect(acceptValidation(id, answers, 0, msps)).toMatchObject({ ok: false, reason: 'expectation_invalid' });
  });

  it('property: a flipped byte in the signed part of a qscc answer is always rejected', () => {
    const msps = configFromBlock(ledger.blocks[0]!).msps;
    const answer = qsccAnswer(ch.peers[0]!, ledger.invoke.envelope, 0);
    fc.assert(
      fc.property(fc.nat(answer.length - 1), fc.integer({ min: 1, max: 255 }), (pos, mask) => {
        const tampered = flip(answer, pos, mask);
        const r = acceptValidation(ledger.invoke.txId, [{ proposalResponse: tampered }], 1, msps, { envelope: ledger.invoke.envelope });
        if (!r.ok) return void expect(PROOF_FAILURES).toContain(r.reason);
        // Accepted only when the flip hit an unsigned field (version, the unsigned response copy): the signed parts are intact.
        const a = decode(answer);
        const t = decode(tampered);
        expect(hex(bytesField(t, 5))).toBe(hex(bytesField(a, 5)));
        expect(hex(bytesField(t, 6))).toBe(hex(bytesField(a, 6)));
      }),
      { numRuns: 200 },
    );
  });

  it('never throws on garbage blocks', () => {
    const config = configFromBlock(ledger.blocks[0]!);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const r = verifyBlock(bytes, { config, previous: { number: 0n, hash: new Uint8Array(32) } });
        expect(r.ok).toBe(false);
      }),
      { numRuns: 200 },
    );
  });
});
