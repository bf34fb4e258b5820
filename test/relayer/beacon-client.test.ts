import { describe, expect, it } from 'vitest';
import { BitArray } from '@chainsafe/ssz';
import { keccak256 } from 'ethers';
import { hashHeader } from '../../proofs/evm/header.ts';
import { beaconRoot, executionRoot } from '../../proofs/beacon/header.ts';
import { syncCommitteeSigningRoot } from '../../proofs/beacon/signing.ts';
import { gindices, lightClientTypes } from '../../proofs/beacon/ssz.ts';
import { emptyExecutionHeader, emptyHeader, emptySyncCommittee, zeroBranch, type LightClientBootstrap, type LightClientFinalityUpdate, type LightClientHeader, type LightClientUpdate } from '../../proofs/beacon/types.ts';
import { BeaconApiClient, type BeaconApiSource } from '../../relayer/light/beacon-api.ts';
import { BEACON_NOT_FINAL, BeaconLightClient, beaconLightClientFor } from '../../relayer/light/beacon-client.ts';
import { checkSourceCommitments } from '../../relayer/source-check.ts';
import { beaconTrustRootFromNode } from '../../relayer/light/beacon-checkpoint.ts';
import { beaconChainConfig, decodeBeaconTrustRoot, encodeBeaconTrustRoot, type BeaconTrustRoot } from '../../relayer/light/beacon-trust.ts';
import type { ChainAdapter } from '../../src/domain/adapter.ts';
import type { ChainRegistration } from '../../src/domain/chain.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { ConfigError, NotReadyError, RpcError, ValidationError } from '../../src/errors.ts';
import { silentLogger } from '../../src/logging.ts';
import { committeeRoot, h, makeCommittee, minimalConfig, signAggregate, stateTree, type Committee } from '../proofs/fixtures/beacon/synthetic.ts';

/**
 * A synthetic Ethereum chain: execution block n is the payload of beacon slot
 * n (real headers, real keccak hashes, linked by parent hash), sync
 * committees of real BLS keys (fixture of test/proofs/beacon-synthetic).
 * Minimal preset: 64 slots per sync period.
 */
const GENESIS = 1_700_000_000;
const cfg = minimalConfig('deneb');
const A = makeCommittee(32, 'A');
const B = makeCommittee(32, 'B');
const C = makeCommittee(32, 'C');
const outsiders = makeCommittee(32, 'outsiders');

const hexOf = (b: Uint8Array): Hex => `0x${Buffer.from(b).toString('hex')}` as Hex;
const bytes = (x: string) => Uint8Array.from(Buffer.from(x.slice(2), 'hex'));
const q = (n: number | bigint) => `0x${n.toString(16)}`;

function evmChain(length: number): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  let parent = `0x${'00'.repeat(32)}`;
  for (let n = 0; n < length; n++) {
    const hdr: Record<string, unknown> = {
      parentHash: parent,
      sha3Uncles: keccak256('0xc0'),
      miner: `0x${'11'.repeat(20)}`,
      stateRoot: hexOf(h(`exec-state/${n}`)),
      transactionsRoot: hexOf(h(`tx/${n}`)),
      receiptsRoot: hexOf(h(`rc/${n}`)),
      logsBloom: `0x${'00'.repeat(256)}`,
      difficulty: '0x0',
      number: q(n),
      gasLimit: q(30_000_000),
      gasUsed: q(21_000 * (n % 3)),
      timestamp: q(GENESIS + n),
      extraData: '0x',
      mixHash: hexOf(h(`randao/${n}`)),
      nonce: '0x0000000000000000',
      baseFeePerGas: q(7),
      withdrawalsRoot: hexOf(h(`wd/${n}`)),
      blobGasUsed: '0x0',
      excessBlobGas: '0x0',
      parentBeaconBlockRoot: hexOf(h(`pbr/${n}`)),
    };
    const r = hashHeader(hdr);
    if (!r.ok) throw new Error(r.detail);
    hdr.hash = r.hash;
    out.push(hdr);
    parent = r.hash;
  }
  return out;
}

const chain = evmChain(400);

