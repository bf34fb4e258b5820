import { describe, expect, it } from 'vitest';
import { makeChain, makeValidators, type TestValidator } from '../proofs/fixtures/tendermint/chain.ts';
import type { LightBlockJson } from '../../proofs/tendermint/types.ts';
import { CometLightClient, cometLightClientFor } from '../../relayer/light/cometbft-client.ts';
import type { ChainAdapter } from '../../src/domain/adapter.ts';
import type { ChainRegistration } from '../../src/domain/chain.ts';
import { decodeCometTrustRoot, encodeCometTrustRoot } from '../../relayer/light/cometbft-trust.ts';
import type { MisbehaviourEvidence } from '../../src/index/types.ts';
import { ConfigError, RpcError } from '../../src/errors.ts';
import { silentLogger } from '../../src/logging.ts';
import { blockHash, fakeComet, forgeSignature, trustRootOf } from './fixtures/comet.ts';

const CHAIN = 'qiaotest-1';
const START = 1_700_000_000;
/** Block h is at START + 10 h seconds. */
const timeOf = (h: number) => new Date((START + 10 * h) * 1000);

describe('CometBFT light client', () => {
  const vals = makeValidators(4, { seed: 'comet-client' });
  const chain = makeChain({ chainId: CHAIN, length: 30, start: START, valsAt: () => vals });
  const trust = trustRootOf(CHAIN, chain[0]!, vals);

  function client(sources: (LightBlockJson[] | null)[], { now = timeOf(31), root = trust } = {}) {
    const comet = fakeComet(sources);
    const evidence: MisbehaviourEvidence[] = [];
    const lc = new CometLightClient(root, comet, {
      logger: silentLogger(),
      now: () => now,
      endpoints: sources.map((_, i) => `http://comet-${i}`),
      onMisbehaviour: (e) => void evidence.push(e),
    });
    return { lc, comet, evidence };
  }

  it('verifies a skipped-to height and returns its hash and app hash; verified heights are answered from memory', async () => {
    const { lc, comet } = client([chain]);
    const r = await lc.trustedAt(20n);
    expect(r).toEqual({ ok: true, height: 20n, hash: blockHash(chain[19]!), appHash: `0x${chain[19]!.signed_header.header.app_hash.toLowerCase()}`, time: expect.stringMatching(/^2023-11-14T/) });
    const calls = comet.calls.length;
    expect(await lc.trustedAt(20n)).toMatchObject({ ok: true, height: 20n });
    expect(comet.calls.length).toBe(calls);
    // A height between the root and a verified one is verified from the root, adjacent heights too.
    expect(await lc.trustedAt(2n)).toMatchObject({ ok: true, hash: blockHash(chain[1]!) });
    expect(await lc.trustedAt(21n)).toMatchObject({ ok: true, hash: blockHash(chain[20]!) });
    expect(lc.height).toBe(21n);
  });

  it('follows a validator-set change by bisection', async () => {
    const next = makeValidators(4, { seed: 'comet-client-next' });
    const valsAt = (h: number): TestValidator[] => (h < 10 ? vals : next);
    const rotating = makeChain({ chainId: CHAIN, length: 30, start: START, valsAt });
    const { lc, comet } = client([rotating], { root: trustRootOf(CHAIN, rotating[0]!, vals) });
    expect(await lc.trustedAt(25n)).toMatchObject({ ok: true, hash: blockHash(rotating[24]!) });
    // More than the target itself was fetched: the skip from the root lacked trust.
    expect(comet.calls.length).toBeGreaterThan(3);
    expect(await lc.trustedAt(10n)).toMatchObject({ ok: true, hash: blockHash(rotating[9]!) });
  });

  it('answers not_final for a height the chain has not produced yet', async () => {
    const { lc } = client([chain.slice(0, 12)]);
    const r = await lc.trustedAt(13n);
    expect(r).toMatchObject({ ok: false, reason: 'not_final' });
    expect(await lc.trustedAt(12n)).toMatchObject({ ok: true });
  });

  it('refuses a header whose commit carries a forged signature, and does not remember it', async () => {
    const forged = chain.map((b, i) => (i === 14 ? forgeSignature(b) : b));
    const { lc } = client([forged]);
    const r = await lc.trustedAt(15n);
    expect(r).toMatchObject({ ok: false, reason: 'signature_invalid' });
    expect(await lc.trustedAt(15n)).toMatchObject({ ok: false, reason: 'signature_invalid' });
    expect(lc.halted).toBeNull();
  });

  it('takes the header from another endpoint when the primary serves a forged one', async () => {
    const forged = chain.map((b, i) => (i === 14 ? forgeSignature(b) : b));
    const { lc, evidence } = client([forged, chain]);
    expect(await lc.trustedAt(15n)).toMatchObject({ ok: true, hash: blockHash(chain[14]!) });
    expect(evidence).toEqual([]);
  });

  it('refuses everything past the trusting period and says governance must re-anchor', async () => {
    const { lc } = client([chain], { now: new Date(timeOf(1).getTime() + trust.trustingPeriodSeconds * 1000 + 1000) });
    const r = await lc.trustedAt(20n);
    expect(r).toMatchObject({ ok: false, reason: 'trust_expired' });
    expect(!r.ok && r.detail).toMatch(/re-anchor/);
  });

  it('refuses a header from the future beyond the clock drift', async () => {
    const { lc } = client([chain], { now: new Date(timeOf(20).getTime() - 60_000) });
    expect(await lc.trustedAt(20n)).toMatchObject({ ok: false, reason: 'tendermint_header_from_future' });
  });

  it('halts on a witness serving a second valid header (misbehaviour) and hands over the evidence', async () => {
    // The same validators signed another chain: equivocation.
    const fork = makeChain({ chainId: CHAIN, length: 30, start: START, valsAt: () => vals, appSalt: 'fork' });
    const { lc, evidence } = client([chain, fork]);
    const r = await lc.trustedAt(20n);
    expect(r).toMatchObject({ ok: false, reason: 'misbehaviour' });
    expect(evidence).toHaveLength(1);
    expect(evidence[0]).toMatchObject({ chainId: `cosmos:${CHAIN}`, height: 20n, endpoints: ['http://comet-0', 'http://comet-1'] });
    expect(evidence[0]!.headerA).toEqual(expect.objectContaining({ signed_header: expect.anything() }));
    expect(lc.halted).toMatchObject({ reason: 'misbehaviour' });
    // Halted: nothing is vouched for any more, not even a height the witness agrees on.
    expect(await lc.trustedAt(1n)).toMatchObject({ ok: false, reason: 'misbehaviour' });
    expect(evidence).toHaveLength(1);
  });

  it('flags a witness whose conflicting header does not verify, and trusts the primary', async () => {
    const strangers = makeValidators(4, { seed: 'strangers' });
    const lying = makeChain({ chainId: CHAIN, length: 30, start: START, valsAt: () => strangers });
    const { lc, evidence } = client([chain, lying, chain]);
    expect(await lc.trustedAt(20n)).toMatchObject({ ok: true, hash: blockHash(chain[19]!) });
    expect(evidence).toEqual([]);
    expect(lc.halted).toBeNull();
  });

  it('trusts the primary when a witness is down (availability is not evidence)', async () => {
    const { lc, evidence } = client([chain, null]);
    expect(await lc.trustedAt(20n)).toMatchObject({ ok: true, hash: blockHash(chain[19]!) });
    expect(evidence).toEqual([]);
  });

  it('throws the endpoint error when every endpoint is down (a wait, not a verdict)', async () => {
    const { lc } = client([null, null]);
    await expect(lc.trustedAt(5n)).rejects.toBeInstanceOf(RpcError);
  });

  it('halts when no endpoint serves the trust root header', async () => {
    const { lc } = client([chain], { root: { ...trust, hash: blockHash(chain[1]!) } });
    expect(await lc.trustedAt(5n)).toMatchObject({ ok: false, reason: 'header_hash_mismatch' });
    expect(lc.halted?.detail).toMatch(/re-anchor/);
  });

  it('refuses heights below the trust root', async () => {
    const { lc } = client([chain], { root: trustRootOf(CHAIN, chain[9]!, vals) });
    expect(await lc.trustedAt(5n)).toMatchObject({ ok: false, reason: 'untrusted_header' });
    expect(await lc.trustedAt(10n)).toMatchObject({ ok: true, hash: blockHash(chain[9]!) });
  });
});

