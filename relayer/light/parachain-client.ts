import type { Logger } from 'pino';
import { ScaleError, ScaleReader } from '../../proofs/substrate/bytes.ts';
import { decodeHeader, verifyReadProof, type SubstrateHeader } from '../../proofs/substrate/index.ts';
import { loadRuntime, type SubstrateRuntime } from '../../proofs/substrate/remarks.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { parasHeadsKey } from '../../src/domain/substrate-storage.ts';
import { RpcError } from '../../src/errors.ts';
import { GrandpaLightClient, RUNTIME_NOT_APPROVED, RuntimeRefusedError, type GrandpaBlockSource, type GrandpaTrusted, type SubstrateLightClient } from './grandpa-client.ts';
import type { ParachainTrustRoot } from './grandpa-trust.ts';

/** The relay chain as the parachain client reads it: blocks for its GRANDPA client, and read proofs per endpoint. */
export interface RelayChainSource extends GrandpaBlockSource {
  endpointCount(): number;
  readProof(keys: readonly Hex[], at: Hex, endpoint: number): Promise<Hex[]>;
  close?(): Promise<void>;
}

type Refusal = { ok: false; reason: string; detail: string };
type Link = { hash: Hex; stateRoot: Hex; parentHash: Hex };

/** Verified parachain heights kept below the newest one. */
const KEEP = 4096;

/**
 * A light client for a parachain, which has no GRANDPA of its own: a para
 * block is final once a relay-chain block that GRANDPA finalized holds it (or
 * a descendant) in `Paras::Heads(paraId)`. It runs a GRANDPA client of the
 * relay chain (its own connections to the relay endpoints), reads
 * `Paras::Heads(paraId)` at a finalized relay block with a read proof checked
 * against that block's state root, decodes the head (its hash is blake2-256 of
 * the bytes), and walks the para headers down by parent hash, each hashed and
 * linked, to the heights asked for. It keeps one contiguous run of verified
 * heights, starting at the head the relay trust block holds (the base, whose
 * runtime the trust root pins). A header on the run that changes the runtime
 * (`RuntimeEnvironmentUpdated`) makes every height running another runtime
 * than the base's answer `runtime_not_approved` until governance re-anchors.
 * A forged read proof or a broken parent link is refused (the height is not
 * vouched), without halting: the relay state root, not the endpoint, is what
 * the client trusts, and the next honest answer verifies.
 */
export class ParachainLightClient implements SubstrateLightClient {
  private readonly relay: GrandpaLightClient;
  private readonly key: Hex;
  private readonly verified = new Map<number, Link>();
  /** Heights on the verified run whose header carries a runtime-upgrade digest (kept when the run is pruned). */
  private readonly upgrades = new Set<number>();
  private base: { number: number; hash: Hex } | null = null;
  private low = 0;
  private high = 0;
  /** The relay height the newest head was read at. */
  private relayAt = 0;
  private advancing: Promise<unknown> = Promise.resolve();
  private loadedRuntime: Promise<SubstrateRuntime> | null = null;

  constructor(
    private readonly trust: ParachainTrustRoot,
    private readonly sources: { relay: RelayChainSource; para: GrandpaBlockSource },
    private readonly logger?: Logger,
  ) {
    const { endpoints: _endpoints, ...anchor } = trust.relay;
    this.relay = new GrandpaLightClient(anchor, sources.relay, logger?.child({ light: 'grandpa-relay' }));
    this.key = parasHeadsKey(trust.paraId);
  }

  /** The relay client's halt: nothing of the parachain is final until governance re-anchors the relay chain. */
  get halted(): { reason: string; detail: string } | null {
    return this.relay.halted;
  }

  get height(): number {
    return this.high;
  }

  get relayHeight(): number {
    return this.relay.height;
  }

  /** The pinned parachain runtime: metadata at the base block, checked against the pinned hash. */
  runtime(): Promise<SubstrateRuntime> {
    this.loadedRuntime ??= (async () => {
      const started = await this.serialized(() => this.start());
      if (started) throw new RuntimeRefusedError(started.reason, started.detail);
      const bytes = await this.sources.para.metadataAt(this.base!.hash);
      const r = await loadRuntime(bytes, this.trust.runtime);
      if (!r.ok) throw new RuntimeRefusedError(r.reason, r.detail);
      return r.runtime;
    })();
    this.loadedRuntime.catch(() => (this.loadedRuntime = null));
    return this.loadedRuntime;
  }