/** A light-client header at `slot` whose proven execution payload is execution block `slot`. */
function lcHeader(slot: number, stateRoot: Uint8Array): LightClientHeader {
  const b = chain[slot]!;
  const execution = {
    ...emptyExecutionHeader(),
    parent_hash: bytes(b.parentHash as string),
    state_root: bytes(b.stateRoot as string),
    receipts_root: bytes(b.receiptsRoot as string),
    block_number: slot,
    gas_limit: 30_000_000,
    timestamp: GENESIS + slot,
    base_fee_per_gas: 7n,
    block_hash: bytes(b.hash as string),
  };
  const draft: LightClientHeader = { beacon: { slot, proposer_index: slot % 5, parent_root: h(`parent/${slot}`), state_root: stateRoot, body_root: new Uint8Array(32) }, execution, execution_branch: [] };
  const body = stateTree(4, new Map([[25, executionRoot(cfg, draft)]]), `body/${slot}`);
  return { ...draft, beacon: { ...draft.beacon, body_root: body.root }, execution_branch: body.branch(25) };
}

function bootstrapAt(slot: number, current: Committee): { bootstrap: LightClientBootstrap; root: Hex } {
  const g = gindices('deneb');
  const tree = stateTree(Math.floor(Math.log2(g.finalizedRoot)), new Map([[g.currentSyncCommittee, committeeRoot(cfg, current.committee, slot)]]), `state/${slot}`);
  const header = lcHeader(slot, tree.root);
  return { bootstrap: { header, current_sync_committee: current.committee, current_sync_committee_branch: tree.branch(g.currentSyncCommittee) }, root: hexOf(beaconRoot(header)) };
}

function update(u: { attested: number; finalized?: number; next?: Committee; signers: Committee; participants?: number }): LightClientUpdate {
  const g = gindices('deneb');
  const depth = Math.floor(Math.log2(g.finalizedRoot));
  const finalized = u.finalized === undefined ? undefined : lcHeader(u.finalized, h(`fstate/${u.finalized}`));
  const pinned = new Map<number, Uint8Array>();
  if (finalized) pinned.set(g.finalizedRoot, beaconRoot(finalized));
  if (u.next) pinned.set(g.nextSyncCommittee, committeeRoot(cfg, u.next.committee, u.attested));
  const tree = stateTree(depth, pinned, `astate/${u.attested}`);
  const attested = lcHeader(u.attested, tree.root);
  const bits = Array.from({ length: 32 }, (_, i) => i < (u.participants ?? 32));
  const signatureSlot = u.attested + 1;
  return {
    attested_header: attested,
    next_sync_committee: u.next ? u.next.committee : emptySyncCommittee(32),
    next_sync_committee_branch: u.next ? tree.branch(g.nextSyncCommittee) : zeroBranch(Math.floor(Math.log2(g.nextSyncCommittee))),
    finalized_header: finalized ?? emptyHeader(),
    finality_branch: finalized ? tree.branch(g.finalizedRoot) : zeroBranch(depth),
    sync_aggregate: { sync_committee_bits: BitArray.fromBoolArray(bits), sync_committee_signature: signAggregate(u.signers, bits, syncCommitteeSigningRoot(cfg, attested.beacon, signatureSlot)) },
    signature_slot: signatureSlot,
  };
}

function finality(u: LightClientUpdate): LightClientFinalityUpdate {
  return { attested_header: u.attested_header, finalized_header: u.finalized_header, finality_branch: u.finality_branch, sync_aggregate: u.sync_aggregate, signature_slot: u.signature_slot };
}

const BOOT = bootstrapAt(16, A);

const trust: BeaconTrustRoot = {
  preset: 'minimal',
  genesisValidatorsRoot: hexOf(h('gvr')),
  genesisTime: GENESIS,
  secondsPerSlot: 1,
  forks: {
    phase0: { version: '0x00000001', epoch: 0 },
    altair: { version: '0x01000001', epoch: 0 },
    bellatrix: { version: '0x02000001', epoch: 0 },
    capella: { version: '0x03000001', epoch: 0 },
    deneb: { version: '0x04000001', epoch: 0 },
    electra: { version: '0x05000001', epoch: null },
    fulu: { version: '0x06000001', epoch: null },
  },
  trustedBlockRoot: BOOT.root,
  beaconEndpoints: ['http://beacon.test'],
};