describe('cometLightClientFor', () => {
  const vals = makeValidators(3, { seed: 'connect' });
  const chain = makeChain({ chainId: CHAIN, length: 5, start: Math.floor(Date.now() / 1000) - 100, valsAt: () => vals });
  const reg = {
    chainId: `cosmos:${CHAIN}`,
    family: 'cosmos',
    genesisHash: blockHash(chain[0]!),
    port: '0x',
    lightClient: 'tendermint',
    trustRoot: encodeCometTrustRoot(trustRootOf(CHAIN, chain[0]!, vals)),
    finality: { kind: 'instant' },
    endpoints: ['http://comet-0'],
    status: 'approved',
  } as unknown as ChainRegistration;

  it('connects the light client over the adapter\'s comet capability', async () => {
    const lc = cometLightClientFor(reg, { comet: fakeComet([chain]) } as unknown as ChainAdapter, { logger: silentLogger() });
    expect(await lc.trustedAt(5n)).toMatchObject({ ok: true, hash: blockHash(chain[4]!) });
  });

  it('refuses an adapter without light blocks, and a trust root for another chain', () => {
    expect(() => cometLightClientFor(reg, {} as ChainAdapter)).toThrow(ConfigError);
    expect(() => cometLightClientFor({ ...reg, chainId: 'cosmos:other-1' } as unknown as ChainRegistration, { comet: fakeComet([chain]) } as unknown as ChainAdapter)).toThrow(ConfigError);
  });
});

