import type { EncodeObject, Registry } from '@cosmjs/proto-signing';
import { Any } from 'cosmjs-types/google/protobuf/any';
import { MsgUpdateClient } from 'cosmjs-types/ibc/core/client/v1/tx';
import { Header, TimestampedSignatureData } from 'cosmjs-types/ibc/lightclients/solomachine/v3/solomachine';
import { QiaoError, ValidationError } from '../../../src/errors.ts';
import type { Logger } from '../../../src/logging.ts';
import { SoloJournal } from './journal.ts';
import { multisigPubKeyAny } from './keys.ts';
import { multisigSignatureData } from './multisig.ts';
import { decodeMsgs, encodeMsgs, qiaoCosmosRegistry } from './registry.ts';
import { headerSignBytes, soloSignBytes, type IbcVersion } from './sign-bytes.ts';
import type { SoloAttestor } from './signer.ts';

export const SOLO_HEADER_TYPE_URL = '/ibc.lightclients.solomachine.v3.Header';
export const MSG_UPDATE_CLIENT_TYPE_URL = '/ibc.core.client.v1.MsgUpdateClient';

export interface SoloPath {
  /** ICS-24 path without prefix, e.g. `commitments/ports/qiao/channels/channel-0/sequences/1`. */
  path: string;
  /** null: non-membership (absence) proof. */
  value: Uint8Array | null;
}

export interface SoloProof {
  /** Marshalled TimestampedSignatureData. */
  proof: Uint8Array;
  /** {0, the sequence this proof consumes}: what ibc-go expects of a solo machine (revision 0; v8's timestamp lookup wants the latest sequence). */
  proofHeight: { revisionNumber: bigint; revisionHeight: bigint };
  sequence: bigint;
  timestamp: bigint;
}

export interface SoloClientView {
  sequence: bigint;
  /** Consensus-state timestamp, ns. */
  timestamp: bigint;
  frozen: boolean;
}

export interface SoloRunOptions<T> {
  current(): Promise<SoloClientView>;
  /**
   * What to prove, or a function that says it AFTER any journaled tx was re-sent: a proof whose
   * message turns out redundant on chain (ibc-go skips a packet already received, without verifying
   * its proof) would not consume its sequence, misaligning every later proof of the tx — so a
   * deliverer should check receipts/commitments in this function, right before signing.
   */
  paths: SoloPath[] | (() => Promise<SoloPath[]>);
  /** Prepend a MsgUpdateClient header (moves the consensus timestamp forward, e.g. before MsgTimeout). */
  header?: boolean;
  /**
   * The least timestamp (ns) this run may sign with. A MsgTimeout needs the consensus timestamp at or
   * past the packet's timeout; the destination's cancel marker already says that time has come on the
   * clock the message's timeout runs on, which may be ahead of this machine's.
   */
  minTimestamp?: bigint;
  /**
   * Builds the tx's msgs from the proofs (in `paths` order). `update`, when asked for, is a
   * MsgUpdateClient whose `signer` is empty: set it (the fee payer) and put it first.
   */
  build(proofs: SoloProof[], update?: EncodeObject): EncodeObject[];
  submit(msgs: EncodeObject[]): Promise<T>;
}

/** The solo client is frozen (misbehaviour was submitted): nothing can be proven to it any more. */
export class SoloClientFrozenError extends QiaoError {
  constructor(readonly clientKey: string) {
    super('solo_client_frozen', `solo machine client ${clientKey} is frozen`, { data: { clientKey } });
  }
}

/**
 * A journaled tx holds the chain's current sequence and did not move it when sent again: signing
 * anything else there would equivocate, so the client needs an operator.
 */
export class SoloSequenceStuckError extends QiaoError {
  constructor(readonly clientKey: string, readonly sequence: bigint, message: string, options: { cause?: unknown } = {}) {
    super('solo_sequence_stuck', message, { ...options, data: { clientKey, sequence: sequence.toString() } });
  }
}

interface OpenOptions {
  /** The sequencer's own journal. */
  file: string;
  /** Names the client in records and journal, e.g. `cosmos:qiaotest-1/06-solomachine-0`. */
  clientKey: string;
  /** The client id on chain; defaults to the part of clientKey after its last '/'. */
  clientId?: string;
  /** ALL attestors of the set, in the multisig key order; the first `threshold` sign. */
  attestors: SoloAttestor[];
  threshold: number;
  diversifier: string;
  ibcVersion: IbcVersion;
  logger: Logger;
  registry?: Registry;
  /** Injected clock (ns) for tests. */
  nowNs?: () => bigint;
}

/**
 * The ONE writer of a solo machine client's sequence. Each proof consumes one sequence (ibc-go
 * increments it on every verification), so proofs must be signed and land in order, one tx at a
 * time per client; runs are serialised here. Every tx is journaled before it is submitted, and a tx
 * that holds the chain's current sequence is sent again — the same bytes — before anything new is
 * signed: never different data at a sequence (a solo machine that does that can be frozen).
 */
export class SoloMachineSequencer {
  private tail: Promise<unknown> = Promise.resolve();
  private readonly pubKey: Any;
  private readonly clientId: string;
  private readonly registry: Registry;
  private readonly nowNs: () => bigint;

