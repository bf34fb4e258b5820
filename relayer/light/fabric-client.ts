import type { Logger } from 'pino';
import { blockHeaderHash, decodeBlock, decodeEndorserTransaction, decodeEnvelope, verifyBlock, type BlockContext, type ChannelConfig, type FabricBlock, type FabricVerifyOptions, type VerifiedBlock } from '../../proofs/fabric/index.ts';
import { METADATA_TRANSACTIONS_FILTER } from '../../proofs/fabric/block.ts';
import { HEADER_TYPE_ENDORSER_TRANSACTION } from '../../proofs/fabric/tx.ts';
import type { ChainAdapter } from '../../src/domain/adapter.ts';
import type { ChainRegistration } from '../../src/domain/chain.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { ConfigError, NotReadyError } from '../../src/errors.ts';
import type { MisbehaviourEvidence } from '../../src/index/types.ts';
import { decodeFabricTrustRoot, type FabricTrustState } from './fabric-trust.ts';
import { NOT_CHECKED, tallyValidation, withFilter } from '../verify-fabric.ts';

/**
 * What the light client reads from the chain's peers and orderer (the Fabric
 * adapter's `fabric` capability, adapters/fabric/adapter.ts `FabricBlocks`;
 * kept structural here so the relayer depends on the shape, not the adapter).
 * Nothing it returns is trusted.
 */
export interface FabricBlockSource {
  /** The number of the last committed block as endpoint i says. */
  latest(endpoint?: number): Promise<bigint>;
  /** Raw common.Block bytes of [from, to] from endpoint i. */
  blocks(from: bigint, to: bigint, endpoint?: number): Promise<Uint8Array[]>;
  /** Every peer endpoint's signed qscc GetTransactionByID answer (serialized ProposalResponse). */
  validationAnswers(txId: string): Promise<{ endpoint: number; mspId: string; response: Uint8Array }[]>;
  endpointCount(): number;
}

export type FabricTrusted =
  | { ok: true; height: bigint; hash: Hex; context: BlockContext }
  | { ok: false; reason: string; detail: string };

/** Reason of a block the ledger does not hold yet: the caller waits, nothing is refused. */
export const FABRIC_NOT_FINAL = 'not_final';
/** Reason once two validly signed blocks at one height were seen: the client is halted and the chain is to be frozen. */
export const FABRIC_MISBEHAVIOUR = 'misbehaviour';

export interface FabricClientOptions {
  logger?: Logger;
  /** The relayer's clock: certificates of transactions without a timestamp are judged at this time. */
  now?: () => Date;
  /** Organisations whose peers must sign that a transaction is valid (the finality rule's k). */
  k?: number;
  /** The registered endpoint URLs, by index, named in misbehaviour evidence. */
  endpoints?: readonly string[];
  /** The registered CAIP-2 chain id, named in misbehaviour evidence. */
  chainId?: string;
  /** Called once, with the evidence, when two validly signed blocks at one height are seen; the client is halted by then. */
  onMisbehaviour?: (e: MisbehaviourEvidence) => Promise<void> | void;
  /** Blocks fetched per request. */
  batch?: number;
  /** Verified blocks kept besides the trust root (older ones are verified again from the trust root when asked for). */
  keep?: number;
}

interface Entry {
  hash: Uint8Array;
  /** What was in force for this block: what the tx verifier re-verifies it with. */
  context: BlockContext;
  /** What is in force after it. */
  after: Pick<VerifiedBlock, 'config' | 'chaincodes'>;
}


const hex = (b: Uint8Array): Hex => `0x${Buffer.from(b).toString('hex')}` as Hex;
const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b));

/** Serves one endpoint's blocks for a walk; a failure is the endpoint's, never a verdict on the chain. */
type Served = { ok: true; blocks: FabricBlock[] } | { ok: false; down: unknown } | { ok: false; malformed: string };

/**
 * A Fabric light client for one channel, on the relayer side (proofs/fabric
 * does the verification). Fabric has no state root and no skipping: from the
 * registered config block it verifies every block in order — hash chain,
 * data hash, orderer signatures under the BlockValidation policy in force,
 * creators and endorsements of every transaction flagged valid — following
 * config blocks (new orderers and MSPs) and `_lifecycle` definitions (the
 * chaincodes' endorsement policies). Each block is fetched from the endpoints
 * in turn, so one bad endpoint cannot block the chain; a block that fails from
 * every endpoint that served it is refused. Two validly signed blocks at one
 * height are misbehaviour: the client halts and hands the evidence to
 * `onMisbehaviour`. Lives in memory; restarts from the registry's trust root.
 */