  async trustedAt(height: bigint): Promise<GrandpaTrusted> {
    if (height > 0xffffffffn || height < 0n) return { ok: false, reason: 'height_mismatch', detail: `height ${height} is not a u32 block number` };
    const n = Number(height);
    return this.serialized(async () => {
      const refused = (await this.start()) ?? (n > this.high ? await this.advance() : n < this.low ? await this.extendDown(n) : null);
      if (refused) return refused;
      const notApproved = this.runtimeChange(n);
      if (notApproved !== null) {
        return { ok: false, reason: RUNTIME_NOT_APPROVED, detail: `para block #${n} runs another runtime than the pinned one (upgraded at #${notApproved}); governance must re-anchor with new runtime pins` };
      }
      const known = this.verified.get(n);
      if (known) return { ok: true, hash: known.hash, stateRoot: known.stateRoot };
      return { ok: false, reason: 'not_final', detail: `para block #${n} is not in a finalized relay block yet (the relay's newest finalized head of para ${this.trust.paraId} is #${this.high})` };
    });
  }

  async close(): Promise<void> {
    await this.sources.relay.close?.();
  }

  private serialized<T>(f: () => Promise<T>): Promise<T> {
    const run = this.advancing.then(f);
    this.advancing = run.catch(() => undefined);
    return run;
  }

  /** The para head the relay trust block holds becomes the base of the run. */
  private async start(): Promise<Refusal | null> {
    if (this.base) return null;
    const t = await this.relay.trustedAt(BigInt(this.trust.relay.height));
    if (!t.ok) return t;
    const head = await this.headAt(t.hash, t.stateRoot, this.trust.relay.height);
    if (!head.ok) return head;
    this.base = { number: head.header.number, hash: head.header.hash };
    this.low = this.high = head.header.number;
    this.relayAt = this.trust.relay.height;
    this.commit([head.header]);
    this.logger?.info({ paraId: this.trust.paraId, base: head.header.number, relay: this.trust.relay.height }, 'parachain light client anchored');
    return null;
  }

  /** Reads the newest para head of a finalized relay block and links it down to the run (heights above it stay not_final). */
  private async advance(): Promise<Refusal | null> {
    let relayAt = await this.sources.relay.finalizedHeight();
    if (relayAt <= this.relayAt) return null;
    let t = await this.relay.trustedAt(BigInt(relayAt));
    // Not every finalized relay block carries a justification: the relay client's newest justified block does as well.
    if (!t.ok && t.reason === 'not_final' && this.relay.height > this.relayAt) {
      relayAt = this.relay.height;
      t = await this.relay.trustedAt(BigInt(relayAt));
    }
    if (!t.ok) return t.reason === 'not_final' ? null : t;
    const head = await this.headAt(t.hash, t.stateRoot, relayAt);
    if (!head.ok) return head;
    const h = head.header;
    const top = this.verified.get(this.high)!;
    if (h.number < this.high || (h.number === this.high && h.hash !== top.hash)) {
      return { ok: false, reason: 'untrusted_header', detail: `relay block #${relayAt} holds para head #${h.number} (${h.hash}), not a descendant of the verified #${this.high} (${top.hash})` };
    }
    if (h.number > this.high) {
      const run = await this.walkDown(h, this.high, top.hash);
      if (!run.ok) return run;
      this.commit([h, ...run.headers]);
      this.high = h.number;
    }
    this.relayAt = relayAt;
    for (let k = this.low; this.high - k > KEEP; k++) this.verified.delete(k);
    this.low = Math.max(this.low, this.high - KEEP);
    return null;
  }

  /** Links heights below the run down from its lowest block (still vouched by the relay head above them). */
  private async extendDown(target: number): Promise<Refusal | null> {
    if (this.high - target > KEEP) return { ok: false, reason: 'untrusted_header', detail: `para block #${target} is outside the kept window (#${this.high - KEEP}..#${this.high})` };
    const lowest = this.verified.get(this.low)!;
    const run = await this.walkDown({ number: this.low, ...lowest }, target - 1, null);
    if (!run.ok) return run;
    this.commit(run.headers);
    this.low = target;
    return null;
  }

