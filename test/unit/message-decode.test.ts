import fc from 'fast-check';
import { AbiCoder, getBytes, hexlify } from 'ethers';
import { describe, expect, it } from 'vitest';
import type { ChainId } from '../../src/domain/caip.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { MESSAGE_ABI_TYPES, decodeMessage, encodeMessage, validateMessage, type QiaoMessage } from '../../src/domain/message.ts';
import { ValidationError } from '../../src/errors.ts';

const coder = AbiCoder.defaultAbiCoder();

/** The decoder decodeMessage replaced: ethers decode, validate, then insist the fields re-encode to the same bytes. */
function referenceDecode(bytes: Uint8Array): QiaoMessage {
  let r: ReturnType<typeof coder.decode>;
  try {
    r = coder.decode(MESSAGE_ABI_TYPES as unknown as string[], bytes);
  } catch (cause) {
    throw new ValidationError('message', 'is not an ABI-encoded Qiao message', { cause });
  }
  const m = validateMessage({
    version: Number(r[0]),
    srcChain: r[1] as ChainId,
    srcPort: r[2] as Hex,
    sender: r[3] as Hex,
    dstChain: r[4] as ChainId,
    dstPort: r[5] as Hex,
    receiver: r[6] as Hex,
    nonce: r[7] as bigint,
    gasLimit: r[8] as bigint,
    timeoutHeight: r[9] as bigint,
    timeoutUnixSeconds: r[10] as bigint,
    payload: r[11] as Hex,
  });
  if (encodeMessage(m) !== hexlify(bytes).toLowerCase()) throw new ValidationError('message', 'is not the canonical encoding of its fields');
  return m;
}

type Outcome = { ok: true; m: QiaoMessage } | { ok: false; err: unknown };
const run = (f: () => QiaoMessage): Outcome => {
  try {
    return { ok: true, m: f() };
  } catch (err) {
    return { ok: false, err };
  }
};

const hexArb = (max: number) => fc.uint8Array({ maxLength: max }).map((b) => hexlify(b) as Hex);
const u64 = fc.oneof(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.constantFrom(0n, 1n, (1n << 64n) - 1n));
const chain = fc.oneof(fc.constantFrom('eip155:1', 'eip155:31337', 'cosmos:qiao-1', 'polkadot:91b171bb158e2d3848fa23a9f1c25182'), fc.integer({ min: 1, max: 1e9 }).map((n) => `eip155:${n}`)) as fc.Arbitrary<ChainId>;
const messageArb: fc.Arbitrary<QiaoMessage> = fc.record({
  version: fc.constant(1),
  srcChain: chain,
  srcPort: hexArb(40),
  sender: hexArb(40),
  dstChain: chain,
  dstPort: hexArb(40),
  receiver: hexArb(40),
  nonce: u64.filter((n) => n > 0n),
  gasLimit: u64,
  timeoutHeight: u64,
  timeoutUnixSeconds: u64,
  payload: hexArb(300),
});

// Mutations aimed at what canonicality is about: head words (offsets, versions, high bytes of integers), padding, lengths, the end.
type Mutation = (b: Uint8Array) => Uint8Array;
const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })).map(([i, v]): Mutation => (b) => { const c = b.slice(); c[i % c.length] = v; return c; }),
  fc.tuple(fc.integer({ min: 0, max: 11 }), fc.integer({ min: 0, max: 31 }), fc.integer({ min: 1, max: 255 })).map(([w, i, v]): Mutation => (b) => { const c = b.slice(); c[w * 32 + i] = v; return c; }),
  fc.tuple(fc.integer({ min: 1, max: 11 }), fc.constantFrom(-64, -32, -1, 1, 32, 64)).map(([w, d]): Mutation => (b) => {
    const c = b.slice();
    const at = w * 32 + 31;
    const v = ((c[at - 1]! << 8) | c[at]!) + d;
    c[at - 1] = (v >> 8) & 0xff;
    c[at] = v & 0xff;
    return c;
  }),
  fc.nat().map((n): Mutation => (b) => b.slice(0, n % b.length)),
  fc.uint8Array({ minLength: 1, maxLength: 64 }).map((t): Mutation => (b) => new Uint8Array([...b, ...t])),
  fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })).map(([i, v]): Mutation => (b) => { const c = b.slice(); c[c.length - 1 - (i % 32)] = v; return c; }),
  fc.constant((b: Uint8Array) => new Uint8Array([...b, ...new Uint8Array(32)])),
);

describe('decodeMessage', () => {
  it('decodes every canonical message to its fields (hex and bytes input)', () => {
    fc.assert(
      fc.property(messageArb, (m) => {
        const enc = encodeMessage(m);
        const want = validateMessage(m);
        expect(decodeMessage(enc)).toEqual(want);
        expect(decodeMessage(getBytes(enc))).toEqual(want);
        expect(decodeMessage(enc.toUpperCase().replace('0X', '0x') as Hex)).toEqual(want);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses exactly what the decode-and-re-encode check refused', () => {
    fc.assert(
      fc.property(messageArb, fc.array(mutationArb, { minLength: 1, maxLength: 3 }), (m, muts) => {
        const bytes = muts.reduce((b, f) => (b.length ? f(b) : b), getBytes(encodeMessage(m)));
        const ours = run(() => decodeMessage(bytes));
        const theirs = run(() => referenceDecode(bytes));
        expect(ours.ok).toBe(theirs.ok);
        if (ours.ok && theirs.ok) expect(ours.m).toEqual(theirs.m);
        if (!ours.ok) expect(ours.err).toBeInstanceOf(ValidationError);
      }),
      { numRuns: 1000 },
    );
  });

  it('refuses the classic non-canonical forms', () => {
    const m: QiaoMessage = { version: 1, srcChain: 'eip155:1' as ChainId, srcPort: '0x01', sender: '0x02', dstChain: 'eip155:2' as ChainId, dstPort: '0x03', receiver: '0x04', nonce: 1n, gasLimit: 1n, timeoutHeight: 0n, timeoutUnixSeconds: 0n, payload: '0x0506' };
    const enc = getBytes(encodeMessage(m));
    const refused = (b: Uint8Array) => expect(() => decodeMessage(b)).toThrow(ValidationError);
    refused(new Uint8Array([...enc, 0])); // trailing byte
    refused(enc.slice(0, enc.length - 1)); // missing padding
    const pad = enc.slice();
    pad[pad.length - 1] = 1; // dirty padding
    refused(pad);
    const ver = enc.slice();
    ver[0] = 1; // high bytes of the uint8
    refused(ver);
    const nonce = enc.slice();
    nonce[7 * 32] = 1; // high bytes of a uint64
    refused(nonce);
    refused(new Uint8Array(100));
    refused(new Uint8Array(0));
    // invalid UTF-8 in a chain id (0xff), same length so only the text is wrong
    const s = new TextEncoder().encode('eip155:1');
    const at = enc.findIndex((_, i) => s.every((c, j) => enc[i + j] === c));
    const bad = enc.slice();
    bad[at] = 0xff;
    refused(bad);
    expect(() => decodeMessage('0x1' as Hex)).toThrow(ValidationError);
  });
});