export class FabricLightClient {
  private readonly verified = new Map<bigint, Entry>();
  private advancing: Promise<unknown> = Promise.resolve();
  private failure: { reason: string; detail: string } | null = null;
  private preferred = 0;
  private readonly logger: Logger | undefined;
  private readonly now: () => Date;
  private readonly endpoints: readonly string[];
  private readonly chainId: string;
  private readonly onMisbehaviour: FabricClientOptions['onMisbehaviour'];
  private readonly batch: number;
  private readonly keep: number;
  private readonly root: Entry & { height: bigint };
  /** The number of organisations whose signed validation answers a transaction needs. */
  readonly organisations: number;

  constructor(
    private readonly state: FabricTrustState,
    private readonly source: FabricBlockSource,
    { logger, now = () => new Date(), k, endpoints = [], chainId, onMisbehaviour, batch = 50, keep = 1024 }: FabricClientOptions = {},
  ) {
    this.logger = logger;
    this.now = now;
    this.endpoints = endpoints;
    this.chainId = chainId ?? `fabric:${state.trust.channel}`;
    this.onMisbehaviour = onMisbehaviour;
    this.batch = Math.max(1, batch);
    this.keep = Math.max(1, keep);
    this.organisations = k ?? state.trust.organisations;
    const context: BlockContext = { config: state.config };
    const first = verifyBlock(state.block, context, this.options());
    // The trust root decoded already; a config block that does not verify alone is a registration error.
    if (!first.ok) throw new ConfigError(`chains.${this.chainId}.trustRoot.configBlock`, `${first.reason}: ${first.detail}`);
    this.root = { height: state.trust.height, hash: first.block.hash, context, after: { config: first.block.config, chaincodes: first.block.chaincodes } };
    this.verified.set(this.root.height, this.root);
  }

  /** The channel and port chaincode of the trust root. */
  get channel(): string {
    return this.state.trust.channel;
  }
  get chaincode(): string {
    return this.state.trust.chaincode;
  }

  /** Why the client stopped trusting the chain (misbehaviour), or null. */
  get halted(): { reason: string; detail: string } | null {
    return this.failure;
  }

  /** The highest verified block number (the trust root's before the first verification). */
  get height(): bigint {
    let top = this.root.height;
    for (const h of this.verified.keys()) if (h > top) top = h;
    return top;
  }

  /**
   * Block `height`, verified from the trust root: its header hash and the
   * context (config, previous block, chaincode policies) in force for it.
   * Endpoint failures are thrown when no endpoint could serve it: they are a
   * wait, not a verdict.
   */
  async trustedAt(height: bigint): Promise<FabricTrusted> {
    const run = this.advancing.then(() => this.verifyTo(height));
    this.advancing = run.catch(() => undefined);
    return run;
  }

  private options(): FabricVerifyOptions {
    // History is judged by its own time, as the committing peers judged it, not by when the relayer replays it.
    return { atTransactionTime: true, at: this.now() };
  }

  private answer(height: bigint, e: Entry): FabricTrusted {
    return { ok: true, height, hash: hex(e.hash), context: e.context };
  }

  private async latest(): Promise<bigint> {
    let top: bigint | null = null;
    let down: unknown = null;
    for (let ep = 0; ep < Math.max(1, this.source.endpointCount()); ep++) {
      try {
        const h = await this.source.latest(ep);
        if (top === null || h > top) top = h;
      } catch (err) {
        down ??= err;
      }
    }
    if (top === null) throw down;
    return top;
  }

  private async verifyTo(height: bigint): Promise<FabricTrusted> {
    if (this.failure) return { ok: false, ...this.failure };
    const known = this.verified.get(height);
    if (known) return this.answer(height, known);
    if (height < this.root.height) return { ok: false, reason: 'untrusted_header', detail: `block ${height} is below the trust root ${this.root.height}` };
    const latest = await this.latest();
    if (height > latest) return { ok: false, reason: FABRIC_NOT_FINAL, detail: `the ledger's last block is ${latest}, ${height} is not committed yet` };

    let base = this.root.height;
    for (const h of this.verified.keys()) if (h < height && h > base) base = h;
    // Blocks some endpoint served validly signed but not chained to ours: a second one at a height is misbehaviour.
    const orphans = new Map<bigint, { block: FabricBlock; hash: Uint8Array; endpoint: number }>();
    while (base < height) {
      const cursor = this.verified.get(base)!;
      const to = base + BigInt(this.batch) < height ? base + BigInt(this.batch) : height;
      const advanced = await this.walk(base, cursor, to, orphans);
      if (!advanced.ok) return advanced;
      // A fork met on the walk halts the client.
      const halted = this.halted;
      if (halted) return { ok: false, ...halted };
      base = advanced.height;
    }
    const got = this.verified.get(height)!;
    // After reading it: a re-walk below the kept range would have its own blocks evicted first.
    this.evict();
    const fork = await this.crossCheck(height, got);
    return fork ?? this.answer(height, got);
  }

