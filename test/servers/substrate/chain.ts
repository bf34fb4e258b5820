import { compactToU8a, stringToU8a, u8aConcat, u8aToHex } from '@polkadot/util';
import { blake2AsU8a } from '@polkadot/util-crypto';
import { isSupportedCall, makeDispatcher } from './dispatch.ts';
import { encodeEvents, encodeRecord, eventsOf, type Events, type Phase } from './events.ts';
import { checkExtrinsic, InvalidTransaction, type CheckedExtrinsic, type ValidationContext } from './extrinsics.ts';
import { encodeAuthorities, forcedChangeDigest, makeJustification, makeKeys, scheduledChangeDigest, u32le, u64le, type AuthorityKey, type AuthoritySet, type Justification } from './grandpa.ts';
import { multisigPallet } from './multisig.ts';
import { ReceiverModels } from './receiver.ts';
import type { Runtime } from './runtime.ts';
import { KEYS } from './storage.ts';
import { buildTrie, orderedTrieRoot, type StateTrie, type TrieLayout } from './trie.ts';

/**
 * The chain itself: a single best chain (no forks), each block sealed with a
 * real header over a real state trie. Blocks are finalized `finalityLag`
 * behind the head, each with its own GRANDPA justification signed by the set
 * that finalizes that height.
 */
export interface Block {
  number: number;
  hash: Uint8Array;
  hashHex: `0x${string}`;
  parentHash: Uint8Array;
  stateRoot: Uint8Array;
  extrinsicsRoot: Uint8Array;
  digest: Uint8Array[];
  header: Uint8Array;
  extrinsics: Uint8Array[];
  state: Map<string, Uint8Array>;
  trie: StateTrie;
  specVersion: number;
  justification: Justification | null;
}

export type TxStatus = 'ready' | { inBlock: `0x${string}` } | { finalized: `0x${string}` } | 'dropped' | 'invalid';

export interface ChainListener {
  imported(b: Block): void;
  finalized(b: Block): void;
  tx(hash: `0x${string}`, status: TxStatus): void;
}

export interface ChainOptions {
  seed: string;
  authorities: number;
  finalityLag: number;
  layout: TrieLayout;
  endowed: Uint8Array[];
  /** addresses of modelled receiver contracts (receiver.ts) */
  receivers?: readonly `0x${string}`[];
  /** a parachain: no GRANDPA justifications; finalizeTo() follows the relay (parachain.ts) */
  externalFinality?: boolean;
}

interface PendingSignal {
  forced: boolean;
  keys: AuthorityKey[];
  delay: number;
}

/** SCALE of an empty Vec<EventRecord> */
const EMPTY_EVENTS = Uint8Array.of(0);

export class Chain {
  readonly blocks: Block[] = [];
  private readonly byHash = new Map<string, Block>();
  private pool: CheckedExtrinsic[] = [];
  private readonly includedIn = new Map<string, Block>();
  /** each set with the first block number it finalizes */
  private readonly sets: { firstBlock: number; set: AuthoritySet }[] = [];
  private readonly knownKeys: AuthorityKey[] = [];
  private generation = 0;
  private signal: PendingSignal | null = null;
  private round = 0n;
  private pendingUpgrade: number | null = null;
  finalizedNumber = 0;
  readonly listeners = new Set<ChainListener>();
  private readonly events: Events;
  readonly faults = { forgeJustification: false, forgeReadProof: false, relabelRemarked: false, forgeParaHead: false };
  /** Paras::Heads values to write in the next block (setParaHead; a relay chain), and values another server feeds in (setNextStorage) */
  private readonly nextParaHeads = new Map<string, Uint8Array>();
  /** Another server's fault (the Frontier model's forgeStorage): the state whose trie a read proof is served from instead, or null for the real one. */
  readProofState: ((b: Block, keys: string[]) => Map<string, Uint8Array> | null) | null = null;
  readonly receivers: ReceiverModels;
  /** added to the wall clock for Timestamp::Now (advanceTime: a timeout reached without waiting) */
  private timeOffsetMs = 0;

