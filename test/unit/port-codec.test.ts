import { AbiCoder, Interface, hexlify, type Result } from 'ethers';
import { describe, expect, it } from 'vitest';
import { portArtifacts } from '../../adapters/evm/artifacts.ts';
import { decodeBatchCommittedData, decodeMessageDeliveredData, decodeMessageSentData, encodeDeliverBatch } from '../../src/evm/port-codec.ts';
import { seededRandom } from '../helpers/seeded-random.ts';

const SEED = 20261207;

function bytesOf(rng: () => number, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(rng() * 256);
  return b;
}

/** Lengths that matter to the layout: empty, around a word, and larger. */
function lengthOf(rng: () => number): number {
  const picks = [0, 1, 31, 32, 33, 63, 64, 65, 65 + Math.floor(rng() * 600)];
  return picks[Math.floor(rng() * picks.length)]!;
}

/** ethers' verdict and value, or the fact that it threw. */
function ethersSays<T>(f: () => T): { ok: true; value: T } | { ok: false } {
  try {
    return { ok: true, value: f() };
  } catch {
    return { ok: false };
  }
}

describe('the port codec (hand-written ABI for deliverBatch, MessageSent, MessageDelivered)', () => {
  it('encodes deliverBatch byte for byte as ethers does, for random batches', async () => {
    const iface = new Interface((await portArtifacts()).QiaoPort.abi as never);
    const fn = iface.getFunction('deliverBatch')!;
    const rng = seededRandom(SEED);
    for (let round = 0; round < 300; round++) {
      const n = round < 3 ? round : Math.floor(rng() * 70);
      const messages = Array.from({ length: n }, () => bytesOf(rng, lengthOf(rng)));
      const proofs = messages.map(() => Array.from({ length: Math.floor(rng() * 10) }, () => bytesOf(rng, 32)));
      const signatures = Array.from({ length: Math.floor(rng() * 4) }, () => hexlify(bytesOf(rng, rng() < 0.8 ? 65 : lengthOf(rng))));
      const setId = BigInt(Math.floor(rng() * 2 ** 40)) * (rng() < 0.1 ? 2n ** 23n : 1n);
      const batchNo = rng() < 0.1 ? 2n ** 64n - 1n : BigInt(Math.floor(rng() * 2 ** 48));
      const root = hexlify(bytesOf(rng, 32));
      const want = iface.encodeFunctionData(fn, [setId, batchNo, root, signatures, messages, proofs]);
      const got = encodeDeliverBatch(fn.selector, { setId, batchNo, root, signatures, messages, proofs });
      expect(hexlify(got), `round ${round}`).toBe(want);
    }
  });

  it('refuses what ethers refuses to encode: a proof node of the wrong size, values beyond uint64, a short root', async () => {
    const iface = new Interface((await portArtifacts()).QiaoPort.abi as never);
    const sel = iface.getFunction('deliverBatch')!.selector;
    const base = { setId: 1n, batchNo: 2n, root: hexlify(new Uint8Array(32)), signatures: ['0x01'], messages: [new Uint8Array(3)], proofs: [[new Uint8Array(32)]] };
    expect(() => encodeDeliverBatch(sel, { ...base, proofs: [[new Uint8Array(31)]] })).toThrow(/not 32/);
    expect(() => encodeDeliverBatch(sel, { ...base, batchNo: 2n ** 64n })).toThrow(/uint64/);
    expect(() => encodeDeliverBatch(sel, { ...base, setId: -1n })).toThrow(/uint64/);
    expect(() => encodeDeliverBatch(sel, { ...base, root: '0x1234' })).toThrow(/32 bytes/);
    expect(() => encodeDeliverBatch(sel, { ...base, proofs: [] })).toThrow(/proofs/);
    expect(() => encodeDeliverBatch(sel, { ...base, signatures: ['0xzz'] })).toThrow(/hex/);
    for (const bad of [{ ...base, batchNo: 2n ** 64n }, { ...base, root: '0x1234' }]) {
      expect(ethersSays(() => iface.encodeFunctionData('deliverBatch', [bad.setId, bad.batchNo, bad.root, bad.signatures, bad.messages, bad.proofs])).ok).toBe(false);
    }
  });

  it('decodes MessageSent and MessageDelivered data as ethers does, and never accepts data ethers refuses', async () => {
    const iface = new Interface((await portArtifacts()).QiaoPort.abi as never);
    const sent = iface.getEvent('MessageSent')!;
    const delivered = iface.getEvent('MessageDelivered')!;
    const topicsSent = [sent.topicHash, hexlify(new Uint8Array(32)), hexlify(new Uint8Array(32))];
    const topicsDelivered = [delivered.topicHash, hexlify(new Uint8Array(32))];
    const coder = AbiCoder.defaultAbiCoder();
    const rng = seededRandom(SEED + 1);
    let agreedBad = 0;
    for (let round = 0; round < 400; round++) {
      const nonce = rng() < 0.1 ? 2n ** 64n - 1n : BigInt(Math.floor(rng() * 2 ** 50));
      const message = bytesOf(rng, lengthOf(rng));
      const success = rng() < 0.5;
      const reason = bytesOf(rng, lengthOf(rng));
      let dataSent = coder.encode(['uint64', 'bytes'], [nonce, message]);
      let dataDelivered = coder.encode(['bool', 'bytes'], [success, reason]);
      const mutate = round >= 100;
      if (mutate) {
        // A byte flipped in the head (offsets, lengths, the flag, the nonce's high bytes) or the data cut short.
        const flip = (hex: string) => {
          const b = Buffer.from(hex.slice(2), 'hex');
          if (rng() < 0.3) return `0x${b.subarray(0, Math.floor(rng() * b.length)).toString('hex')}`;
          const at = Math.floor(rng() * Math.min(b.length, 96));
          b[at] = b[at]! ^ (1 << Math.floor(rng() * 8));
          return `0x${b.toString('hex')}`;
        };
        dataSent = flip(dataSent);
        dataDelivered = flip(dataDelivered);
      }
      // Ours against ethers', as pairs of (our value, ethers' value) to compare when both accept.
      const cases = [
        { event: 'MessageSent', ours: () => decodeMessageSentData(dataSent), theirs: () => iface.decodeEventLog(sent, dataSent, topicsSent), pairs: (o: { nonce: bigint; message: string }, e: Result) => [[o.nonce, e[2]], [o.message, e[3]]] },
        { event: 'MessageDelivered', ours: () => decodeMessageDeliveredData(dataDelivered), theirs: () => iface.decodeEventLog(delivered, dataDelivered, topicsDelivered), pairs: (o: { success: boolean; reason: string }, e: Result) => [[o.success, e[1]], [o.reason, e[2]]] },
      ] as const;
      for (const c of cases) {
        const e = ethersSays(c.theirs);
        const o = ethersSays(c.ours as () => never);
        if (o.ok) {
          expect(e.ok, `round ${round}: ethers refused ${c.event} data we accepted`).toBe(true);
          if (e.ok) for (const [a, b] of (c.pairs as (o: unknown, e: Result) => unknown[][])(o.value, e.value)) expect(a).toBe(b);
        } else if (!mutate) throw new Error(`round ${round}: refused valid ${c.event} data`);
        else if (!e.ok) agreedBad++;
      }
    }
    // The mutations did reach the refusing paths.
    expect(agreedBad).toBeGreaterThan(50);
  });

  it('decodes BatchCommitted (the governance MessageLog) as ethers does, and refuses what is not the encoding the contract emits', () => {
    const coder = AbiCoder.defaultAbiCoder();
    const rng = seededRandom(SEED + 1);
    const hex = (b: Uint8Array) => hexlify(b).toLowerCase();
    let refused = 0;
    for (let round = 0; round < 200; round++) {
      const n = [0, 1, 2, 31, 1024][round % 5]!;
      const root = hex(bytesOf(rng, 32));
      const ids = Array.from({ length: n }, () => hex(bytesOf(rng, 32)));
      const data = coder.encode(['bytes32', 'bytes32[]'], [root, ids]);
      expect(decodeBatchCommittedData(data)).toEqual({ root, ids });
      const [eRoot, eIds] = coder.decode(['bytes32', 'bytes32[]'], data);
      expect(decodeBatchCommittedData(data).ids).toEqual((eIds as string[]).map((x) => x.toLowerCase()));
      expect(decodeBatchCommittedData(data).root).toBe((eRoot as string).toLowerCase());
      // Cut short, a word too many, a length that disagrees, a moved offset, not hex: refused.
      const bad = [data.slice(0, -64), `${data}${'00'.repeat(32)}`, data.slice(0, 2 + 128) + (n + 1).toString(16).padStart(64, '0') + data.slice(2 + 192), data.slice(0, 2 + 64) + '60'.padStart(64, '0') + data.slice(2 + 128), `${data}0`];
      for (const b of bad) {
        expect(() => decodeBatchCommittedData(b)).toThrow();
        refused++;
      }
    }
    expect(refused).toBe(1000);
  });
});