  /** Headers from `from.number - 1` down to `stop + 1`, each the parent of the one above; the last one's parent must be `stopHash` (when given). */
  private async walkDown(from: Link & { number: number }, stop: number, stopHash: Hex | null): Promise<{ ok: true; headers: SubstrateHeader[] } | Refusal> {
    const headers: SubstrateHeader[] = [];
    let child: Link & { number: number } = from;
    for (let m = from.number - 1; m > stop; m--) {
      const b = await this.blockAt(m);
      if (!b.ok) return b;
      if (b.header.hash !== child.parentHash) {
        return { ok: false, reason: 'untrusted_header', detail: `para block #${m} served is ${b.header.hash}; #${child.number} (${child.hash}) names parent ${child.parentHash}` };
      }
      headers.push(b.header);
      child = b.header;
    }
    if (stopHash !== null && child.parentHash !== stopHash) {
      return { ok: false, reason: 'untrusted_header', detail: `para block #${child.number} (${child.hash}) names parent ${child.parentHash}, the verified #${stop} is ${stopHash}` };
    }
    return { ok: true, headers };
  }

  private commit(headers: SubstrateHeader[]): void {
    for (const h of headers) {
      this.verified.set(h.number, { hash: h.hash, stateRoot: h.stateRoot, parentHash: h.parentHash });
      if (h.digest.some((d) => d.kind === 'runtimeEnvironmentUpdated') && !this.upgrades.has(h.number)) {
        this.upgrades.add(h.number);
        this.logger?.warn({ paraId: this.trust.paraId, at: h.number, pinned: this.trust.runtime.specVersion }, 'parachain runtime upgraded: blocks running the new runtime wait for governance to re-anchor with new pins');
      }
    }
  }

  /**
   * The upgrade height that separates `n` from the pinned runtime, or null.
   * Block x runs the code its parent's state holds; the pinned code is the
   * base's state's, and the base's own digest is the re-anchor's (as for the
   * solo client's trust block). So above the base an upgrade at u < n counts,
   * below it an upgrade at n <= u <= base does.
   */
  private runtimeChange(n: number): number | null {
    const base = this.base!.number;
    for (const u of this.upgrades) {
      if (n > base && u > base && u < n) return u;
      if (n < base && u >= n && u <= base) return u;
    }
    return null;
  }

  private async blockAt(n: number): Promise<{ ok: true; header: SubstrateHeader } | Refusal> {
    const b = await this.sources.para.blockAt(n);
    let header: SubstrateHeader;
    try {
      header = decodeHeader(b.header);
    } catch (e) {
      if (e instanceof ScaleError) return { ok: false, reason: 'header_malformed', detail: `para block #${n}: ${e.message}` };
      throw e;
    }
    if (header.number !== n) return { ok: false, reason: 'height_mismatch', detail: `asked the para endpoint for #${n}, it served #${header.number}` };
    return { ok: true, header };
  }

  /**
   * `Paras::Heads(paraId)` at a trusted relay block: each relay endpoint's read
   * proof in turn against the state root, so one lying endpoint cannot stall
   * the lane. Throws RpcError when no endpoint answered.
   */
  private async headAt(relayHash: Hex, stateRoot: Hex, relayHeight: number): Promise<{ ok: true; header: SubstrateHeader } | Refusal> {
    const failures: string[] = [];
    let down: unknown = null;
    for (let ep = 0; ep < this.sources.relay.endpointCount(); ep++) {
      let proof: Hex[];
      try {
        proof = await this.sources.relay.readProof([this.key], relayHash, ep);
      } catch (err) {
        if (!(err instanceof RpcError)) throw err;
        down = err;
        continue;
      }
      const r = verifyReadProof(stateRoot, proof, [this.key], 'v1');
      if (!r.ok) {
        failures.push(`relay endpoint ${ep}: ${r.reason}: ${r.detail}`);
        this.logger?.warn({ endpoint: ep, relayHeight, reason: r.reason, detail: r.detail }, 'Paras::Heads read proof rejected; relay endpoint flagged');
        continue;
      }
      const value = r.values[0];
      if (!value) return { ok: false, reason: 'untrusted_header', detail: `relay block #${relayHeight} holds no head of para ${this.trust.paraId} (Paras::Heads proven absent)` };
      try {
        // HeadData is a Vec<u8>: the SCALE header, length-prefixed.
        const reader = new ScaleReader(value);
        const bytes = reader.bytes();
        reader.end();
        return { ok: true, header: decodeHeader(bytes) };
      } catch (e) {
        if (e instanceof ScaleError) return { ok: false, reason: 'header_malformed', detail: `Paras::Heads(${this.trust.paraId}) at relay #${relayHeight}: ${e.message}` };
        throw e;
      }
    }
    if (failures.length > 0) return { ok: false, reason: 'storage_proof_invalid', detail: failures.join('; ') };
    throw down ?? new RpcError('relay', 'no relay endpoint');
  }
}
