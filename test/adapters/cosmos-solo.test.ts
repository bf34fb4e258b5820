import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMultisigThresholdPubkey, encodeSecp256k1Pubkey } from '@cosmjs/amino';
import { Secp256k1, Secp256k1Signature, sha256 } from '@cosmjs/crypto';
import { encodePubkey, type EncodeObject } from '@cosmjs/proto-signing';
import { LegacyAminoPubKey } from 'cosmjs-types/cosmos/crypto/multisig/keys';
import { PubKey } from 'cosmjs-types/cosmos/crypto/secp256k1/keys';
import { SignatureDescriptor_Data } from 'cosmjs-types/cosmos/tx/signing/v1beta1/signing';
import { MsgUpdateClient } from 'cosmjs-types/ibc/core/client/v1/tx';
import { MsgRecvPacket } from 'cosmjs-types/ibc/core/channel/v1/tx';
import { Header, HeaderData, SignBytes, TimestampedSignatureData } from 'cosmjs-types/ibc/lightclients/solomachine/v3/solomachine';
import { describe, expect, it } from 'vitest';
import { soloPublicKey } from '../../adapters/cosmos/solo/keys.ts';
import { SoloFileLockedError } from '../../adapters/cosmos/solo/lock.ts';
import { SoloEquivocationError, SoloRecordCorruptError, SoloSignatureRecord } from '../../adapters/cosmos/solo/record.ts';
import { SoloMachineSequencer, SoloSequenceStuckError, type SoloProof } from '../../adapters/cosmos/solo/sequencer.ts';
import { headerSignBytes, soloSignBytes } from '../../adapters/cosmos/solo/sign-bytes.ts';
import { SoloAttestor } from '../../adapters/cosmos/solo/signer.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { silentLogger } from '../../src/logging.ts';

const key = (): Hex => `0x${randomBytes(32).toString('hex')}`;
const dir = (): string => mkdtempSync(join(tmpdir(), 'qiao-solo-'));
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const D1 = `0x${'11'.repeat(32)}` as Hex;
const D2 = `0x${'22'.repeat(32)}` as Hex;

/** LegacyAminoPubKey.VerifyMultisignature, re-done with @cosmjs/crypto (independent of the code under test). */
async function verifyMultisig(pubKeyAny: ReturnType<typeof soloPublicKey>, sigData: Uint8Array, signBytes: Uint8Array): Promise<boolean> {
  const mk = LegacyAminoPubKey.decode(pubKeyAny.value);
  const data = SignatureDescriptor_Data.decode(sigData);
  const multi = data.multi!;
  const bits = multi.bitarray!;
  const size = bits.extraBitsStored === 0 ? bits.elems.length * 8 : (bits.elems.length - 1) * 8 + bits.extraBitsStored;
  if (size !== mk.publicKeys.length) return false;
  let used = 0;
  const hash = sha256(signBytes);
  for (let i = 0; i < size; i++) {
    if (!(bits.elems[i >> 3]! & (0x80 >> (i % 8)))) continue;
    const sig = multi.signatures[used++]?.single?.signature;
    if (!sig || sig.length !== 64) return false;
    const pk = PubKey.decode(mk.publicKeys[i]!.value).key;
    if (!(await Secp256k1.verifySignature(Secp256k1Signature.fromFixedLength(sig), hash, pk))) return false;
  }
  return used === multi.signatures.length && used >= mk.threshold;
}