/** A Beacon API as the test scripts it; counts calls. */
class FakeApi implements BeaconApiSource {
  readonly name: string;
  periods = new Map<number, LightClientUpdate>();
  finalityUpdateNow: LightClientFinalityUpdate | null = null;
  down = false;
  calls: string[] = [];
  constructor(name = 'fake') {
    this.name = name;
  }
  async bootstrap(root: Hex): Promise<LightClientBootstrap> {
    this.calls.push('bootstrap');
    if (this.down) throw new RpcError(this.name, 'down');
    if (root !== BOOT.root) throw new RpcError(this.name, 'HTTP 404');
    return BOOT.bootstrap;
  }
  async updates(start: number, count: number): Promise<LightClientUpdate[]> {
    this.calls.push(`updates:${start}:${count}`);
    if (this.down) throw new RpcError(this.name, 'down');
    const out: LightClientUpdate[] = [];
    for (let p = start; p < start + count && this.periods.has(p); p++) out.push(this.periods.get(p)!);
    return out;
  }
  async finalityUpdate(): Promise<LightClientFinalityUpdate> {
    this.calls.push('finality');
    if (this.down) throw new RpcError(this.name, 'down');
    if (!this.finalityUpdateNow) throw new RpcError(this.name, 'HTTP 404');
    return this.finalityUpdateNow;
  }
}

function headerSource(alter?: (n: number, hdr: Record<string, unknown>) => Record<string, unknown>) {
  const calls: string[] = [];
  const fetch = async (from: bigint, to: bigint, endpoint = 0) => {
    calls.push(`${endpoint}:${from}-${to}`);
    const out: Record<string, unknown>[] = [];
    for (let n = Number(from); n <= Number(to); n++) out.push(endpoint === 0 && alter ? alter(n, { ...chain[n]! }) : { ...chain[n]! });
    return out;
  };
  return { fetch, calls };
}

function setup({ slot = 30, alter, executionEndpoints = 1, sources }: { slot?: number; alter?: (n: number, hdr: Record<string, unknown>) => Record<string, unknown>; executionEndpoints?: number; sources?: FakeApi[] } = {}) {
  const clock = { ms: (GENESIS + slot) * 1000 };
  const api = sources ?? [new FakeApi()];
  const hs = headerSource(alter);
  const lc = new BeaconLightClient(trust, api, hs.fetch, { logger: silentLogger(), now: () => clock.ms, executionEndpoints });
  const at = (s: number) => (clock.ms = (GENESIS + s) * 1000);
  return { lc, api: api[0]!, apis: api, hs, clock, at };
}

const blockAt = (n: number) => ({ ok: true, hash: (chain[n]!.hash as string).toLowerCase(), stateRoot: (chain[n]!.stateRoot as string).toLowerCase() });

describe('beacon trust root', () => {
  it('round-trips, converts to the proofs/beacon config, and refuses bad input with the field named', () => {
    const bytes_ = encodeBeaconTrustRoot(trust);
    expect(decodeBeaconTrustRoot(bytes_, 'eip155:1')).toEqual(trust);
    const c = beaconChainConfig(trust);
    expect(c).toEqual(cfg);
    expect(c.forks.electra.epoch).toBe(Infinity);
    const bad = (patch: Record<string, unknown>) => `0x${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(bytes_.slice(2), 'hex').toString()), ...patch })).toString('hex')}` as Hex;
    const fieldOf = (x: Hex) => {
      try {
        decodeBeaconTrustRoot(x, 'eip155:1');
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return (e as ConfigError).field;
      }
      return null;
    };
    expect(fieldOf(bad({ trustedBlockRoot: '0x12' }))).toBe('chains.eip155:1.trustRoot.trustedBlockRoot');
    expect(fieldOf(bad({ beaconEndpoints: ['ftp://x'] }))).toBe('chains.eip155:1.trustRoot.beaconEndpoints.0');
    expect(fieldOf(bad({ extra: 1 }))).toBe('chains.eip155:1.trustRoot');
    expect(fieldOf(bad({ forks: { ...trust.forks, deneb: { version: '0x04000001', epoch: 5 }, capella: { version: '0x03000001', epoch: 9 } } }))).toBe('chains.eip155:1.trustRoot.forks.deneb.epoch');
    expect(fieldOf(bad({ forks: { ...trust.forks, capella: { version: '0x03000001', epoch: null }, deneb: { version: '0x04000001', epoch: null } } }))).toBe('chains.eip155:1.trustRoot.forks.capella.epoch');
    expect(fieldOf('0xzz' as Hex)).toBe('chains.eip155:1.trustRoot');
  });
});