  /**
   * Verifies blocks (base, to] from the endpoints in turn, keeping what each
   * verified; ok with the highest block verified once some progress is made.
   */
  private async walk(base: bigint, cursor: Entry, to: bigint, orphans: Map<bigint, { block: FabricBlock; hash: Uint8Array; endpoint: number }>): Promise<{ ok: true; height: bigint } | { ok: false; reason: string; detail: string }> {
    const count = Math.max(1, this.source.endpointCount());
    let first: { reason: string; detail: string } | null = null;
    let down: unknown = null;
    for (let i = 0; i < count; i++) {
      const ep = (this.preferred + i) % count;
      const served = await this.fetch(base + 1n, to, ep);
      if (!served.ok) {
        if ('down' in served) down ??= served.down;
        else {
          first ??= { reason: 'proof_malformed', detail: `endpoint ${ep}: ${served.malformed}` };
          this.logger?.warn({ endpoint: ep, from: String(base + 1n), detail: served.malformed }, 'Fabric blocks refused from this endpoint');
        }
        continue;
      }
      let prev = { number: base, hash: cursor.hash, after: cursor.after };
      let progressed = false;
      for (const block of served.blocks) {
        const context: BlockContext = { config: prev.after.config, previous: { number: prev.number, hash: prev.hash }, chaincodes: prev.after.chaincodes };
        const r = await this.verifyOne(block, context);
        if (!r.ok) {
          this.logger?.warn({ endpoint: ep, block: String(block.number), reason: r.reason, detail: r.detail }, 'Fabric block refused from this endpoint');
          first ??= { reason: r.reason, detail: `endpoint ${ep}: ${r.detail}` };
          if (r.reason === 'fabric_hash_chain_broken' && block.number === prev.number + 1n) {
            // Signed by the orderers under the config in force but linked to another parent: a fork, once a chained block at this height verifies.
            const alone = verifyBlock(block, { ...context, previous: { number: prev.number, hash: block.previousHash } }, this.options());
            if (alone.ok) orphans.set(block.number, { block, hash: alone.block.hash, endpoint: ep });
          }
          break;
        }
        const orphan = orphans.get(block.number);
        if (orphan && !same(orphan.hash, r.block.hash)) {
          await this.misbehaviour(block.number, { block, hash: r.block.hash, endpoint: ep }, orphan);
          return { ok: false, ...this.failure! };
        }
        const entry: Entry = { hash: r.block.hash, context, after: { config: r.block.config, chaincodes: r.block.chaincodes } };
        this.verified.set(block.number, entry);
        prev = { number: block.number, hash: entry.hash, after: entry.after };
        progressed = true;
      }
      if (progressed) {
        this.preferred = ep;
        return { ok: true, height: prev.number };
      }
    }
    // Some endpoint could not answer: the block may yet come from it, so this is a wait, not a verdict.
    if (down !== null) throw down;
    if (first) return { ok: false, ...first };
    return { ok: false, reason: FABRIC_NOT_FINAL, detail: `no endpoint served block ${base + 1n}` };
  }

  /**
   * verifyBlock, with the validation flags of chaincode definitions decided
   * by signed answers instead of the served TRANSACTIONS_FILTER (outside the
   * block hash): the endorsement policies every later proof is checked
   * under come from them, so one endpoint flipping a flag must neither
   * plant a definition nor hide one. The block is first verified without
   * them, so an endpoint serving a made-up block is refused before any
   * answer is asked for. Throws NotReadyError while peers of k
   * organisations have not answered either way.
   */
  private async verifyOne(block: FabricBlock, context: BlockContext): Promise<{ ok: true; block: VerifiedBlock } | { ok: false; reason: string; detail: string }> {
    const served = block.metadata[METADATA_TRANSACTIONS_FILTER] ?? new Uint8Array(0);
    const defs = definitionTxs(block);
    if (defs.size === 0 || served.length < block.data.length) return verifyBlock(block, context, this.options());
    const pre = verifyBlock(withFilter(block, (i) => (defs.has(i) ? NOT_CHECKED : served[i]!)), context, this.options());
    if (!pre.ok) return pre;
    const codes = new Map<number, number>();
    for (const [i, txId] of defs) codes.set(i, await this.definitionCode(block, i, txId, context.config, served[i]!));
    return verifyBlock(withFilter(block, (i) => codes.get(i) ?? served[i]!), context, this.options());
  }

