/**
 * The model beacon chain: one beacon block per slot in which the upstream
 * execution head moved, each with a reduced state that commits to the
 * finalized block (a fixed lag stands in for Casper FFG) and to the current and
 * next sync committees; light-client objects built from those blocks.
 */
import { BitArray } from '@chainsafe/ssz';
import { epochOf, hex, periodOf, slotAt, slotsPerPeriod, type ChainSpec } from './config.ts';
import { Committees, proposerSecret, proposerSigningRoot, signAggregate, signWith, syncCommitteeSigningRoot } from './committee.ts';
import { payloadHeaderOf, type AnvilBlock } from './execution.ts';
import {
  BeaconBlockHeader,
  ExecutionPayloadHeader,
  lightClientTypes,
  type BeaconBlockHeaderValue,
  type BootstrapValue,
  type FinalityUpdateValue,
  type LightClientHeaderValue,
  type LightClientTypes,
  type OptimisticUpdateValue,
  type UpdateValue,
} from './ssz.ts';
import { buildBody, buildState, type StateTree } from './tree.ts';

export interface BeaconBlock {
  slot: number;
  root: Uint8Array;
  header: LightClientHeaderValue;
  state: StateTree;
  /** The block this block's state holds as finalized (null: nothing final yet). */
  finalized: BeaconBlock | null;
  executionNumber: bigint;
  executionHash: `0x${string}`;
}

export interface BeaconFaults {
  forgeSignature: boolean;
  wrongExecutionBranch: boolean;
  wrongFinalityBranch: boolean;
}

/** What the served JSON needs besides the value: the fork its containers belong to. */
export interface Served<T> {
  version: string;
  value: T;
}

const MAX_SIGNATURE_CACHE = 4096;

export class BeaconChain {
  readonly types: LightClientTypes;
  readonly faults: BeaconFaults = { forgeSignature: false, wrongExecutionBranch: false, wrongFinalityBranch: false };
  private readonly blocks: BeaconBlock[] = [];
  private readonly byRoot = new Map<string, BeaconBlock>();
  private readonly committees: Committees;
  private readonly signatures = new Map<string, Uint8Array>();
  private readonly proposerSignatures = new Map<string, Uint8Array>();

  constructor(readonly spec: ChainSpec, private readonly seed: string, readonly finalityLagSlots: number) {
    this.types = lightClientTypes(spec.preset.name, spec.fork);
    this.committees = new Committees(spec.preset.syncCommitteeSize, seed);
  }

  currentSlot(nowMs = Date.now()): number {
    return slotAt(this.spec, nowMs);
  }

  head(): BeaconBlock | null {
    return this.blocks.at(-1) ?? null;
  }

  /** Warms the committee cache (a mainnet-size committee costs about a second to derive). */
  prepareCommittees(slot: number): void {
    const p = periodOf(this.spec, slot);
    this.committees.of(p);
    this.committees.of(p + 1);
  }

  /**
   * Adds the beacon block of `slot` carrying `execution` as its payload.
   * Slot 0 is genesis (a finalized slot 0 is the empty header to a light
   * client), so blocks start at slot 1.
   */
  produce(slot: number, execution: AnvilBlock): BeaconBlock {
    const last = this.head();
    if (slot < 1 || (last && slot <= last.slot)) throw new RangeError(`slot ${slot} is not after the head slot ${last?.slot ?? 0}`);
    const finalized = this.newestAtOrBefore(slot - this.finalityLagSlots);
    const period = periodOf(this.spec, slot);
    const state = buildState(this.spec, this.seed, {
      slot,
      finalized: finalized ? { epoch: epochOf(this.spec, finalized.slot), root: finalized.root } : { epoch: 0, root: new Uint8Array(32) },
      currentSyncCommitteeRoot: this.types.syncCommittee.hashTreeRoot(this.committees.of(period).committee),
      nextSyncCommitteeRoot: this.types.syncCommittee.hashTreeRoot(this.committees.of(period + 1).committee),
    });
    const payload = payloadHeaderOf(execution, this.seed);
    const body = buildBody(this.spec.fork, this.seed, slot, ExecutionPayloadHeader.hashTreeRoot(payload));
    const beacon: BeaconBlockHeaderValue = {
      slot,
      proposer_index: slot % 64,
      parent_root: last ? last.root : new Uint8Array(32),
      state_root: state.root,
      body_root: body.root,
    };
    const block: BeaconBlock = {
      slot,
      root: BeaconBlockHeader.hashTreeRoot(beacon),
      header: { beacon, execution: payload, execution_branch: body.executionBranch },
      state,
      finalized,
      executionNumber: BigInt(execution.number),
      executionHash: execution.hash as `0x${string}`,
    };
    this.blocks.push(block);
    this.byRoot.set(hex(block.root), block);
    return block;
  }

