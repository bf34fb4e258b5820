import { readFileSync } from 'node:fs';
import { SigningKey, encodeRlp, keccak256, toUtf8Bytes } from 'ethers';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hex } from '../../src/domain/hex.ts';
import { startAnvil, type AnvilProcess } from '../../src/governance/anvil.ts';
import { hashHeader } from '../../proofs/evm/header.ts';
import { bftQuorum, decodeBftExtraData, validatorsFromContractProof, verifyBftChain, verifyBftHeader } from '../../proofs/qbft/index.ts';
import { isProofFailure } from '../../proofs/result.ts';
import { QBFT_FAILURES } from '../../proofs/qbft/reasons.ts';
import { buildBftHeader, buildChain, buildGenesis, makeValidators, type Variant } from './fixtures/qbft/build.ts';
import { fixture } from './fixtures/qbft/generate.ts';

/**
 * No upstream QBFT / IBFT 2.0 vectors exist. The headers here are built by
 * test/proofs/fixtures/qbft/build.ts, an independent encoding of Besu's
 * header and extraData formats written with ethers (its RLP, keccak and
 * signer), with keys made from fixed seeds; proofs/qbft must agree with it
 * byte for byte (hashes, seal digests) and reject every mutation below.
 */
const VARIANTS: Variant[] = ['qbft', 'ibft2'];
const FIXTURE = JSON.parse(readFileSync(new URL('./fixtures/qbft/bft-chain.json', import.meta.url), 'utf8')) as ReturnType<typeof fixture>;

const addrsOf = (vals: { address: string }[]) => vals.map((v) => v.address);
const reasonOf = (r: { ok: boolean; reason?: string }) => (r.ok ? 'ok' : r.reason);

describe('qbft reasons', () => {
  it('are part of the closed set', () => {
    for (const r of QBFT_FAILURES) expect(isProofFailure(r)).toBe(true);
  });
  it('quorum is ceil(2n/3) as Besu computes it', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 10, 21].map(bftQuorum)).toEqual([1, 2, 2, 3, 4, 4, 5, 7, 14]);
  });
});

describe('committed fixture (test/proofs/fixtures/qbft/bft-chain.json)', () => {
  it('is what generate.ts produces (deterministic RFC 6979 signatures)', () => {
    expect(JSON.parse(JSON.stringify(fixture()))).toEqual(FIXTURE);
  });

  it('has the hand-checked QBFT extraData layout of block 2', () => {
    // f9015b: list of 347 bytes = a0+32 (vanity) + f854+84 (4 x 94+20 validators)
    // + d7+23 (vote [94+ab*20, 81ff] = add) + 02 (round 2 as a scalar) + f8c9+201 (3 x b841+65 seals).
    const x = FIXTURE.qbft.headers[1]!.extraData!;
    const v = FIXTURE.qbft.validators.map((a) => `94${a.slice(2)}`).join('');
    expect(x.startsWith(`0xf9015ba0${'00'.repeat(32)}f854${v}d794${'ab'.repeat(20)}81ff02f8c9b841`)).toBe(true);
    expect((x.length - 2) / 2).toBe(3 + 347);
    // The same block in IBFT 2.0: vote type 0xff too, round as 4 bytes (84 00000002).
    const y = FIXTURE.ibft2.headers[1]!.extraData!;
    expect(y.includes(`d794${'ab'.repeat(20)}81ff8400000002f8c9b841`)).toBe(true);
    // IBFT 2.0 block 1 has no vote: RLP null (80), where QBFT writes an empty list (c0).
    expect(FIXTURE.ibft2.headers[0]!.extraData!.includes(`${v}808400000000f8c9`)).toBe(true);
    expect(FIXTURE.qbft.headers[0]!.extraData!.includes(`${v}c080f8c9`)).toBe(true);
  });

  for (const variant of VARIANTS) {
    it(`${variant}: verifies as a chain from the genesis validators, with Besu's on-chain hashes`, () => {
      const f = FIXTURE[variant];
      // Genesis keeps its extraData in the hash: the plain header hash.
      const g = hashHeader(f.genesis);
      expect(g.ok && g.hash).toBe(f.genesis.hash);
      const r = verifyBftChain(f.validators, f.headers, { variant, trustedParentHash: f.genesis.hash as Hex });
      expect(r).toMatchObject({ ok: true, number: 3n, hash: f.headers[2]!.hash, verified: 3 });
      const one = verifyBftHeader(f.headers[1]!, f.validators, variant);
      expect(one.ok && one.signers.length).toBe(3);
      // The on-chain hash is not keccak(RLP(header)) of the sealed header.
      const plain = hashHeader(f.headers[0]);
      expect(plain.ok && plain.hash).not.toBe(f.headers[0]!.hash);
    });
  }

  it('a header of one variant does not parse as the other', () => {
    expect(reasonOf(verifyBftHeader(FIXTURE.qbft.headers[1]!, FIXTURE.qbft.validators, 'ibft2'))).toBe('bft_extra_data_malformed');
    expect(reasonOf(verifyBftHeader(FIXTURE.ibft2.headers[0]!, FIXTURE.ibft2.validators, 'qbft'))).toBe('bft_extra_data_malformed');
  });
});