  private async definitionCode(block: FabricBlock, index: number, txId: string, config: ChannelConfig, served: number): Promise<number> {
    const answers = await this.source.validationAnswers(txId);
    const t = tallyValidation(txId, answers.map((a) => a.response), block.data[index]!, config.msps, this.now());
    const k = this.organisations;
    const tally = `valid per ${[...t.valid].join(', ') || 'none'}, not valid per ${[...t.invalid].join(', ') || 'none'}`;
    if (t.valid.size >= k && t.invalid.size >= k) {
      this.logger?.error({ block: String(block.number), txId, valid: [...t.valid], invalid: [...t.invalid] }, 'peers of k organisations signed opposite validation codes for a chaincode definition');
      throw new NotReadyError(`chaincode definition tx ${txId} in block ${block.number}: signed answers conflict (${tally})`, 30_000);
    }
    if (t.valid.size >= k) return 0;
    if (t.invalid.size >= k) return served !== 0 ? served : NOT_CHECKED;
    throw new NotReadyError(`chaincode definition tx ${txId} in block ${block.number}: ${tally}; ${k} organisations must agree`, 1000);
  }

  private async fetch(from: bigint, to: bigint, endpoint: number): Promise<Served> {
    let raw: Uint8Array[];
    try {
      raw = await this.source.blocks(from, to, endpoint);
    } catch (down) {
      return { ok: false, down };
    }
    if (raw.length === 0) return { ok: false, down: new Error(`endpoint ${endpoint} served no block from ${from}`) };
    const blocks: FabricBlock[] = [];
    for (const [i, b] of raw.entries()) {
      try {
        blocks.push(decodeBlock(b));
      } catch (e) {
        return { ok: false, malformed: `block ${from + BigInt(i)} does not decode: ${(e as Error).message}` };
      }
    }
    return { ok: true, blocks };
  }

  /**
   * Asks every other endpoint for the block just verified: one that serves a
   * different block, validly signed under the config in force, proves that
   * the orderers signed two blocks at one height.
   */
  private async crossCheck(height: bigint, got: Entry): Promise<FabricTrusted | null> {
    if (height === this.root.height || !got.context.previous) return null;
    const count = this.source.endpointCount();
    if (count < 2) return null;
    for (let ep = 0; ep < count; ep++) {
      if (ep === this.preferred) continue;
      const served = await this.fetch(height, height, ep);
      if (!served.ok) continue;
      const other = served.blocks[0]!;
      if (other.number !== height) continue;
      const otherHash = blockHeaderHash(other);
      if (same(otherHash, got.hash)) continue;
      const alone = verifyBlock(other, { ...got.context, previous: { number: height - 1n, hash: other.previousHash } }, this.options());
      if (!alone.ok) {
        this.logger?.warn({ endpoint: ep, block: String(height), reason: alone.reason }, 'endpoint served another block at a verified height, not validly signed; endpoint flagged');
        continue;
      }
      const mine = await this.fetch(height, height, this.preferred);
      const block = mine.ok ? mine.blocks[0]! : null;
      await this.misbehaviour(height, { block, hash: got.hash, endpoint: this.preferred }, { block: other, hash: otherHash, endpoint: ep });
      return { ok: false, ...this.failure! };
    }
    return null;
  }

  private async misbehaviour(height: bigint, a: { block: FabricBlock | null; hash: Uint8Array; endpoint: number }, b: { block: FabricBlock; hash: Uint8Array; endpoint: number }): Promise<void> {
    const detail = `two validly signed blocks at height ${height}: ${hex(a.hash)} (endpoint ${a.endpoint}) and ${hex(b.hash)} (endpoint ${b.endpoint})`;
    this.failure = { reason: FABRIC_MISBEHAVIOUR, detail };
    this.logger?.fatal({ height: String(height), endpoints: [a.endpoint, b.endpoint], hashA: hex(a.hash), hashB: hex(b.hash) }, 'Fabric misbehaviour: two validly signed blocks at one height; light client halted');
    const header = (x: { block: FabricBlock | null; hash: Uint8Array }): Record<string, unknown> => ({
      hash: hex(x.hash),
      ...(x.block ? { number: String(x.block.number), previousHash: hex(x.block.previousHash), dataHash: hex(x.block.dataHash), metadata: x.block.metadata.map(hex) } : {}),
    });
    const evidence: MisbehaviourEvidence = {
      chainId: this.chainId,
      height,
      headerA: header(a),
      headerB: header(b),
      endpoints: [this.endpoints[a.endpoint] ?? `endpoint ${a.endpoint}`, this.endpoints[b.endpoint] ?? `endpoint ${b.endpoint}`],
    };
    try {
      await this.onMisbehaviour?.(evidence);
    } catch (err) {
      this.logger?.error({ err, height: String(height) }, 'misbehaviour handler failed; the light client stays halted');
    }
  }