  private constructor(private readonly o: OpenOptions, private readonly journal: SoloJournal) {
    if (o.attestors.length === 0) throw new ValidationError('attestors', 'a solo machine needs at least one attestor');
    this.pubKey = multisigPubKeyAny(o.attestors.map((a) => a.pubKey), o.threshold);
    this.clientId = o.clientId ?? o.clientKey.slice(o.clientKey.lastIndexOf('/') + 1);
    if (!this.clientId) throw new ValidationError('clientKey', 'names no client id');
    this.registry = o.registry ?? qiaoCosmosRegistry();
    this.nowNs = o.nowNs ?? (() => BigInt(Date.now()) * 1_000_000n);
  }

  static open(o: OpenOptions): SoloMachineSequencer {
    return new SoloMachineSequencer(o, SoloJournal.open(o.file));
  }

  /** The solo machine's public key (LegacyAminoPubKey Any) this sequencer signs for. */
  get publicKey(): Any {
    return this.pubKey;
  }

  run<T>(o: SoloRunOptions<T>): Promise<T> {
    const p = this.tail.then(() => this.runNow(o));
    this.tail = p.catch(() => undefined);
    return p;
  }

  close(): void {
    this.journal.close();
  }

  private async runNow<T>(o: SoloRunOptions<T>): Promise<T> {
    const log = this.o.logger;
    let cur = await this.view(o);
    const pending = this.journal.covering(this.o.clientKey, cur.sequence);
    if (pending) {
      const from = BigInt(pending.from);
      if (from !== cur.sequence) {
        throw new SoloSequenceStuckError(this.o.clientKey, cur.sequence, `journaled tx at ${from}..${from + BigInt(pending.count) - 1n} holds sequence ${cur.sequence} partly: the chain disagrees with the journal`);
      }
      log.warn({ clientKey: this.o.clientKey, sequence: cur.sequence.toString(), msgs: pending.msgs.length }, 'solo machine: re-submitting the journaled tx that has not landed');
      let failure: unknown;
      try {
        await o.submit(decodeMsgs(this.registry, pending.msgs));
      } catch (err) {
        failure = err;
      }
      cur = await this.view(o);
      if (cur.sequence <= from) {
        throw new SoloSequenceStuckError(this.o.clientKey, from, `journaled tx at solo sequence ${from} did not land when sent again (if it is still in a mempool, a later run finds it landed)`, { cause: failure });
      }
    }
    const paths = typeof o.paths === 'function' ? await o.paths() : o.paths;
    if (paths.length === 0 && !o.header) return o.submit(o.build([]));

    let sequence = cur.sequence;
    const first = sequence;
    const now = this.nowNs();
    let timestamp = now > cur.timestamp ? now : cur.timestamp;
    if (o.minTimestamp !== undefined && o.minTimestamp > timestamp) timestamp = o.minTimestamp;
    let update: EncodeObject | undefined;
    if (o.header) {
      const bytes = headerSignBytes({ sequence, timestamp, diversifier: this.o.diversifier, newPublicKey: this.pubKey, newDiversifier: this.o.diversifier });
      const header = Header.encode({ timestamp, signature: this.signAll(sequence, bytes), newPublicKey: this.pubKey, newDiversifier: this.o.diversifier }).finish();
      update = {
        typeUrl: MSG_UPDATE_CLIENT_TYPE_URL,
        value: MsgUpdateClient.fromPartial({ clientId: this.clientId, clientMessage: Any.fromPartial({ typeUrl: SOLO_HEADER_TYPE_URL, value: header }), signer: '' }),
      };
      sequence++;
    }
    const proofs: SoloProof[] = [];
    for (const p of paths) {
      const bytes = soloSignBytes({ sequence, timestamp, diversifier: this.o.diversifier, path: p.path, value: p.value, ibcVersion: this.o.ibcVersion });
      const proof = TimestampedSignatureData.encode({ signatureData: this.signAll(sequence, bytes), timestamp }).finish();
      proofs.push({ proof, proofHeight: { revisionNumber: 0n, revisionHeight: sequence }, sequence, timestamp });
      sequence++;
    }
    const msgs = o.build(proofs, update);
    this.journal.append({ clientKey: this.o.clientKey, from: first.toString(), count: Number(sequence - first), msgs: encodeMsgs(this.registry, msgs) });
    log.debug({ clientKey: this.o.clientKey, from: first.toString(), count: Number(sequence - first) }, 'solo machine: submitting signed tx');
    return o.submit(msgs);
  }

  private async view<T>(o: SoloRunOptions<T>): Promise<SoloClientView> {
    const cur = await o.current();
    if (cur.frozen) throw new SoloClientFrozenError(this.o.clientKey);
    if (cur.sequence < 1n) throw new ValidationError('sequence', `solo machine sequence ${cur.sequence} is below 1`);
    return cur;
  }

  /** k of n signatures (the first `threshold` attestors), each recorded durably before it exists. */
  private signAll(sequence: bigint, signBytes: Uint8Array): Uint8Array {
    const sigs = new Map<number, Uint8Array>();
    for (let i = 0; i < this.o.threshold; i++) sigs.set(i, this.o.attestors[i]!.sign(this.o.clientKey, sequence, signBytes));
    return multisigSignatureData(this.o.attestors.length, sigs);
  }
}
