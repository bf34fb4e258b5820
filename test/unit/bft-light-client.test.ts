import { describe, expect, it } from 'vitest';
import { hexlify, toUtf8Bytes } from 'ethers';
import { BftLightClient } from '../../relayer/light/bft-client.ts';
import { decodeBftTrustRoot, encodeBftTrustRoot } from '../../relayer/light/bft-trust.ts';
import { ConfigError } from '../../src/errors.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { buildChain, makeValidators } from '../proofs/fixtures/qbft/build.ts';

describe('QBFT light client of the relayer', () => {
  const vals = makeValidators(4, 'unit');
  const chain = buildChain('qbft', vals, 12);
  const trust = { height: 0n, hash: chain[0]!.hash as Hex, validators: vals.map((v) => v.address) };
  const fetchFrom = (headers: Record<string, string>[]) => async (from: bigint, to: bigint) => headers.slice(Number(from), Number(to) + 1);

  it('round-trips its trust root and names the bad field', () => {
    expect(decodeBftTrustRoot(encodeBftTrustRoot(trust), 'eip155:1')).toEqual({ ...trust, validators: trust.validators.map((v) => v.toLowerCase()) });
    const bad = hexlify(toUtf8Bytes(JSON.stringify({ height: '0', hash: '0x12', validators: [] }))) as Hex;
    try {
      decodeBftTrustRoot(bad, 'eip155:1');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).field).toBe('chains.eip155:1.trustRoot.hash');
    }
    expect(() => decodeBftTrustRoot('0x7b' as Hex, 'eip155:1')).toThrow(ConfigError);
  });

  it('walks headers from the trust root and answers hash and state root per height', async () => {
    const lc = new BftLightClient(trust, 'qbft', fetchFrom(chain));
    const at7 = await lc.trustedAt(7n);
    expect(at7).toEqual({ ok: true, hash: chain[7]!.hash!.toLowerCase(), stateRoot: chain[7]!.stateRoot!.toLowerCase() });
    expect(await lc.trustedAt(3n)).toMatchObject({ ok: true, hash: chain[3]!.hash!.toLowerCase() });
    expect(await lc.trustedAt(0n)).toMatchObject({ ok: false, reason: 'untrusted_header' });
  });

  it('stays failed after a forged header (a new trust root is needed)', async () => {
    const outsiders = buildChain('qbft', makeValidators(4, 'other'), 12);
    // Heights 1..4 honest, then blocks from another validator set.
    const mixed = [...chain.slice(0, 5), ...outsiders.slice(5)];
    const lc = new BftLightClient(trust, 'qbft', fetchFrom(mixed));
    expect(await lc.trustedAt(4n)).toMatchObject({ ok: true });
    const r = await lc.trustedAt(6n);
    expect(r.ok).toBe(false);
    expect(await lc.trustedAt(5n)).toMatchObject({ ok: false });
  });
});
