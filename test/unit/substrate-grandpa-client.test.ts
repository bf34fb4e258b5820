import { describe, expect, it } from 'vitest';
import { blake2b } from '@noble/hashes/blake2.js';
import { concatBytes, encodeCompact, toHex } from '../../proofs/substrate/bytes.ts';
import { decodeHeader, encodeJustification, type SubstrateHeader } from '../../proofs/substrate/index.ts';
import { GrandpaLightClient, type GrandpaBlockSource } from '../../relayer/light/grandpa-client.ts';
import { decodeGrandpaTrustRoot, encodeGrandpaTrustRoot, type GrandpaTrustRoot } from '../../relayer/light/grandpa-trust.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { changeDigest, fromHex, makeJustification, makeKeys, type Key } from '../proofs/fixtures/substrate/grandpa-maker.ts';

const RUNTIME_UPDATED = Uint8Array.of(8);

function header(parent: Hex, number: number, items: Uint8Array[] = []): SubstrateHeader {
  const stateRoot = blake2b(Uint8Array.of(number & 0xff, number >> 8, 7), { dkLen: 32 });
  return decodeHeader(concatBytes(fromHex(parent), encodeCompact(number), stateRoot, new Uint8Array(32), encodeCompact(items.length), ...items));
}
const consensus = (d: { tag: number; engine: string; data: Uint8Array }) => concatBytes(Uint8Array.of(d.tag), new TextEncoder().encode(d.engine), encodeCompact(d.data.length), d.data);

interface Plan {
  /** Digest items per height. */
  digests?: Record<number, Uint8Array[]>;
  /** Heights with a justification, and the keys/set that sign it. */
  justify: Record<number, { keys: Key[]; setId: bigint }>;
  length: number;
}

/** A test chain: headers from #0, justifications as planned; `finalized` is the highest justified height. */
function chain(plan: Plan) {
  const headers: SubstrateHeader[] = [header(toHex(new Uint8Array(32)), 0)];
  for (let n = 1; n <= plan.length; n++) headers.push(header(headers[n - 1]!.hash, n, plan.digests?.[n] ?? []));
  const calls = { blockAt: 0 };
  let finalized = Math.max(...Object.keys(plan.justify).map(Number));
  const source: GrandpaBlockSource & { setFinalized(n: number): void } = {
    setFinalized: (n) => void (finalized = n),
    finalizedHeight: async () => finalized,
    async blockAt(n) {
      calls.blockAt++;
      const h = headers[n]!;
      const j = plan.justify[n];
      return { header: h.encoded, justification: j ? encodeJustification(makeJustification(j.keys.slice(0, 3), { hash: h.hash, number: n }, { setId: j.setId })) : null };
    },
    metadataAt: async () => new Uint8Array(0),
  };
  return { headers, source, calls };
}

const set1 = makeKeys(4, 1);
const set2 = makeKeys(4, 2);
const trust = (h: SubstrateHeader, keys = set1, setId = 1n): GrandpaTrustRoot => ({
  height: h.number,
  hash: h.hash,
  setId,
  authorities: keys.map((k) => ({ key: k.publicKey, weight: 1n })),
  runtime: { specVersion: 100, metadataHash: toHex(new Uint8Array(32)), systemPallet: 0, remarkedEvent: 5 },
});

describe('GRANDPA trust root codec', () => {
  it('round-trips and refuses bad roots', () => {
    const { headers } = chain({ length: 1, justify: { 1: { keys: set1, setId: 1n } } });
    const t = trust(headers[0]!);
    expect(decodeGrandpaTrustRoot(encodeGrandpaTrustRoot(t), 'polkadot:x')).toEqual(t);
    const bad = (o: object) => toHex(new TextEncoder().encode(JSON.stringify(o))) as Hex;
    const json = JSON.parse(new TextDecoder().decode(fromHex(encodeGrandpaTrustRoot(t)))) as Record<string, unknown>;
    expect(() => decodeGrandpaTrustRoot(bad({ ...json, authorities: [] }), 'polkadot:x')).toThrow(/authorities/);
    expect(() => decodeGrandpaTrustRoot(bad({ ...json, runtime: { ...(json.runtime as object), systemPallet: 256 } }), 'polkadot:x')).toThrow(/systemPallet/);
    expect(() => decodeGrandpaTrustRoot(bad({ ...json, extra: 1 }), 'polkadot:x')).toThrow();
    expect(() => decodeGrandpaTrustRoot('0x7b', 'polkadot:x')).toThrow(/UTF-8 JSON/);
  });
});