describe('seal checks (fast-check mutations)', () => {
  const vals = makeValidators(7, 'mutations');
  const addrs = addrsOf(vals);
  const outsider = new SigningKey(keccak256(toUtf8Bytes('not a validator')));
  const parentHash = keccak256(toUtf8Bytes('parent'));
  const header = (variant: Variant, sealers: SigningKey[], extra: Partial<Parameters<typeof buildBftHeader>[0]> = {}) =>
    buildBftHeader({ variant, number: 10n, parentHash, nextValidators: addrs, sealers, round: 3, ...extra });
  const variantArb = fc.constantFrom<Variant>('qbft', 'ibft2');
  const quorumSubset = fc.shuffledSubarray(vals, { minLength: bftQuorum(7) });

  it('accepts any quorum of distinct parent validators, in any order', () => {
    fc.assert(
      fc.property(variantArb, quorumSubset, (variant, signers) => {
        const r = verifyBftHeader(header(variant, signers.map((v) => v.key)), addrs, variant);
        expect(r.ok && r.signers.length).toBe(signers.length);
      }),
      { numRuns: 20 },
    );
  });

  it('rejects a flipped byte in any seal', () => {
    fc.assert(
      fc.property(variantArb, fc.nat(4), fc.nat(64), fc.integer({ min: 1, max: 255 }), (variant, which, at, x) => {
        const h = header(variant, vals.slice(0, 5).map((v) => v.key));
        const ex = decodeBftExtraData(Buffer.from(h.extraData!.slice(2), 'hex'), variant);
        if (typeof ex === 'string') throw new Error(ex);
        const hex = Buffer.from(ex.seals[which]!).toString('hex');
        const pos = h.extraData!.indexOf(hex);
        const bytes = Buffer.from(h.extraData!.slice(2), 'hex');
        bytes[(pos - 2) / 2 + at]! ^= x;
        const r = verifyBftHeader({ ...h, extraData: `0x${bytes.toString('hex')}` }, addrs, variant);
        expect(r.ok).toBe(false);
        expect(['signature_invalid', 'bft_unknown_signer']).toContain(reasonOf(r));
      }),
      { numRuns: 60 },
    );
  });

  it('rejects a seal by a key outside the parent set', () => {
    fc.assert(
      fc.property(variantArb, quorumSubset, fc.nat(), (variant, signers, at) => {
        const keys = signers.map((v) => v.key);
        keys.splice(at % (keys.length + 1), 0, outsider);
        expect(reasonOf(verifyBftHeader(header(variant, keys), addrs, variant))).toBe('bft_unknown_signer');
      }),
      { numRuns: 20 },
    );
  });

  it('rejects a validator sealing twice, even when the distinct seals reach quorum', () => {
    fc.assert(
      fc.property(variantArb, quorumSubset, fc.nat(), (variant, signers, at) => {
        const keys = signers.map((v) => v.key);
        keys.push(keys[at % keys.length]!);
        expect(reasonOf(verifyBftHeader(header(variant, keys), addrs, variant))).toBe('bft_duplicate_seal');
      }),
      { numRuns: 20 },
    );
  });

  it('rejects fewer than ceil(2n/3) seals', () => {
    fc.assert(
      fc.property(variantArb, fc.shuffledSubarray(vals, { maxLength: bftQuorum(7) - 1 }), (variant, signers) => {
        expect(reasonOf(verifyBftHeader(header(variant, signers.map((v) => v.key)), addrs, variant))).toBe('insufficient_signatures');
      }),
      { numRuns: 20 },
    );
  });

  it('rejects seals over another round; the on-chain hash ignores the round', () => {
    fc.assert(
      fc.property(variantArb, fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: 1000 }), (variant, round, other) => {
        fc.pre(round !== other);
        const keys = vals.slice(0, 5).map((v) => v.key);
        const good = header(variant, keys, { round });
        // Signed at another round than the header states.
        const bad = header(variant, keys, { round, signRound: other });
        expect(bad.hash).toBe(good.hash);
        expect(reasonOf(verifyBftHeader(good, addrs, variant))).toBe('ok');
        expect(reasonOf(verifyBftHeader(bad, addrs, variant))).toBe('bft_unknown_signer');
        // The verifier's own seal hash at a wrong round fails the honest header too.
        expect(reasonOf(verifyBftHeader(good, addrs, variant, { sealRound: other }))).toBe('bft_unknown_signer');
      }),
      { numRuns: 20 },
    );
  });

  it('rejects the wrong parent validator set', () => {
    const others = addrsOf(makeValidators(7, 'another set'));
    fc.assert(
      fc.property(variantArb, fc.integer({ min: 1, max: 7 }), (variant, swapped) => {
        // Replace `swapped` members of the set by strangers: the seals of the replaced members no longer count.
        const trusted = [...others.slice(0, swapped), ...addrs.slice(swapped)];
        const r = verifyBftHeader(header(variant, vals.slice(0, 5).map((v) => v.key)), trusted, variant);
        expect(reasonOf(r)).toBe('bft_unknown_signer');
      }),
      { numRuns: 14 },
    );
  });

  it('rejects a changed header field, a wrong hash field and bad inputs', () => {
    for (const variant of VARIANTS) {
      const h = header(variant, vals.slice(0, 5).map((v) => v.key));
      expect(reasonOf(verifyBftHeader({ ...h, stateRoot: keccak256('0x01'), hash: undefined }, addrs, variant))).toBe('bft_unknown_signer');
      expect(reasonOf(verifyBftHeader({ ...h, stateRoot: keccak256('0x01') }, addrs, variant))).toBe('header_hash_mismatch');
      expect(reasonOf(verifyBftHeader({ ...h, extraData: '0x1234' }, addrs, variant))).toBe('bft_extra_data_malformed');
      expect(reasonOf(verifyBftHeader({ ...h, number: 'ten' }, addrs, variant))).toBe('header_malformed');
      expect(reasonOf(verifyBftHeader(h, [], variant))).toBe('expectation_invalid');
      expect(reasonOf(verifyBftHeader(h, [addrs[0]!, addrs[0]!], variant))).toBe('expectation_invalid');
      expect(reasonOf(verifyBftHeader(h, addrs, 'clique' as Variant))).toBe('expectation_invalid');
      expect(reasonOf(verifyBftHeader(buildGenesis(variant, addrs), addrs, variant))).toBe('header_malformed');
    }
  });
});