  newestAtOrBefore(slot: number): BeaconBlock | null {
    let lo = 0;
    let hi = this.blocks.length - 1;
    let found: BeaconBlock | null = null;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const b = this.blocks[mid]!;
      if (b.slot <= slot) {
        found = b;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  atSlot(slot: number): BeaconBlock | null {
    const b = this.newestAtOrBefore(slot);
    return b && b.slot === slot ? b : null;
  }

  byBlockRoot(root: string): BeaconBlock | null {
    return this.byRoot.get(root.toLowerCase()) ?? null;
  }

  /** The newest block the sync committee can have signed by now (its signature slot, attested + 1, has started). */
  attested(nowMs = Date.now()): BeaconBlock | null {
    return this.newestAtOrBefore(this.currentSlot(nowMs) - 1);
  }

  /** The finalized block the latest finality update proves. */
  finalized(nowMs = Date.now()): BeaconBlock | null {
    return this.attested(nowMs)?.finalized ?? null;
  }

  bootstrap(root: string): Served<BootstrapValue> | null {
    const b = this.byBlockRoot(root);
    if (!b) return null;
    return {
      version: this.spec.fork,
      value: {
        header: this.servedFinalizedHeader(b),
        current_sync_committee: this.committees.of(periodOf(this.spec, b.slot)).committee,
        current_sync_committee_branch: b.state.currentSyncCommitteeBranch,
      },
    };
  }

  finalityUpdate(nowMs = Date.now()): Served<FinalityUpdateValue> | null {
    const a = this.attested(nowMs);
    if (!a) return null;
    const { next_sync_committee: _n, next_sync_committee_branch: _b, ...rest } = this.update(a);
    return { version: this.spec.fork, value: rest };
  }

  optimisticUpdate(nowMs = Date.now()): Served<OptimisticUpdateValue> | null {
    const a = this.attested(nowMs);
    if (!a) return null;
    const u = this.update(a);
    return { version: this.spec.fork, value: { attested_header: u.attested_header, sync_aggregate: u.sync_aggregate, signature_slot: u.signature_slot } };
  }

  /**
   * The best update of each period from `startPeriod`, stopping at the first
   * period without one. Every candidate has full participation, so the choice
   * is among attested headers of the period whose signature slot is in the same
   * period (those carry the next committee the spec prefers); the newest is
   * served because it proves the most recent finality.
   */
  updates(startPeriod: number, count: number, nowMs = Date.now()): Served<UpdateValue>[] {
    const out: Served<UpdateValue>[] = [];
    const lastSigned = this.currentSlot(nowMs);
    const perPeriod = slotsPerPeriod(this.spec);
    for (let p = startPeriod; p < startPeriod + count; p++) {
      const inPeriod = (b: BeaconBlock | null): b is BeaconBlock => b !== null && periodOf(this.spec, b.slot) === p;
      let a = this.newestAtOrBefore(Math.min((p + 1) * perPeriod - 2, lastSigned - 1));
      // A period whose only block is in its last slot still has an update, signed by the next committee.
      if (!inPeriod(a)) a = this.newestAtOrBefore(Math.min((p + 1) * perPeriod - 1, lastSigned - 1));
      if (!inPeriod(a)) break;
      out.push({ version: this.spec.fork, value: this.update(a) });
    }
    return out;
  }

  /** The full update for attested block `a`, signed at a.slot + 1, with the faults switched on now. */
  private update(a: BeaconBlock): UpdateValue {
    const signatureSlot = a.slot + 1;
    const size = this.spec.preset.syncCommitteeSize;
    const bits = Array.from({ length: size }, () => true);
    const finalityBranch: Uint8Array[] = a.state.finalityBranch.map((n) => n.slice());
    if (this.faults.wrongFinalityBranch) finalityBranch[1] = flip(finalityBranch[1]!);
    return {
      attested_header: a.header,
      next_sync_committee: this.committees.of(periodOf(this.spec, a.slot) + 1).committee,
      next_sync_committee_branch: a.state.nextSyncCommitteeBranch,
      finalized_header: a.finalized ? this.servedFinalizedHeader(a.finalized) : this.types.header.defaultValue(),
      finality_branch: finalityBranch,
      sync_aggregate: { sync_committee_bits: BitArray.fromBoolArray(bits), sync_committee_signature: this.syncSignature(a.header.beacon, signatureSlot, bits) },
      signature_slot: signatureSlot,
    };
  }

  /** A finalized header as served: with the wrong-execution fault its payload header no longer matches the branch. */
  private servedFinalizedHeader(b: BeaconBlock): LightClientHeaderValue {
    if (!this.faults.wrongExecutionBranch) return b.header;
    return { ...b.header, execution: { ...b.header.execution, state_root: flip(b.header.execution.state_root) } };
  }

  private syncSignature(attested: BeaconBlockHeaderValue, signatureSlot: number, bits: boolean[]): Uint8Array {
    const forged = this.faults.forgeSignature;
    const message = syncCommitteeSigningRoot(this.spec, attested, signatureSlot);
    const key = `${hex(message)}/${forged}`;
    let sig = this.signatures.get(key);
    if (!sig) {
      const period = periodOf(this.spec, signatureSlot);
      sig = signAggregate(forged ? this.committees.outsider(period) : this.committees.of(period), bits, message);
      if (this.signatures.size >= MAX_SIGNATURE_CACHE) this.signatures.clear();
      this.signatures.set(key, sig);
    }
    return sig;
  }

  /** The proposer's signature over a block header (keys derived from the seed, one per proposer index). */
  proposerSignature(b: BeaconBlock): Uint8Array {
    const key = hex(b.root);
    let sig = this.proposerSignatures.get(key);
    if (!sig) {
      sig = signWith(proposerSecret(this.seed, b.header.beacon.proposer_index), proposerSigningRoot(this.spec, b.header.beacon));
      if (this.proposerSignatures.size >= MAX_SIGNATURE_CACHE) this.proposerSignatures.clear();
      this.proposerSignatures.set(key, sig);
    }
    return sig;
  }
}

function flip(node: Uint8Array): Uint8Array {
  const out = node.slice();
  out[0] = out[0]! ^ 0xff;
  return out;
}
