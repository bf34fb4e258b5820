import { describe, expect, it } from 'vitest';
import meta from '@polkadot/types-support/metadata/static-substrate';
import { xxhashAsU8a } from '@polkadot/util-crypto';
import { blake2_256, concatBytes, encodeCompact, toHex, u32le } from '../../proofs/substrate/bytes.ts';
import { LAST_RUNTIME_UPGRADE_KEY, SYSTEM_EVENTS_KEY, decodeLastRuntimeUpgrade, loadRuntime, verifyRemarks, type RuntimePins } from '../../proofs/substrate/remarks.ts';
import type { Hex } from '../../src/domain/hex.ts';

const METADATA = meta as Hex;
const PINS: RuntimePins = { specVersion: 100, metadataHash: toHex(blake2_256(Buffer.from(METADATA.slice(2), 'hex'))), systemPallet: 0, remarkedEvent: 5 };
const runtime = await (async () => {
  const r = await loadRuntime(METADATA, PINS);
  if (!r.ok) throw new Error(r.detail);
  return r.runtime;
})();

const sender = new Uint8Array(32).fill(0xaa);
const msg = new TextEncoder().encode('a qiao message');

/** EventRecord by hand: phase ApplyExtrinsic(i), event (pallet, index, data), no topics. */
function record(extrinsic: number, pallet: number, event: number, data: Uint8Array): Uint8Array {
  return concatBytes(Uint8Array.of(0), u32le(extrinsic), Uint8Array.of(pallet, event), data, Uint8Array.of(0));
}
// DispatchInfo { weight: {ref_time: Compact, proof_size: Compact}, class: Normal, pays_fee: Yes }
const success = (i: number) => record(i, 0, 0, Uint8Array.of(0x04, 0x04, 0, 0));
const events = (...recs: Uint8Array[]) => concatBytes(encodeCompact(recs.length), ...recs);

describe('Substrate remarks verifier (pinned metadata and event index)', () => {
  it('finds System.Remarked{sender, blake2(message)} at the pinned index', () => {
    const ev = events(success(0), record(1, 0, 5, concatBytes(sender, blake2_256(msg))), success(1));
    const r = verifyRemarks(runtime, ev, [{ encoded: msg, sender }]);
    expect(r.ok && r.found).toEqual([{ event: 1, extrinsic: 1 }]);
  });

  it('refuses a relabelled event: same (AccountId32, H256) shape at another pallet index', () => {
    // Remark.Stored { sender, content_hash } (pallet 56, event 0) decodes fine but is not System.Remarked.
    const ev = events(success(0), record(1, 56, 0, concatBytes(sender, blake2_256(msg))));
    const r = verifyRemarks(runtime, ev, [{ encoded: msg, sender }]);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.reason).toBe('commitment_absent');
      expect(r.detail).toMatch(/relabelled/);
    }
  });

  it('refuses another sender, another message, trailing bytes and undecodable events', () => {
    const ev = events(record(1, 0, 5, concatBytes(sender, blake2_256(msg))));
    const other = verifyRemarks(runtime, ev, [{ encoded: msg, sender: new Uint8Array(32).fill(0xbb) }]);
    expect(!other.ok && other.reason).toBe('commitment_absent');
    const otherMsg = verifyRemarks(runtime, ev, [{ encoded: new TextEncoder().encode('another'), sender }]);
    expect(!otherMsg.ok && otherMsg.reason).toBe('commitment_absent');
    const trailing = verifyRemarks(runtime, concatBytes(ev, Uint8Array.of(1)), [{ encoded: msg, sender }]);
    expect(!trailing.ok && trailing.reason).toBe('proof_malformed');
    const bad = verifyRemarks(runtime, events(record(1, 250, 9, Uint8Array.of(1, 2))), [{ encoded: msg, sender }]);
    expect(!bad.ok && bad.reason).toBe('proof_malformed');
  });

  it('uses only metadata with the pinned hash, and pins that name System.Remarked', async () => {
    const wrongHash = await loadRuntime(METADATA, { ...PINS, metadataHash: toHex(new Uint8Array(32)) });
    expect(!wrongHash.ok && wrongHash.reason).toBe('expectation_invalid');
    const relabelPin = await loadRuntime(METADATA, { ...PINS, systemPallet: 56, remarkedEvent: 0 });
    expect(!relabelPin.ok && relabelPin.detail).toMatch(/not System\.Remarked/);
  });

  it('storage keys and LastRuntimeUpgrade decode', () => {
    const twox128 = (s: string) => xxhashAsU8a(s, 128);
    expect(SYSTEM_EVENTS_KEY).toBe(toHex(concatBytes(twox128('System'), twox128('Events'))));
    expect(LAST_RUNTIME_UPGRADE_KEY).toBe(toHex(concatBytes(twox128('System'), twox128('LastRuntimeUpgrade'))));
    const info = concatBytes(encodeCompact(268), encodeCompact(4), new TextEncoder().encode('node'));
    expect(decodeLastRuntimeUpgrade(info)).toBe(268);
  });
});