describe('CometBFT trust root', () => {
  const vals = makeValidators(3, { seed: 'trust-root' });
  const chain = makeChain({ chainId: CHAIN, length: 2, start: START, valsAt: () => vals });
  const trust = trustRootOf(CHAIN, chain[0]!, vals);

  it('round-trips through the registry bytes', () => {
    expect(decodeCometTrustRoot(encodeCometTrustRoot(trust), `cosmos:${CHAIN}`)).toEqual(trust);
  });

  it('accepts the ibc-go version the adapter reads, in the link or at the top', () => {
    const withVersion = { ...trust, ibcVersion: 'v9' as const, link: { ...trust.link, ibcVersion: 'v9' as const } };
    expect(decodeCometTrustRoot(encodeCometTrustRoot(withVersion), `cosmos:${CHAIN}`)).toEqual(withVersion);
  });

  it('refuses a trust level below 1/3, a bad validator and another chain id', () => {
    const enc = (o: Record<string, unknown>) => encodeCometTrustRoot({ ...trust, ...o } as typeof trust);
    expect(() => decodeCometTrustRoot(enc({ trustLevel: { numerator: 1, denominator: 4 } }), `cosmos:${CHAIN}`)).toThrow(ConfigError);
    const badVal = { ...trust.validators[0]!, address: '00'.repeat(20) };
    expect(() => decodeCometTrustRoot(enc({ validators: [badVal] }), `cosmos:${CHAIN}`)).toThrow(ConfigError);
    expect(() => decodeCometTrustRoot(encodeCometTrustRoot(trust), 'cosmos:other-1')).toThrow(ConfigError);
    expect(() => decodeCometTrustRoot('0x7b7d', `cosmos:${CHAIN}`)).toThrow(ConfigError);
  });
});