describe('Beacon API client', () => {
  const types = lightClientTypes(cfg.preset, 'deneb');
  const serve = (routes: Record<string, () => Response>) => {
    const seen: string[] = [];
    const f = (async (input: string | URL | Request) => {
      const u = new URL(String(input));
      seen.push(u.pathname + u.search);
      const r = routes[u.pathname + u.search] ?? routes[u.pathname];
      if (!r) return new Response(JSON.stringify({ code: 404, message: 'not found' }), { status: 404 });
      return r();
    }) as typeof fetch;
    return { f, seen };
  };
  const json = (v: unknown, status = 200) => new Response(JSON.stringify(v), { status, headers: { 'content-type': 'application/json' } });

  it('decodes the standard JSON into proofs/beacon objects', async () => {
    const u = update({ attested: 40, finalized: 24, next: B, signers: A });
    const { f, seen } = serve({
      [`/eth/v1/beacon/light_client/bootstrap/${BOOT.root}`]: () => json({ version: 'deneb', data: types.bootstrap.toJson(BOOT.bootstrap as never) }),
      '/eth/v1/beacon/light_client/updates?start_period=0&count=2': () => json([{ version: 'deneb', data: types.update.toJson(u as never) }]),
      '/eth/v1/beacon/light_client/finality_update': () => json({ version: 'deneb', data: types.finalityUpdate.toJson(finality(u) as never) }),
    });
    const c = new BeaconApiClient('http://user:secret@beacon.test/', cfg.preset, { fetchImpl: f });
    expect(c.name).not.toContain('secret');
    const b = await c.bootstrap(BOOT.root);
    expect(hexOf(beaconRoot(b.header))).toBe(BOOT.root);
    const us = await c.updates(0, 2);
    expect(us).toHaveLength(1);
    expect(us[0]!.signature_slot).toBe(41);
    expect((await c.finalityUpdate()).finalized_header.beacon.slot).toBe(24);
    expect(seen).toHaveLength(3);
  });

  it('an endpoint down or failing is an RpcError (redacted); an answer that does not decode is a ValidationError', async () => {
    const { f } = serve({
      '/eth/v1/beacon/light_client/finality_update': () => json({ code: 500, message: 'boom' }, 500),
      '/eth/v1/beacon/light_client/updates?start_period=0&count=1': () => json({ version: 'deneb', data: { nonsense: true } }),
      [`/eth/v1/beacon/light_client/bootstrap/${BOOT.root}`]: () => new Response('not json', { status: 200 }),
    });
    const c = new BeaconApiClient('http://user:secret@beacon.test', cfg.preset, { fetchImpl: f });
    const e1 = await c.finalityUpdate().catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(RpcError);
    expect(String((e1 as Error).message)).not.toContain('secret');
    await expect(c.updates(0, 1)).rejects.toBeInstanceOf(ValidationError);
    await expect(c.bootstrap(BOOT.root)).rejects.toBeInstanceOf(ValidationError);
    await expect(c.bootstrap(h('unknown') as never)).rejects.toBeInstanceOf(ValidationError);
    await expect(c.bootstrap(hexOf(h('unknown')))).rejects.toBeInstanceOf(RpcError);
    const dead = new BeaconApiClient('http://127.0.0.1:1', cfg.preset, { timeoutMs: 2000 });
    await expect(dead.finalityUpdate()).rejects.toBeInstanceOf(RpcError);
  });
});

describe('trust root from a beacon node', () => {
  it('reads genesis, config and the finalized root, and checks the node bootstraps from it', async () => {
    const spec: Record<string, string> = { PRESET_BASE: 'minimal', SECONDS_PER_SLOT: '1', GENESIS_FORK_VERSION: '0x00000001' };
    ['ALTAIR', 'BELLATRIX', 'CAPELLA', 'DENEB', 'ELECTRA', 'FULU'].forEach((n, i) => {
      spec[`${n}_FORK_VERSION`] = `0x0${i + 1}000001`;
      spec[`${n}_FORK_EPOCH`] = i <= 3 ? '0' : '18446744073709551615';
    });
    const types = lightClientTypes(cfg.preset, 'deneb');
    const routes: Record<string, unknown> = {
      '/eth/v1/beacon/genesis': { data: { genesis_time: String(GENESIS), genesis_validators_root: hexOf(h('gvr')), genesis_fork_version: '0x00000001' } },
      '/eth/v1/config/spec': { data: spec },
      '/eth/v1/beacon/headers/finalized': { data: { root: BOOT.root, canonical: true, header: { message: {}, signature: '0x' } } },
      [`/eth/v1/beacon/light_client/bootstrap/${BOOT.root}`]: { version: 'deneb', data: types.bootstrap.toJson(BOOT.bootstrap as never) },
    };
    const fetchImpl = (async (input: string | URL | Request) => {
      const body = routes[new URL(String(input)).pathname];
      return body ? new Response(JSON.stringify(body)) : new Response('{"code":404}', { status: 404 });
    }) as typeof fetch;
    expect(await beaconTrustRootFromNode('http://beacon.test', { fetchImpl })).toEqual(trust);
    routes['/eth/v1/beacon/headers/finalized'] = { data: { root: hexOf(h('elsewhere')) } };
    await expect(beaconTrustRootFromNode('http://beacon.test', { fetchImpl })).rejects.toBeInstanceOf(RpcError);
  });
});