describe('solo machine sign bytes', () => {
  it('v8 and v9 sign the raw ICS-24 key (ibc-go >= v8 #4429); the bytes decode as SignBytes', () => {
    const value = Uint8Array.of(1, 2, 3);
    const v8 = SignBytes.decode(soloSignBytes({ sequence: 7n, timestamp: 1_700_000_000_000_000_000n, diversifier: 'qiao', path: 'connections/connection-0', value, ibcVersion: 'v8' }));
    expect(v8.sequence).toBe(7n);
    expect(v8.timestamp).toBe(1_700_000_000_000_000_000n);
    expect(v8.diversifier).toBe('qiao');
    expect(new TextDecoder().decode(v8.path)).toBe('connections/connection-0');
    expect(v8.data).toEqual(value);
    const v9 = SignBytes.decode(soloSignBytes({ sequence: 7n, timestamp: 5n, diversifier: 'qiao', path: 'channelEnds/ports/wasm.cosmos1abc/channels/channel-0', value, ibcVersion: 'v9' }));
    expect(new TextDecoder().decode(v9.path)).toBe('channelEnds/ports/wasm.cosmos1abc/channels/channel-0');
  });

  it('non-membership signs empty data (gogoproto: nil and empty marshal alike) and field order is the proto layout', () => {
    const bytes = soloSignBytes({ sequence: 1n, timestamp: 2n, diversifier: 'qiao', path: 'receipts/ports/p/channels/c/sequences/1', value: null, ibcVersion: 'v9' });
    // field 1 varint, field 2 varint, field 3 string, field 4 bytes; field 5 (data) absent.
    expect([...bytes.slice(0, 4)]).toEqual([0x08, 0x01, 0x10, 0x02]);
    expect(bytes[4]).toBe(0x1a);
    expect(SignBytes.decode(bytes).data).toHaveLength(0);
    expect(bytes.includes(0x2a)).toBe(false);
  });

  it('header sign bytes carry the sentinel path and HeaderData', () => {
    const pk = soloPublicKey([key()], 1);
    const sb = SignBytes.decode(headerSignBytes({ sequence: 3n, timestamp: 9n, diversifier: 'qiao', newPublicKey: pk, newDiversifier: 'qiao' }));
    expect(new TextDecoder().decode(sb.path)).toBe('solomachine:header');
    const hd = HeaderData.decode(sb.data);
    expect(hd.newDiversifier).toBe('qiao');
    expect(hd.newPubKey).toEqual(pk);
  });
});

describe('solo machine public key and multisig signatures', () => {
  it('is the LegacyAminoPubKey cosmjs builds for the same keys (unsorted)', () => {
    const keys = [key(), key(), key()];
    const attestors = keys.map((k) => new SoloAttestor(k, SoloSignatureRecord.open(join(dir(), 'r.jsonl'))));
    const ours = soloPublicKey(keys, 2);
    const theirs = encodePubkey(createMultisigThresholdPubkey(attestors.map((a) => encodeSecp256k1Pubkey(a.pubKey)), 2, true));
    expect(ours.typeUrl).toBe('/cosmos.crypto.multisig.LegacyAminoPubKey');
    expect(Buffer.from(ours.value).toString('hex')).toBe(Buffer.from(theirs.value).toString('hex'));
  });

  it('a 2-of-3 proof verifies as cosmos-sdk would; a tampered one does not', async () => {
    const keys = [key(), key(), key()];
    const attestors = keys.map((k) => new SoloAttestor(k, SoloSignatureRecord.open(join(dir(), 'r.jsonl'))));
    const seq = SoloMachineSequencer.open({ file: join(dir(), 'j.jsonl'), clientKey: 'cosmos:t-1/06-solomachine-0', attestors, threshold: 2, diversifier: 'qiao', ibcVersion: 'v8', logger: silentLogger(), nowNs: () => 5n });
    let got: SoloProof[] = [];
    await seq.run({
      current: async () => ({ sequence: 4n, timestamp: 10n, frozen: false }),
      paths: [{ path: 'connections/connection-0', value: utf8('conn') }],
      build: (proofs) => {
        got = proofs;
        return [];
      },
      submit: async () => undefined,
    });
    const p = got[0]!;
    expect(p.sequence).toBe(4n);
    expect(p.timestamp).toBe(10n); // consensus timestamp is later than "now": max wins
    expect(p.proofHeight).toEqual({ revisionNumber: 0n, revisionHeight: 4n });
    const tsd = TimestampedSignatureData.decode(p.proof);
    expect(tsd.timestamp).toBe(10n);
    const signBytes = soloSignBytes({ sequence: 4n, timestamp: 10n, diversifier: 'qiao', path: 'connections/connection-0', value: utf8('conn'), ibcVersion: 'v8' });
    const pk = soloPublicKey(keys, 2);
    expect(await verifyMultisig(pk, tsd.signatureData, signBytes)).toBe(true);
    const wrong = soloSignBytes({ sequence: 5n, timestamp: 10n, diversifier: 'qiao', path: 'connections/connection-0', value: utf8('conn'), ibcVersion: 'v8' });
    expect(await verifyMultisig(pk, tsd.signatureData, wrong)).toBe(false);
    const data = SignatureDescriptor_Data.decode(tsd.signatureData);
    expect(data.multi!.signatures).toHaveLength(2);
    expect(data.multi!.bitarray).toEqual({ extraBitsStored: 3, elems: Uint8Array.of(0b1100_0000) });
    seq.close();
  });
});