describe('extraData codecs', () => {
  const vals = makeValidators(4, 'codec');
  const addrs = addrsOf(vals);
  const keys = vals.slice(0, 3).map((v) => v.key);

  it('accept add and drop votes in the encoding of each variant', () => {
    fc.assert(
      fc.property(fc.constantFrom<Variant>('qbft', 'ibft2'), fc.boolean(), fc.uint8Array({ minLength: 20, maxLength: 20 }), fc.integer({ min: 0, max: 0x7fffffff }), (variant, add, who, round) => {
        const recipient = `0x${Buffer.from(who).toString('hex')}`;
        const h = buildBftHeader({ variant, number: 5n, parentHash: keccak256('0x05'), nextValidators: addrs, sealers: keys, vote: { recipient, add }, round });
        const ex = decodeBftExtraData(Buffer.from(h.extraData!.slice(2), 'hex'), variant);
        expect(typeof ex === 'string' ? ex : ex.round).toBe(round);
        expect(reasonOf(verifyBftHeader(h, addrs, variant))).toBe('ok');
      }),
      { numRuns: 30 },
    );
  });

  it('reject rounds, votes and vanity Besu would not decode', () => {
    const enc = (items: unknown[]) => Buffer.from(encodeRlp(items as never).slice(2), 'hex');
    const v = addrs;
    const vanity = `0x${'00'.repeat(32)}`;
    const bad: [Variant, unknown[]][] = [
      ['qbft', [vanity, v, [], '0x0001', []]], // round with a leading zero
      ['qbft', [vanity, v, [], '0x0100000000', []]], // round over 4 bytes
      ['ibft2', [vanity, v, '0x', '0x000001', []]], // IBFT 2.0 round must be 4 bytes
      ['ibft2', [vanity, v, [], '0x00000001', []]], // IBFT 2.0 "no vote" is '' not []
      ['qbft', [vanity, v, '0x', '0x01', []]], // QBFT "no vote" is [] not ''
      ['qbft', [vanity, v, [v[0], '0x00'], '0x01', []]], // QBFT drop is '' not 0x00
      ['ibft2', [vanity, v, [v[0], '0x01'], '0x00000001', []]], // neither add nor drop
      ['qbft', [`0x${'00'.repeat(31)}`, v, [], '0x01', []]], // vanity must be 32 bytes
      ['qbft', [vanity, ['0x1234'], [], '0x01', []]], // validator not 20 bytes
      ['qbft', [vanity, v, [], '0x01']], // 4 items
      ['ibft2', [vanity, v, '0x', '0x80000000', []]], // round over Java int
    ];
    for (const [variant, items] of bad) expect(typeof decodeBftExtraData(enc(items), variant)).toBe('string');
    expect(typeof decodeBftExtraData(enc([vanity, v, [], '0x01', []]), 'qbft')).toBe('object');
  });

  it('refuses a chain whose header names no validators without a contract source', () => {
    const g = keccak256('0x00');
    const b1 = buildBftHeader({ variant: 'qbft', number: 1n, parentHash: g, nextValidators: [], sealers: keys });
    const b2 = buildBftHeader({ variant: 'qbft', number: 2n, parentHash: b1.hash!, nextValidators: [], sealers: keys });
    expect(reasonOf(verifyBftChain(addrs, [b1, b2]))).toBe('bft_extra_data_malformed');
  });
});