describe('beacon light client', () => {
  it('bootstraps from the trusted root, vouches for its execution block, and links lower heights by parent hash', async () => {
    const { lc, api, hs } = setup();
    expect(lc.height).toBe(-1n);
    expect(lc.trustExpiresAt()).toBeNull();
    expect(await lc.trustedAt(16n)).toEqual(blockAt(16));
    expect(lc.height).toBe(16n);
    expect(api.calls[0]).toBe('bootstrap');
    expect(await lc.trustedAt(10n)).toEqual(blockAt(10));
    expect(hs.calls).toEqual(['0:10-15']);
    // Heights linked once are answered from memory.
    expect(await lc.trustedAt(12n)).toEqual(blockAt(12));
    expect(hs.calls).toHaveLength(1);
    // Period 0 ends at slot 63: expiry is the start of period 2.
    expect(lc.trustExpiresAt()).toBe(GENESIS + 128);
  });

  it('waits (not_final) above the finalized block, then finality updates advance it', async () => {
    const { lc, api, at } = setup();
    // The node has no finality update yet: a wait (the endpoint's RpcError), heights at or below the bootstrap still answer.
    await expect(lc.trustedAt(30n)).rejects.toBeInstanceOf(RpcError);
    expect(await lc.trustedAt(16n)).toEqual(blockAt(16));
    api.finalityUpdateNow = finality(update({ attested: 26, finalized: 24, signers: A }));
    at(31);
    const r = await lc.trustedAt(30n);
    expect(r.ok === false && r.reason).toBe(BEACON_NOT_FINAL);
    expect(r.ok === false && r.reason).toBe('not_final');
    expect(lc.height).toBe(24n);
    api.periods.set(0, update({ attested: 40, finalized: 32, next: B, signers: A }));
    api.finalityUpdateNow = finality(update({ attested: 50, finalized: 40, signers: A }));
    at(52);
    expect(await lc.trustedAt(40n)).toEqual(blockAt(40));
    expect(await lc.trustedAt(30n)).toEqual(blockAt(30));
    const above = await lc.trustedAt(41n);
    expect(above.ok === false && above.reason).toBe(BEACON_NOT_FINAL);
    // Below 2/3 participation a finality update is not finality: still waiting, nothing refused.
    api.finalityUpdateNow = finality(update({ attested: 56, finalized: 48, signers: A, participants: 20 }));
    at(58);
    const weak = await lc.trustedAt(48n);
    expect(weak.ok === false && weak.reason).toBe(BEACON_NOT_FINAL);
    expect(lc.height).toBe(40n);
  });

  it('catches up period by period across a committee hand-over', async () => {
    const { lc, api, at } = setup();
    expect(await lc.trustedAt(16n)).toEqual(blockAt(16));
    // Period 0's update names B; period 1's is signed by B and names C; period 2's finality update is signed by C.
    api.periods.set(0, update({ attested: 40, finalized: 32, next: B, signers: A }));
    api.periods.set(1, update({ attested: 100, finalized: 90, next: C, signers: B }));
    api.finalityUpdateNow = finality(update({ attested: 140, finalized: 136, signers: C }));
    at(142);
    // Following the chain without a height to answer (what keeps trustExpiresAt current for the metric).
    await lc.refresh();
    expect(lc.height).toBe(136n);
    expect(await lc.trustedAt(136n)).toEqual(blockAt(136));
    expect(api.calls).toContain('updates:0:3');
    expect(lc.halted).toBeNull();
    expect(lc.trustExpiresAt()).toBe(GENESIS + 4 * 64);
    expect(await lc.trustedAt(120n)).toEqual(blockAt(120));
  });

  it('a store a full sync period behind answers trust_expired and stays put until updates bridge the gap', async () => {
    const { lc, api, at } = setup();
    expect(await lc.trustedAt(16n)).toEqual(blockAt(16));
    // Period 3, no updates served for periods 0..2: the store cannot verify anything current.
    api.finalityUpdateNow = finality(update({ attested: 200, finalized: 196, signers: C }));
    at(202);
    const r = await lc.trustedAt(196n);
    expect(r.ok === false && r.reason).toBe('trust_expired');
    expect(r.ok === false && r.detail).toMatch(/re-anchor/);
    expect(lc.halted?.reason).toBe('trust_expired');
    expect(lc.trustExpiresAt()).toBeLessThan(GENESIS + 202);
    // What was verified before stays verified.
    expect(await lc.trustedAt(16n)).toEqual(blockAt(16));
  });

  it('refuses a forged update (keys outside the committee), does not advance on it, and advances on the next honest one', async () => {
    const { lc, api, at } = setup();
    api.periods.set(0, update({ attested: 40, finalized: 32, next: B, signers: A }));
    api.finalityUpdateNow = finality(update({ attested: 44, finalized: 40, signers: A }));
    at(46);
    expect(await lc.trustedAt(40n)).toEqual(blockAt(40));
    api.finalityUpdateNow = finality(update({ attested: 50, finalized: 48, signers: outsiders }));
    at(52);
    const r = await lc.trustedAt(45n);
    expect(r).toMatchObject({ ok: false, reason: 'signature_invalid' });
    expect(lc.height).toBe(40n);
    expect(await lc.trustedAt(39n)).toEqual(blockAt(39));
    // A bad finality branch is refused as well.
    const honest = update({ attested: 54, finalized: 48, signers: A });
    api.finalityUpdateNow = finality({ ...honest, finality_branch: honest.finality_branch.map((n, i) => (i === 0 ? h('flip') : n)) });
    at(56);
    expect(await lc.trustedAt(45n)).toMatchObject({ ok: false, reason: 'beacon_finality_branch_invalid' });
    // An altered execution payload header no longer proves into the body root.
    const e = update({ attested: 54, finalized: 48, signers: A });
    api.finalityUpdateNow = finality({ ...e, finalized_header: { ...e.finalized_header, execution: { ...e.finalized_header.execution, state_root: h('other') } } });
    expect(await lc.trustedAt(45n)).toMatchObject({ ok: false, reason: 'beacon_execution_branch_invalid' });
    expect(lc.height).toBe(40n);
    api.finalityUpdateNow = finality(honest);
    expect(await lc.trustedAt(45n)).toEqual(blockAt(45));
    expect(lc.height).toBe(48n);
  });

  it('a forged answer from one Beacon endpoint does not censor: the next endpoint is asked', async () => {
    const liar = new FakeApi('liar');
    const good = new FakeApi('good');
    for (const a of [liar, good]) a.periods.set(0, update({ attested: 40, finalized: 32, next: B, signers: A }));
    liar.finalityUpdateNow = finality(update({ attested: 44, finalized: 40, signers: outsiders }));
    good.finalityUpdateNow = finality(update({ attested: 44, finalized: 40, signers: A }));
    const { lc, at } = setup({ sources: [liar, good] });
    at(46);
    expect(await lc.trustedAt(40n)).toEqual(blockAt(40));
  });

  it('refuses a height whose execution header does not link to the finalized block; another endpoint can serve the right one', async () => {
    const alter = (n: number, hdr: Record<string, unknown>) => (n === 12 ? { ...hdr, stateRoot: hexOf(h('forged state')) } : hdr);
    const one = setup({ alter });
    expect(await one.lc.trustedAt(14n)).toEqual(blockAt(14));
    const r = await one.lc.trustedAt(11n);
    expect(r).toMatchObject({ ok: false, reason: 'header_hash_mismatch' });
    expect(r.ok === false && r.detail).toMatch(/header 12/);
    // Never retried into success from the same data.
    expect(await one.lc.trustedAt(12n)).toMatchObject({ ok: false, reason: 'header_hash_mismatch' });
    const two = setup({ alter, executionEndpoints: 2 });
    expect(await two.lc.trustedAt(11n)).toEqual(blockAt(11));
    expect(two.hs.calls).toEqual(['0:11-15', '1:11-15']);
  });

  it('every Beacon endpoint down is a wait (RpcError thrown), not a verdict', async () => {
    const { lc, api } = setup();
    api.down = true;
    await expect(lc.trustedAt(16n)).rejects.toBeInstanceOf(RpcError);
    api.down = false;
    expect(await lc.trustedAt(16n)).toEqual(blockAt(16));
  });

  it('serialises advancing: concurrent callers share one poll', async () => {
    const { lc, api, at } = setup();
    api.periods.set(0, update({ attested: 40, finalized: 32, next: B, signers: A }));
    api.finalityUpdateNow = finality(update({ attested: 44, finalized: 40, signers: A }));
    at(46);
    const rs = await Promise.all([lc.trustedAt(40n), lc.trustedAt(38n), lc.trustedAt(41n), lc.trustedAt(39n)]);
    expect(rs[0]).toEqual(blockAt(40));
    expect(rs[1]).toEqual(blockAt(38));
    expect(rs[2]).toMatchObject({ ok: false, reason: BEACON_NOT_FINAL });
    expect(rs[3]).toEqual(blockAt(39));
    expect(api.calls.filter((c) => c === 'finality')).toHaveLength(1);
  });

  it('is built from a registration: endpoints from the trust root, headers from the adapter', () => {
    const reg = { chainId: 'eip155:1', family: 'evm', lightClient: 'eth-sync-committee', trustRoot: encodeBeaconTrustRoot(trust), endpoints: ['http://el'] } as unknown as ChainRegistration;
    const adapter = { watcher: { rawHeaders: async () => [] }, prover: { endpointCount: () => 1 } } as unknown as ChainAdapter;
    expect(beaconLightClientFor(reg, adapter)).toBeInstanceOf(BeaconLightClient);
    expect(() => beaconLightClientFor(reg, { ...adapter, watcher: {} } as unknown as ChainAdapter)).toThrow(ConfigError);
    expect(() => beaconLightClientFor({ ...reg, trustRoot: '0x7b7d' as Hex }, adapter)).toThrow(ConfigError);
  });
});