describe('GRANDPA light client', () => {
  it('trusts the headers a verified justification covers, with their state roots', async () => {
    const { headers, source } = chain({ length: 9, justify: { 3: { keys: set1, setId: 1n }, 6: { keys: set1, setId: 1n }, 9: { keys: set1, setId: 1n } } });
    const lc = new GrandpaLightClient(trust(headers[0]!), source);
    const t5 = await lc.trustedAt(5n);
    expect(t5).toEqual({ ok: true, hash: headers[5]!.hash, stateRoot: headers[5]!.stateRoot });
    expect(lc.height).toBe(6);
    expect((await lc.trustedAt(0n)).ok).toBe(true);
    expect((await lc.trustedAt(9n)).ok).toBe(true);
    const beyond = await lc.trustedAt(10n);
    expect(!beyond.ok && beyond.reason).toBe('not_final');
    expect(lc.halted).toBeNull();
  });

  it('hands the set over at a scheduled change (enacting block justified by the old set)', async () => {
    const { headers, source } = chain({
      length: 9,
      digests: { 4: [consensus(changeDigest(set2, 2))] },
      justify: { 3: { keys: set1, setId: 1n }, 6: { keys: set1, setId: 1n }, 9: { keys: set2, setId: 2n } },
    });
    const lc = new GrandpaLightClient(trust(headers[0]!), source);
    const t = await lc.trustedAt(8n);
    expect(t.ok && t.stateRoot).toBe(headers[8]!.stateRoot);
    expect(lc.setId).toBe(2n);
  });

  it('refuses a justification by the old set after the hand-over', async () => {
    const { headers, source } = chain({
      length: 9,
      digests: { 4: [consensus(changeDigest(set2, 2))] },
      justify: { 6: { keys: set1, setId: 1n }, 9: { keys: set1, setId: 1n } },
    });
    const lc = new GrandpaLightClient(trust(headers[0]!), source);
    const t = await lc.trustedAt(8n);
    expect(!t.ok && t.reason).toBe('grandpa_unknown_authority');
    expect(lc.halted?.reason).toBe('grandpa_unknown_authority');
  });

  it('halts on a forced change, and stays halted', async () => {
    const { headers, source } = chain({ length: 6, digests: { 2: [consensus(changeDigest(set2, 0, true))] }, justify: { 3: { keys: set1, setId: 1n }, 6: { keys: set2, setId: 2n } } });
    const lc = new GrandpaLightClient(trust(headers[0]!), source);
    const t = await lc.trustedAt(2n);
    expect(!t.ok && t.reason).toBe('grandpa_forced_change');
    const again = await lc.trustedAt(6n);
    expect(!again.ok && again.reason).toBe('grandpa_forced_change');
  });

  it('refuses forged signatures, unknown signers, and a trust block that is not the registered one', async () => {
    const { headers, source } = chain({ length: 3, justify: { 3: { keys: set1, setId: 1n } } });
    const forged: GrandpaBlockSource = {
      ...source,
      async blockAt(n) {
        const b = await source.blockAt(n);
        if (!b.justification) return b;
        const j = Uint8Array.from(b.justification);
        const at = 8 + 36 + 1 + 36 + 5; // in the first precommit's signature
        j[at] = j[at]! ^ 1;
        return { ...b, justification: j };
      },
    };
    const lc = new GrandpaLightClient(trust(headers[0]!), forged);
    const t = await lc.trustedAt(2n);
    expect(!t.ok && t.reason).toBe('signature_invalid');
    const outsiders = new GrandpaLightClient(trust(headers[0]!, set2), source);
    const o = await outsiders.trustedAt(3n);
    expect(!o.ok && o.reason).toBe('grandpa_unknown_authority');
    const wrongRoot = new GrandpaLightClient({ ...trust(headers[0]!), hash: headers[1]!.hash }, source);
    const w = await wrongRoot.trustedAt(1n);
    expect(!w.ok && w.reason).toBe('header_hash_mismatch');
  });

  it('stops after a runtime upgrade: later heights answer runtime_not_approved', async () => {
    const { headers, source } = chain({ length: 6, digests: { 4: [RUNTIME_UPDATED] }, justify: { 3: { keys: set1, setId: 1n }, 6: { keys: set1, setId: 1n } } });
    const lc = new GrandpaLightClient(trust(headers[0]!), source);
    expect((await lc.trustedAt(4n)).ok).toBe(true);
    const t = await lc.trustedAt(5n);
    expect(!t.ok && t.reason).toBe('runtime_not_approved');
    // Re-anchored at the upgrade block: the new client trusts what follows.
    const re = new GrandpaLightClient(trust(headers[4]!), source);
    expect((await re.trustedAt(5n)).ok).toBe(true);
  });

  it('does not apply the digests of a run that is not justified yet', async () => {
    const plan: Plan = { length: 6, digests: { 2: [consensus(changeDigest(set2, 1))] }, justify: { 3: { keys: set1, setId: 1n }, 6: { keys: set2, setId: 2n } } };
    const { headers, source } = chain(plan);
    source.setFinalized(1);
    const lc = new GrandpaLightClient(trust(headers[0]!), source);
    expect((await lc.trustedAt(2n)).ok).toBe(false);
    source.setFinalized(6);
    // Re-reading #2 must not count its change twice.
    const t = await lc.trustedAt(5n);
    expect(t.ok).toBe(true);
    expect(lc.setId).toBe(2n);
  });

  it('answers from the kept window without refetching', async () => {
    const { headers, source, calls } = chain({ length: 6, justify: { 6: { keys: set1, setId: 1n } } });
    const lc = new GrandpaLightClient(trust(headers[0]!), source);
    await Promise.all([lc.trustedAt(2n), lc.trustedAt(4n), lc.trustedAt(6n)]);
    const before = calls.blockAt;
    expect((await lc.trustedAt(3n)).ok).toBe(true);
    expect(calls.blockAt).toBe(before);
    expect(before).toBe(7);
  });
});