  constructor(
    readonly runtime: Runtime,
    private readonly o: ChainOptions,
  ) {
    this.events = eventsOf(runtime);
    this.receivers = new ReceiverModels(o.receivers ?? []);
    const keys = makeKeys(o.seed, 0, o.authorities);
    this.knownKeys.push(...keys);
    this.sets.push({ firstBlock: 1, set: { setId: 0n, keys } });
    const state = new Map<string, Uint8Array>();
    for (const who of o.endowed) state.set(KEYS.account(who), this.accountInfo(0, 10n ** 21n));
    this.writeRuntime(state, runtime.baseSpecVersion);
    state.set(KEYS.number, u32le(0));
    state.set(KEYS.grandpaSetId, u64le(0n));
    // the authorities are part of genesis, so servers with different seeds have different genesis hashes
    state.set(KEYS.grandpaAuthorities, u8aConcat(Uint8Array.of(1), encodeAuthorities(keys)));
    this.seal(new Uint8Array(32), 0, state, [], [], runtime.baseSpecVersion);
  }

  get layout(): TrieLayout {
    return this.o.layout;
  }

  get head(): Block {
    return this.blocks[this.blocks.length - 1]!;
  }

  get genesis(): Block {
    return this.blocks[0]!;
  }

  block(hashOrNumber: string | number): Block | undefined {
    return typeof hashOrNumber === 'number' ? this.blocks[hashOrNumber] : this.byHash.get(hashOrNumber.toLowerCase());
  }

  setFor(n: number): AuthoritySet {
    let s = this.sets[0]!.set;
    for (const e of this.sets) if (e.firstBlock <= n) s = e.set;
    return s;
  }

  /** The set that signs the next finalized block: what a light client anchored at finalized() trusts. */
  currentSet(): AuthoritySet {
    return this.setFor(this.finalizedNumber + 1);
  }

  validationContext(): ValidationContext {
    return {
      runtime: this.runtime,
      specVersion: this.head.specVersion,
      genesisHash: this.genesis.hash,
      nextNumber: this.head.number + 1,
      blockHashAt: (n) => this.blocks[n]?.hash ?? null,
      nonceOf: (who) => this.nonceOf(who),
    };
  }

  nonceOf(who: Uint8Array, state = this.head.state): number {
    const raw = state.get(KEYS.account(who));
    if (!raw) return 0;
    return (this.runtime.registry.createType('FrameSystemAccountInfo', raw) as unknown as { nonce: { toNumber(): number } }).nonce.toNumber();
  }

  /** Next nonce counting what waits in the pool (system_accountNextIndex). */
  nextIndex(who: Uint8Array): number {
    let n = this.nonceOf(who);
    const mine = this.pool.filter((t) => u8aToHex(t.signer) === u8aToHex(who)).map((t) => t.nonce);
    while (mine.includes(n)) n++;
    return n;
  }

  submit(bytes: Uint8Array): CheckedExtrinsic {
    const tx = checkExtrinsic(this.validationContext(), bytes);
    if (!isSupportedCall(tx.call)) {
      throw new InvalidTransaction(1010, `call ${tx.call.section}.${tx.call.method} is not executed by this test runtime`);
    }
    const hex = u8aToHex(tx.hash);
    if (this.pool.some((t) => u8aToHex(t.hash) === hex) || this.includedIn.has(hex)) {
      throw Object.assign(new Error('Transaction Already Imported'), { code: 1013 });
    }
    this.pool.push(tx);
    return tx;
  }

  pending(): CheckedExtrinsic[] {
    return [...this.pool];
  }

  scheduleChange(next: AuthorityKey[] | 'rotate', delay: number, forced: boolean): void {
    const last = this.sets[this.sets.length - 1]!;
    if (this.signal || last.firstBlock > this.head.number + 1) throw new Error('an authority change is already pending');
    let keys: AuthorityKey[];
    if (next === 'rotate') {
      keys = makeKeys(this.o.seed, ++this.generation, this.o.authorities);
      this.knownKeys.push(...keys);
    } else {
      keys = next.map((k) => ({ ...(this.knownKeys.find((x) => u8aToHex(x.publicKey) === u8aToHex(k.publicKey)) ?? k), weight: k.weight }));
    }
    this.signal = { forced, keys, delay };
  }

  /** Moves the chain's clock forward: blocks produced from now on carry Timestamp::Now that much later. */
  advanceTime(ms: number): void {
    if (!Number.isSafeInteger(ms) || ms < 0) throw new Error('advanceTime: a non-negative number of milliseconds');
    this.timeOffsetMs += ms;
  }