describe('solo signature record', () => {
  it('refuses a different payload at a signed sequence, across a restart', () => {
    const file = join(dir(), 'rec.jsonl');
    const r = SoloSignatureRecord.open(file);
    expect(r.put('c', 1n, D1)).toBe(true);
    expect(r.put('c', 1n, D1)).toBe(true);
    expect(r.put('c', 1n, D2)).toBe(false);
    expect(r.put('other', 1n, D2)).toBe(true);
    r.close();
    const again = SoloSignatureRecord.open(file);
    expect(again.get('c', 1n)).toBe(D1);
    expect(again.put('c', 1n, D2)).toBe(false);
    again.close();
  });

  it('the signer throws SoloEquivocationError for different bytes and re-signs the same bytes identically', () => {
    const file = join(dir(), 'rec.jsonl');
    const k = key();
    const rec = SoloSignatureRecord.open(file);
    const a = new SoloAttestor(k, rec);
    const s1 = a.sign('c', 3n, utf8('one'));
    expect(a.sign('c', 3n, utf8('one'))).toEqual(s1);
    let err: unknown;
    try {
      a.sign('c', 3n, utf8('two'));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SoloEquivocationError);
    expect((err as SoloEquivocationError).data).toEqual({ clientKey: 'c', sequence: '3' });
    // While it is open nobody else may append to the record; a restarted signer still refuses.
    expect(() => SoloSignatureRecord.open(file)).toThrow(SoloFileLockedError);
    rec.close();
    const b = new SoloAttestor(k, SoloSignatureRecord.open(file));
    expect(() => b.sign('c', 3n, utf8('two'))).toThrow(SoloEquivocationError);
    expect(b.sign('c', 3n, utf8('one'))).toEqual(s1);
  });

  it('tolerates a torn last line but not a corrupt middle line', () => {
    const file = join(dir(), 'rec.jsonl');
    const r = SoloSignatureRecord.open(file);
    r.put('c', 1n, D1);
    r.close();
    appendFileSync(file, '{"clientKey":"c","seq');
    const again = SoloSignatureRecord.open(file);
    expect(again.get('c', 1n)).toBe(D1);
    expect(again.put('c', 2n, D2)).toBe(true);
    again.close();
    const third = SoloSignatureRecord.open(file);
    expect(third.get('c', 2n)).toBe(D2);
    third.close();
    const bad = join(dir(), 'bad.jsonl');
    writeFileSync(bad, `not json\n${readFileSync(file, 'utf8')}`);
    expect(() => SoloSignatureRecord.open(bad)).toThrow(SoloRecordCorruptError);
  });
});