describe('source check with the beacon light client', () => {
  const reg = { chainId: 'eip155:1', family: 'evm', lightClient: 'eth-sync-committee', port: `0x${'22'.repeat(20)}`, endpoints: ['http://el'] } as unknown as ChainRegistration;
  const proved: bigint[] = [];
  const adapter = {
    prover: {
      endpointCount: () => 1,
      proveCommitments: async (height: bigint) => {
        proved.push(height);
        return { kind: 'evm-mpt', height: String(height) };
      },
    },
  } as unknown as ChainAdapter;
  const check = (answer: () => Promise<unknown>) =>
    checkSourceCommitments({ registration: reg, adapter, beacon: { trustedAt: answer } as unknown as BeaconLightClient }, 45n, [hexOf(h('id'))], { allowLocalDev: false, logger: silentLogger() });

  it('waits while not final, while trust is expired and while endpoints are down; refuses what the light client refused', async () => {
    const notFinal = await check(async () => ({ ok: false, reason: BEACON_NOT_FINAL, detail: 'x' }));
    expect(notFinal).toMatchObject({ ok: false, kind: 'wait' });
    expect(notFinal.ok === false && notFinal.kind === 'wait' && notFinal.error).toBeInstanceOf(NotReadyError);
    const expired = await check(async () => ({ ok: false, reason: 'trust_expired', detail: 'x' }));
    expect(expired.ok === false && expired.kind === 'wait' && expired.error).toBeInstanceOf(NotReadyError);
    const down = await check(async () => {
      throw new RpcError('http://beacon', 'down');
    });
    expect(down.ok === false && down.kind === 'wait' && down.error).toBeInstanceOf(RpcError);
    const forged = await check(async () => ({ ok: false, reason: 'signature_invalid', detail: 'outsiders' }));
    expect(forged).toMatchObject({ ok: false, kind: 'refused', reason: 'header_invalid:signature_invalid' });
    expect(proved).toEqual([]);
    // A vouched state root is what the EVM storage proof is checked against (this fake proof does not verify).
    const anchored = await check(async () => ({ ok: true, hash: hexOf(h('b')), stateRoot: hexOf(h('s')) }));
    expect(proved).toEqual([45n]);
    expect(anchored).toMatchObject({ ok: false, kind: 'refused' });
    expect(anchored.ok === false && anchored.kind === 'refused' && anchored.reason).not.toBe('proof_invalid:unsupported_light_client');
  });
});
