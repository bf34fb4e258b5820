import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { keccak256, toUtf8Bytes, type SigningKey } from 'ethers';
import pino from 'pino';
import { BftLightClient } from '../../relayer/light/bft-client.ts';
import type { Hex } from '../../src/domain/hex.ts';
import type { MisbehaviourEvidence } from '../../src/index/types.ts';
import { buildBftHeader, buildChain, makeValidators } from '../proofs/fixtures/qbft/build.ts';

/**
 * The light client's witness cross-check, with header sources stubbed per
 * endpoint: a witness that serves a second block sealed by the same
 * validators is misbehaviour; one whose conflicting block does not verify is
 * a lying endpoint.
 */
describe('BFT light client witnesses', () => {
  const vals = makeValidators(4, 'witness');
  const addrs = vals.map((v) => v.address);
  const chain = buildChain('qbft', vals, 20);
  const trust = { height: 0n, hash: chain[0]!.hash as Hex, validators: addrs };
  const endpoints = ['http://primary', 'http://witness-1', 'http://witness-2'];

  /** The chain up to `from - 1`, then other blocks sealed by `sealers` (a double-signed fork when they are the validators). */
  function fork(from: number, sealers: SigningKey[]): Record<string, string>[] {
    const out = chain.slice(0, from);
    for (let n = from; n < chain.length; n++) {
      out.push(buildBftHeader({ variant: 'qbft', number: BigInt(n), parentHash: out[n - 1]!.hash!, nextValidators: addrs, sealers, stateRoot: keccak256(toUtf8Bytes(`fork ${n}`)) }));
    }
    return out;
  }

  function client(sources: (Record<string, string>[] | null)[]) {
    const lines: Record<string, unknown>[] = [];
    const logger = pino(
      { level: 'debug' },
      new Writable({
        write(chunk: Buffer, _enc, done) {
          for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
          done();
        },
      }),
    );
    const evidence: MisbehaviourEvidence[] = [];
    const fetched: number[] = [];
    const lc = new BftLightClient(
      trust,
      'qbft',
      async (from, to, ep = 0) => {
        fetched.push(ep);
        const src = sources[ep];
        if (!src) throw new Error(`endpoint ${ep} is down`);
        return src.slice(Number(from), Number(to) + 1);
      },
      logger,
      { chainId: 'eip155:4242', endpoints: endpoints.slice(0, sources.length), onMisbehaviour: (e) => void evidence.push(e) },
    );
    return { lc, evidence, lines, fetched };
  }

  it('trusts a step every witness agrees with, after asking each of them', async () => {
    const { lc, evidence, fetched } = client([chain, chain, chain]);
    expect(await lc.trustedAt(9n)).toMatchObject({ ok: true, hash: chain[9]!.hash!.toLowerCase() });
    expect(new Set(fetched)).toEqual(new Set([0, 1, 2]));
    expect(evidence).toEqual([]);
    expect(lc.flaggedWitnesses).toEqual([]);
  });

  it('halts with evidence when a witness serves a second block sealed by the same validators', async () => {
    const doubleSigned = fork(6, vals.slice(1).map((v) => v.key));
    const { lc, evidence, lines } = client([chain, doubleSigned]);
    const r = await lc.trustedAt(10n);
    expect(r).toMatchObject({ ok: false, reason: 'bft_misbehaviour' });
    expect(evidence).toHaveLength(1);
    expect(evidence[0]).toEqual({ chainId: 'eip155:4242', height: 6n, headerA: chain[6], headerB: doubleSigned[6], endpoints: ['http://primary', 'http://witness-1'] });
    expect(evidence[0]!.headerA.hash).not.toBe(evidence[0]!.headerB.hash);
    expect(lines.some((l) => l.level === 60)).toBe(true);
    // Halted: nothing of the conflicting step is trusted, and later heights are not walked.
    expect(await lc.trustedAt(3n)).toMatchObject({ ok: false });
    expect(await lc.trustedAt(15n)).toMatchObject({ ok: false, reason: 'bft_misbehaviour' });
    expect(lc.halted?.reason).toBe('bft_misbehaviour');
    expect(evidence).toHaveLength(1);
  });

  it('flags a witness whose conflicting block is not sealed by the validators, and keeps going', async () => {
    const forged = fork(4, makeValidators(3, 'outsiders').map((v) => v.key));
    const { lc, evidence, lines } = client([chain, forged]);
    expect(await lc.trustedAt(10n)).toMatchObject({ ok: true, hash: chain[10]!.hash!.toLowerCase() });
    expect(evidence).toEqual([]);
    expect(lc.flaggedWitnesses).toEqual([1]);
    const warn = lines.find((l) => l.level === 40 && l.endpoint === 1);
    expect(warn).toMatchObject({ height: '4', reason: 'bft_unknown_signer' });
    expect(lc.halted).toBeNull();
  });

  it('a witness sealed by too few validators is a liar too', async () => {
    const thin = fork(2, vals.slice(0, 2).map((v) => v.key));
    const { lc, evidence } = client([chain, thin]);
    expect(await lc.trustedAt(5n)).toMatchObject({ ok: true });
    expect(evidence).toEqual([]);
    expect(lc.flaggedWitnesses).toEqual([1]);
  });

  it('skips a witness that does not answer, and still finds a double-signing one after it', async () => {
    const doubleSigned = fork(12, vals.slice(0, 3).map((v) => v.key));
    const { lc, evidence, lines } = client([chain, null, doubleSigned]);
    expect(await lc.trustedAt(8n)).toMatchObject({ ok: true });
    expect(lines.some((l) => l.level === 40 && l.endpoint === 1)).toBe(true);
    expect(await lc.trustedAt(14n)).toMatchObject({ ok: false, reason: 'bft_misbehaviour' });
    expect(evidence.map((e) => [e.height, e.endpoints[1]])).toEqual([[12n, 'http://witness-2']]);
    expect(await lc.trustedAt(8n)).toMatchObject({ ok: true });
  });

  it('a witness that is behind the primary is compared on the heights it has', async () => {
    const { lc, evidence } = client([chain, chain.slice(0, 5)]);
    expect(await lc.trustedAt(10n)).toMatchObject({ ok: true });
    expect(evidence).toEqual([]);
    expect(lc.flaggedWitnesses).toEqual([]);
  });
});