  private evict(): void {
    if (this.verified.size <= this.keep + 1) return;
    const heights = [...this.verified.keys()].filter((h) => h !== this.root.height).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (const h of heights.slice(0, heights.length - this.keep)) this.verified.delete(h);
  }
}

/** The endorser transactions of a block that write chaincode definitions (`_lifecycle`, or `lscc` on 1.x), by index. */
function definitionTxs(block: FabricBlock): Map<number, string> {
  const out = new Map<number, string>();
  for (const [i, raw] of block.data.entries()) {
    try {
      const env = decodeEnvelope(raw);
      if (env.headerType !== HEADER_TYPE_ENDORSER_TRANSACTION) continue;
      const writes = decodeEndorserTransaction(env.data).some((a) => a.rwsets.some((ns) => (ns.namespace === '_lifecycle' || ns.namespace === 'lscc') && ns.writes.length > 0));
      if (writes) out.set(i, env.txId);
    } catch {
      // verifyBlock refuses what does not decode.
      return new Map();
    }
  }
  return out;
}

/**
 * The light client of a registered `lightClient: 'fabric'` chain, over its
 * adapter's `fabric` capability (what the relayer, the rebuild and the
 * attestors' source checks each connect). Throws ConfigError when the trust
 * root does not decode, does not match the registration, or the adapter
 * cannot serve blocks.
 */
export function fabricLightClientFor(
  reg: ChainRegistration,
  adapter: ChainAdapter,
  { logger, now, onMisbehaviour }: Pick<FabricClientOptions, 'logger' | 'now' | 'onMisbehaviour'> = {},
): FabricLightClient {
  const source = (adapter as { fabric?: FabricBlockSource }).fabric;
  if (!source) throw new ConfigError(`chains.${reg.chainId}.lightClient`, `the ${reg.family} adapter cannot serve blocks for a Fabric light client`);
  const state = decodeFabricTrustRoot(reg.trustRoot, reg.chainId);
  const field = `chains.${reg.chainId}`;
  if (reg.finality.kind !== 'fabric-validated') throw new ConfigError(`${field}.finality`, `a Fabric chain's finality rule is fabric-validated, not ${reg.finality.kind}`);
  const k = reg.finality.organisations;
  if (k !== state.trust.organisations) throw new ConfigError(`${field}.trustRoot.organisations`, `the trust root says ${state.trust.organisations} organisations, the finality rule ${k}`);
  // More than the channel has could never confirm a transaction: every message would be refused.
  if (k > state.config.applicationOrgs.size) throw new ConfigError(`${field}.finality.organisations`, `${k} organisations required, the channel has ${state.config.applicationOrgs.size}`);
  // The genesis block is the one the registry binds the chain id to.
  if (state.trust.height === 0n && hex(blockHeaderHash(state.block)) !== reg.genesisHash.toLowerCase()) {
    throw new ConfigError(`${field}.trustRoot.configBlock`, `the genesis block hashes to ${hex(blockHeaderHash(state.block))}, the registered genesis hash is ${reg.genesisHash}`);
  }
  const port = Buffer.from(reg.port.slice(2), 'hex').toString('utf8');
  if (port !== `${state.trust.channel}/${state.trust.chaincode}`) throw new ConfigError(`${field}.port`, `is "${port}", the trust root names ${state.trust.channel}/${state.trust.chaincode}`);
  return new FabricLightClient(state, source, {
    chainId: reg.chainId,
    // The adapter numbers peer endpoints only (the orderer serves no qscc), in registration order.
    endpoints: reg.endpoints.filter((u) => !/[?&]role=orderer(?:&|$)/.test(u)),
    k,
    ...(logger ? { logger: logger.child({ light: 'fabric' }) } : {}),
    ...(now ? { now } : {}),
    ...(onMisbehaviour ? { onMisbehaviour } : {}),
  });
}