describe('chain walking and validator hand-off', () => {
  it('follows a validator set change named in extraData, and refuses the old set after it', () => {
    for (const variant of VARIANTS) {
      const oldSet = makeValidators(4, 'old');
      const newSet = makeValidators(5, 'new');
      const g = buildGenesis(variant, addrsOf(oldSet));
      const b1 = buildBftHeader({ variant, number: 1n, parentHash: g.hash!, nextValidators: addrsOf(newSet), sealers: oldSet.slice(0, 3).map((v) => v.key) });
      const b2 = buildBftHeader({ variant, number: 2n, parentHash: b1.hash!, nextValidators: addrsOf(newSet), sealers: newSet.slice(0, 4).map((v) => v.key) });
      const r = verifyBftChain(addrsOf(oldSet), [b1, b2], { variant, trustedParentHash: g.hash as Hex });
      expect(r.ok && r.validators).toEqual(addrsOf(newSet));
      const stale = buildBftHeader({ variant, number: 2n, parentHash: b1.hash!, nextValidators: addrsOf(oldSet), sealers: oldSet.map((v) => v.key) });
      expect(reasonOf(verifyBftChain(addrsOf(oldSet), [b1, stale], { variant }))).toBe('bft_unknown_signer');
    }
  });

  it('rejects broken parent links, skipped heights and a wrong trusted parent', () => {
    const vals = makeValidators(4, 'links');
    const chain = buildChain('qbft', vals, 4);
    const addrs = addrsOf(vals);
    expect(reasonOf(verifyBftChain(addrs, chain.slice(1)))).toBe('ok');
    expect(reasonOf(verifyBftChain(addrs, [chain[1]!, chain[3]!]))).toBe('bft_chain_broken');
    expect(reasonOf(verifyBftChain(addrs, chain.slice(1), { trustedParentHash: keccak256('0x00') as Hex }))).toBe('bft_chain_broken');
    // A fork at height 2 sealed by the same validators is valid alone but does not link to height 3.
    const fork = buildBftHeader({ variant: 'qbft', number: 2n, parentHash: chain[1]!.hash!, nextValidators: addrs, sealers: vals.slice(0, 3).map((v) => v.key), round: 7, stateRoot: keccak256('0x07') });
    expect(reasonOf(verifyBftChain(addrs, [chain[1]!, fork, chain[3]!]))).toBe('bft_chain_broken');
    expect(reasonOf(verifyBftChain(addrs, []))).toBe('expectation_invalid');
  });
});