describe('solo machine sequencer', () => {
  function setup(threshold = 1, n = 1) {
    const d = dir();
    const keys = Array.from({ length: n }, key);
    const records = keys.map((_, i) => join(d, `rec-${i}.jsonl`));
    const open: SoloSignatureRecord[] = [];
    const mk = () => {
      const recs = records.map((f) => SoloSignatureRecord.open(f));
      open.push(...recs);
      return SoloMachineSequencer.open({
        file: join(d, 'journal.jsonl'),
        clientKey: 'cosmos:t-1/06-solomachine-0',
        attestors: keys.map((k, i) => new SoloAttestor(k, recs[i]!)),
        threshold,
        diversifier: 'qiao',
        ibcVersion: 'v9',
        logger: silentLogger(),
      });
    };
    /** A restart: the sequencer's journal and the attestors' records are released. */
    const stop = (s: SoloMachineSequencer) => {
      s.close();
      for (const r of open.splice(0)) r.close();
    };
    return { mk, keys, stop, journalFile: join(d, 'journal.jsonl') };
  }
  const recv = (proofs: SoloProof[], tag: string): EncodeObject[] =>
    proofs.map((p) => ({ typeUrl: '/ibc.core.channel.v1.MsgRecvPacket', value: MsgRecvPacket.fromPartial({ proofCommitment: p.proof, proofHeight: p.proofHeight, signer: tag }) }));

  it('signs multiple paths at consecutive sequences, after a header that takes the first', async () => {
    const { mk, keys } = setup(2, 3);
    const seq = mk();
    let sent: EncodeObject[] = [];
    await seq.run({
      current: async () => ({ sequence: 10n, timestamp: 0n, frozen: false }),
      header: true,
      paths: [{ path: 'a', value: utf8('1') }, { path: 'b', value: null }, { path: 'c', value: utf8('3') }],
      build: (proofs, update) => {
        expect(proofs.map((p) => p.sequence)).toEqual([11n, 12n, 13n]);
        expect(proofs.map((p) => p.proofHeight.revisionHeight)).toEqual([11n, 12n, 13n]);
        return [{ ...update!, value: { ...(update!.value as MsgUpdateClient), signer: 'cosmos1payer' } }, ...recv(proofs, 'x')];
      },
      submit: async (msgs) => {
        sent = msgs;
      },
    });
    expect(sent).toHaveLength(4);
    const upd = sent[0]!.value as MsgUpdateClient;
    expect(upd.clientId).toBe('06-solomachine-0');
    const header = Header.decode(upd.clientMessage!.value);
    const pk = soloPublicKey(keys, 2);
    expect(header.newPublicKey).toEqual(pk);
    const hsb = headerSignBytes({ sequence: 10n, timestamp: header.timestamp, diversifier: 'qiao', newPublicKey: pk, newDiversifier: 'qiao' });
    expect(await verifyMultisig(pk, header.signature, hsb)).toBe(true);
    const second = sent[2]!.value as MsgRecvPacket;
    const tsd = TimestampedSignatureData.decode(second.proofCommitment);
    expect(await verifyMultisig(pk, tsd.signatureData, soloSignBytes({ sequence: 12n, timestamp: tsd.timestamp, diversifier: 'qiao', path: 'b', value: null, ibcVersion: 'v9' }))).toBe(true);
    seq.close();
  });

  it('re-submits a journaled tx that did not land (same bytes) instead of signing new data, across a restart', async () => {
    const { mk, stop, journalFile } = setup();
    const first = mk();
    let chainSeq = 5n;
    const submitted: EncodeObject[][] = [];
    await expect(first.run({
      current: async () => ({ sequence: chainSeq, timestamp: 0n, frozen: false }),
      paths: [{ path: 'commitments/x', value: utf8('old') }],
      build: (proofs) => recv(proofs, 'old'),
      submit: async () => {
        throw new Error('crashed before the tx reached the chain');
      },
    })).rejects.toThrow('crashed');
    stop(first);
    appendFileSync(journalFile, '{"clientKey":"cosmos:t-1/06-sol'); // a crash mid-append of a later entry

    const second = mk(); // a restart: journal and records reopened from disk
    let built: SoloProof[] = [];
    const result = await second.run({
      current: async () => ({ sequence: chainSeq, timestamp: 0n, frozen: false }),
      // Asked only after the journaled tx was re-sent (and landed).
      paths: async () => {
        expect(submitted).toHaveLength(1);
        return [{ path: 'commitments/y', value: utf8('new') }];
      },
      build: (proofs) => {
        built = proofs;
        return recv(proofs, 'new');
      },
      submit: async (msgs) => {
        submitted.push(msgs);
        chainSeq += BigInt(msgs.length); // the model chain: each proof consumes one sequence
        return (msgs[0]!.value as MsgRecvPacket).signer;
      },
    });
    expect(submitted.map((m) => (m[0]!.value as MsgRecvPacket).signer)).toEqual(['old', 'new']);
    expect(result).toBe('new');
    expect(built[0]!.sequence).toBe(6n);
    second.close();
  });

  it('refuses to go on when the re-submitted tx does not move the sequence', async () => {
    const { mk } = setup();
    const s = mk();
    await expect(s.run({
      current: async () => ({ sequence: 2n, timestamp: 0n, frozen: false }),
      paths: [{ path: 'p', value: utf8('v') }],
      build: (proofs) => recv(proofs, 'a'),
      submit: async () => {
        throw new Error('lost');
      },
    })).rejects.toThrow('lost');
    let signedNew = false;
    await expect(s.run({
      current: async () => ({ sequence: 2n, timestamp: 0n, frozen: false }),
      paths: [{ path: 'q', value: utf8('w') }],
      build: (proofs) => {
        signedNew = true;
        return recv(proofs, 'b');
      },
      submit: async () => undefined,
    })).rejects.toBeInstanceOf(SoloSequenceStuckError);
    expect(signedNew).toBe(false);
    s.close();
  });

  it('serialises concurrent runs: the second reads the sequence after the first landed', async () => {
    const { mk } = setup();
    const s = mk();
    let chainSeq = 1n;
    const seen: bigint[] = [];
    const run = (tag: string) => s.run({
      current: async () => ({ sequence: chainSeq, timestamp: 0n, frozen: false }),
      paths: [{ path: tag, value: utf8(tag) }],
      build: (proofs) => {
        seen.push(proofs[0]!.sequence);
        return recv(proofs, tag);
      },
      submit: async (msgs) => {
        await new Promise((r) => setTimeout(r, 5));
        chainSeq += BigInt(msgs.length);
      },
    });
    await Promise.all([run('a'), run('b'), run('c')]);
    expect(seen).toEqual([1n, 2n, 3n]);
    s.close();
  });
});