  /** Timestamp::Now of a block (ms; 0 where none was set, as FRAME's ValueQuery default). */
  timestampOf(b: Block): bigint {
    const raw = b.state.get(KEYS.timestampNow);
    return raw ? Buffer.from(raw).readBigUInt64LE(0) : 0n;
  }

  upgradeRuntime(specVersion: number): void {
    this.pendingUpgrade = specVersion;
  }

  produceBlock(): Block {
    const parent = this.head;
    const number = parent.number + 1;
    const state = new Map(parent.state);
    const records: Uint8Array[] = [];
    const digest: Uint8Array[] = [];
    const E = this.events;
    const record = (phase: Phase, event: Uint8Array) => records.push(encodeRecord(phase, event));

    let specVersion = parent.specVersion;
    if (this.pendingUpgrade !== null) {
      specVersion = this.pendingUpgrade;
      this.pendingUpgrade = null;
      this.writeRuntime(state, specVersion);
      record('initialization', E.codeUpdated());
      digest.push(Uint8Array.of(8)); // DigestItem::RuntimeEnvironmentUpdated
    }
    if (this.signal) {
      const s = this.signal;
      this.signal = null;
      digest.push(s.forced ? forcedChangeDigest(this.finalizedNumber, s.keys, s.delay) : scheduledChangeDigest(s.keys, s.delay));
      const prev = this.sets[this.sets.length - 1]!.set;
      this.sets.push({ firstBlock: number + s.delay + 1, set: { setId: prev.setId + 1n, keys: s.keys } });
    }

    const extrinsics: Uint8Array[] = [];
    const included: CheckedExtrinsic[] = [];
    const dropped: CheckedExtrinsic[] = [];
    const ordered = [...this.pool].sort((a, b) => a.nonce - b.nonce);
    const dispatch = makeDispatcher({ events: E, relabelRemarked: this.faults.relabelRemarked, extra: multisigPallet(state, E, this.runtime.palletIndex('Multisig'), () => ({ height: number, index: extrinsics.length - 1 })),
      receivers: { models: this.receivers, palletIndex: this.runtime.palletIndex('Contracts') },
    });
    for (const tx of ordered) {
      const nonce = this.nonceOf(tx.signer, state);
      if (tx.nonce < nonce) {
        dropped.push(tx);
        continue;
      }
      if (tx.nonce > nonce) continue; // future: stays in the pool
      const i = extrinsics.length;
      extrinsics.push(tx.bytes);
      included.push(tx);
      this.bumpNonce(state, tx.signer);
      this.receivers.commit();
      const out = dispatch(tx.signer, tx.call);
      this.receivers.commit();
      for (const ev of out.events) record({ applyExtrinsic: i }, ev);
      // a plausible weight: the remark benchmark's base plus a per-byte cost
      const weight = 100_000_000 + tx.bytes.length * 1000;
      record({ applyExtrinsic: i }, out.error ? E.extrinsicFailed(out.error, weight) : E.extrinsicSuccess(weight));
    }
    this.pool = this.pool.filter((t) => !included.includes(t) && !dropped.includes(t));

    state.set(KEYS.number, u32le(number));
    state.set(KEYS.parentHash, parent.hash);
    // As pallet-timestamp's inherent sets it (no inherent extrinsic here): wall clock plus the test's offset, never going back.
    const now = BigInt(Date.now() + this.timeOffsetMs);
    const before = this.timestampOf(parent);
    state.set(KEYS.timestampNow, u64le(now > before ? now : before + 1n));
    state.set(KEYS.blockHash(u32le(parent.number)), parent.hash);
    if (number > 256) state.delete(KEYS.blockHash(u32le(number - 257)));
    state.set(KEYS.events, encodeEvents(records));
    for (const [key, head] of this.nextParaHeads) state.set(key, head);
    this.nextParaHeads.clear();
    state.set(KEYS.eventCount, u32le(records.length));
    const nextSet = this.setFor(number + 1);
    state.set(KEYS.grandpaSetId, u64le(nextSet.setId));
    state.set(KEYS.grandpaAuthorities, u8aConcat(Uint8Array.of(1), encodeAuthorities(nextSet.keys)));

    const b = this.seal(parent.hash, number, state, digest, extrinsics, specVersion);
    for (const tx of included) this.includedIn.set(u8aToHex(tx.hash), b);
    for (const l of this.listeners) l.imported(b);
    for (const tx of dropped) for (const l of this.listeners) l.tx(u8aToHex(tx.hash), 'dropped');
    for (const tx of included) for (const l of this.listeners) l.tx(u8aToHex(tx.hash), { inBlock: b.hashHex });
    if (!this.o.externalFinality) this.finalize(number - this.o.finalityLag);
    return b;
  }