describe('contract mode: validators proven from the validator contract storage (anvil)', () => {
  let anvil: AnvilProcess;
  beforeAll(async () => {
    anvil = await startAnvil({ chainId: 990_311 });
  }, 30_000);
  afterAll(async () => {
    await anvil?.stop();
  });

  const rpc = async (method: string, params: unknown[]): Promise<unknown> => {
    const res = await fetch(anvil.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) });
    const body = (await res.json()) as { result?: unknown; error?: { message: string } };
    if (body.error) throw new Error(body.error.message);
    return body.result;
  };
  const word = (n: bigint) => `0x${n.toString(16).padStart(64, '0')}`;

  it('reads an address[] at slot 3 through account and storage proofs, and chains headers with it', async () => {
    const vals = makeValidators(4, 'contract');
    const contract = '0x0000000000000000000000000000000000c0ffee';
    await rpc('anvil_setCode', [contract, '0x00']);
    const slot = 3n;
    const first = BigInt(keccak256(word(slot)));
    await rpc('anvil_setStorageAt', [contract, word(slot), word(4n)]);
    for (const [i, v] of vals.entries()) await rpc('anvil_setStorageAt', [contract, word(first + BigInt(i)), word(BigInt(v.address))]);
    await rpc('anvil_mine', ['0x1']);
    const block = (await rpc('eth_getBlockByNumber', ['latest', false])) as { stateRoot: Hex; number: string };
    const keys = [word(slot), ...vals.map((_, i) => word(first + BigInt(i)))];
    const proof = (await rpc('eth_getProof', [contract, keys, block.number])) as { accountProof: Hex[]; storageProof: { key: Hex; value: Hex; proof: Hex[] }[] };
    const input = { address: contract as Hex, slot: word(slot) as Hex, accountProof: proof.accountProof, storageProof: proof.storageProof };

    const r = validatorsFromContractProof(block.stateRoot, input);
    expect(r.ok && r.validators).toEqual(addrsOf(vals));

    expect(reasonOf(validatorsFromContractProof(keccak256('0x00') as Hex, input))).toBe('account_proof_invalid');
    expect(reasonOf(validatorsFromContractProof(block.stateRoot, { ...input, storageProof: input.storageProof.slice(0, 3) }))).toBe('missing_slot');
    expect(reasonOf(validatorsFromContractProof(block.stateRoot, { ...input, slot: word(4n) as Hex }))).toBe('missing_slot');
    const tampered = input.storageProof.map((s, i) => (i === 2 ? { ...s, proof: s.proof.map((n, j) => (j === s.proof.length - 1 ? (`${n.slice(0, -2)}00` as Hex) : n)) } : s));
    expect(reasonOf(validatorsFromContractProof(block.stateRoot, { ...input, storageProof: tampered }))).toBe('storage_proof_invalid');

    // Contract mode: extraData names no validators; each next set comes from the parent's state.
    const b1 = buildBftHeader({ variant: 'qbft', number: 1n, parentHash: keccak256('0x01'), nextValidators: [], sealers: vals.slice(0, 3).map((v) => v.key), stateRoot: block.stateRoot });
    const b2 = buildBftHeader({ variant: 'qbft', number: 2n, parentHash: b1.hash!, nextValidators: [], sealers: vals.slice(1, 4).map((v) => v.key) });
    const chain = verifyBftChain(addrsOf(vals), [b1, b2], { validatorsAfter: (h) => validatorsFromContractProof(h.stateRoot, input) });
    expect(chain.ok).toBe(true);
    const outsiders = makeValidators(3, 'not in contract');
    const b2bad = buildBftHeader({ variant: 'qbft', number: 2n, parentHash: b1.hash!, nextValidators: [], sealers: outsiders.map((v) => v.key) });
    expect(reasonOf(verifyBftChain(addrsOf(vals), [b1, b2bad], { validatorsAfter: (h) => validatorsFromContractProof(h.stateRoot, input) }))).toBe('bft_unknown_signer');
  }, 30_000);
});