  /** A relay chain: Paras::Heads(paraId) = HeadData(header) from the next block on. */
  setParaHead(key: string, header: Uint8Array): void {
    this.nextParaHeads.set(key, u8aConcat(compactToU8a(header.length), header));
  }

  /** Raw storage `key` = `value` from the next block on (a server that mirrors another ledger's state into this one). */
  setNextStorage(key: string, value: Uint8Array): void {
    this.nextParaHeads.set(key.toLowerCase(), value);
  }

  /** The trie of readProofState's forged state, or null when no override applies. */
  overriddenTrie(b: Block, keys: string[]): StateTrie | null {
    const state = this.readProofState?.(b, keys);
    return state ? buildTrie(state, this.o.layout) : null;
  }

  /** A parachain: final up to `target` because a finalized relay block holds it (no justification of its own). */
  finalizeTo(target: number): void {
    this.finalize(Math.min(target, this.head.number));
  }

  private finalize(target: number): void {
    while (this.finalizedNumber < target) {
      const b = this.blocks[this.finalizedNumber + 1]!;
      if (!this.o.externalFinality) b.justification = makeJustification(this.setFor(b.number), b.hash, b.number, ++this.round);
      this.finalizedNumber = b.number;
      for (const l of this.listeners) l.finalized(b);
      for (const [tx, at] of this.includedIn) if (at === b) for (const l of this.listeners) l.tx(tx as `0x${string}`, { finalized: b.hashHex });
    }
  }

  /** State trie for the forgeReadProof fault: the same state with a tampered System::Events value. */
  tamperedTrie(b: Block): StateTrie {
    const state = new Map(b.state);
    const ev = state.get(KEYS.events) ?? EMPTY_EVENTS;
    const forged = Uint8Array.from(ev);
    forged[forged.length - 1] = forged[forged.length - 1]! ^ 0xff;
    state.set(KEYS.events, ev.length > 1 ? forged : u8aConcat(ev, Uint8Array.of(0)));
    return buildTrie(state, this.o.layout);
  }

  private seal(parentHash: Uint8Array, number: number, state: Map<string, Uint8Array>, digest: Uint8Array[], extrinsics: Uint8Array[], specVersion: number): Block {
    const trie = buildTrie(state, this.o.layout);
    const extrinsicsRoot = orderedTrieRoot(extrinsics, this.o.layout);
    const header = u8aConcat(parentHash, compactToU8a(number), trie.root, extrinsicsRoot, compactToU8a(digest.length), ...digest);
    const hash = blake2AsU8a(header, 256);
    const b: Block = { number, hash, hashHex: u8aToHex(hash), parentHash, stateRoot: trie.root, extrinsicsRoot, digest, header, extrinsics, state, trie, specVersion, justification: null };
    this.blocks.push(b);
    this.byHash.set(b.hashHex, b);
    return b;
  }

  private writeRuntime(state: Map<string, Uint8Array>, specVersion: number): void {
    const { registry, specName } = this.runtime;
    state.set(KEYS.code, stringToU8a(`qiao-test-runtime:${specName}:${specVersion}`));
    state.set(KEYS.lastRuntimeUpgrade, registry.createType('FrameSystemLastRuntimeUpgradeInfo', { specVersion, specName }).toU8a());
  }

  private accountInfo(nonce: number, free: bigint): Uint8Array {
    return this.runtime.registry.createType('FrameSystemAccountInfo', { nonce, providers: 1, data: { free } }).toU8a();
  }

  private bumpNonce(state: Map<string, Uint8Array>, who: Uint8Array): void {
    const { registry } = this.runtime;
    const raw = state.get(KEYS.account(who));
    const info = raw ? registry.createType('FrameSystemAccountInfo', raw).toJSON() as Record<string, unknown> : { providers: 1, data: {} };
    info['nonce'] = Number(info['nonce'] ?? 0) + 1;
    state.set(KEYS.account(who), registry.createType('FrameSystemAccountInfo', info).toU8a());
  }
}
