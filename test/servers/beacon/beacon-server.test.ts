/**
 * The model beacon node checked by the independent light client in
 * proofs/beacon (the server imports nothing from it) and against the anvil
 * chain it follows.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  configFromSpecYaml,
  decodeJson,
  finalizedExecution,
  initializeStore,
  periodAtSlot,
  processFinalityUpdate,
  processOptimisticUpdate,
  processUpdate,
  type BeaconChainConfig,
  type LightClientKind,
  type LightClientStore,
} from '../../../proofs/beacon/index.ts';
import { verifyAccountProof } from '../../../proofs/evm/index.ts';
import { startAnvil, type AnvilProcess } from '../../../src/governance/anvil.ts';
import { until } from '../../helpers/services.ts';
import { rewriteTags } from './rpc-proxy.ts';
import { startBeaconFacade, type BeaconFacade, type BeaconTrustRootJson } from './index.ts';

/** anvil's first dev account (funded at genesis). */
const DEV_ADDRESS = '0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266';

/* eslint-disable @typescript-eslint/no-explicit-any */
const bytes = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h.slice(2), 'hex'));

async function get(url: string): Promise<{ status: number; json: any }> {
  const res = await fetch(url);
  return { status: res.status, json: await res.json() };
}

async function rpc(url: string, method: string, params: unknown[]): Promise<any> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) });
  const body = (await res.json()) as { result?: unknown; error?: unknown };
  if (body.error) throw new Error(`${method}: ${JSON.stringify(body.error)}`);
  return body.result;
}

/** The light client's chain config, from the trust root as a relayer would build it. */
function configOf(t: BeaconTrustRootJson): BeaconChainConfig {
  const y: Record<string, unknown> = { PRESET_BASE: t.preset, GENESIS_FORK_VERSION: t.forks.phase0.version };
  for (const [name, f] of Object.entries(t.forks)) {
    if (name === 'phase0') continue;
    y[`${name.toUpperCase()}_FORK_VERSION`] = f.version;
    y[`${name.toUpperCase()}_FORK_EPOCH`] = f.epoch ?? '18446744073709551615';
  }
  return configFromSpecYaml(y, bytes(t.genesisValidatorsRoot));
}

/** A light client of one facade, driven the way a relayer would. */
class Client {
  readonly trust: BeaconTrustRootJson;
  readonly cfg: BeaconChainConfig;
  store!: LightClientStore;

  constructor(readonly f: BeaconFacade, trust?: BeaconTrustRootJson) {
    this.trust = trust ?? f.trustRoot();
    this.cfg = configOf(this.trust);
  }

  now(): number {
    return Math.floor((Date.now() / 1000 - this.trust.genesisTime) / this.trust.secondsPerSlot);
  }

  async fetch<K extends LightClientKind>(kind: K, path: string) {
    const r = await get(`${this.f.url}${path}`);
    expect(r.status).toBe(200);
    return decodeJson(kind, r.json, this.cfg.preset);
  }

  async bootstrap(): Promise<void> {
    const b = await this.fetch('bootstrap', `/eth/v1/beacon/light_client/bootstrap/${this.trust.trustedBlockRoot}`);
    const r = initializeStore(this.cfg, b, bytes(this.trust.trustedBlockRoot));
    if (!r.ok) throw new Error(`${r.reason}: ${r.detail}`);
    this.store = r.store;
  }

  storePeriod(): number {
    return periodAtSlot(this.cfg, this.store.finalizedHeader.beacon.slot);
  }

  async periodUpdates(start: number, count: number) {
    const r = await get(`${this.f.url}/eth/v1/beacon/light_client/updates?start_period=${start}&count=${count}`);
    expect(r.status).toBe(200);
    return (r.json as unknown[]).map((u) => decodeJson('update', u, this.cfg.preset));
  }

  /** Applies the update of the store's period (it brings the next committee). */
  async learnNextCommittee(): Promise<void> {
    const [u] = await this.periodUpdates(this.storePeriod(), 1);
    const r = processUpdate(this.store, u!, this.now(), this.cfg);
    if (!r.ok) throw new Error(`${r.reason}: ${r.detail}`);
    this.store = r.store;
    expect(this.store.nextSyncCommittee).not.toBeNull();
  }

  async finality() {
    const fu = await this.fetch('finalityUpdate', '/eth/v1/beacon/light_client/finality_update');
    return processFinalityUpdate(this.store, fu, this.now(), this.cfg);
  }

  /** The finalized execution block of the store must be anvil's block at that number. */
  async checkExecution(anvil: AnvilProcess): Promise<bigint> {
    const a = finalizedExecution(this.store, this.cfg);
    if (!a.ok) throw new Error(`${a.reason}: ${a.detail}`);
    const block = await rpc(anvil.url, 'eth_getBlockByNumber', [`0x${a.anchor.blockNumber.toString(16)}`, false]);
    expect(a.anchor.blockHash).toBe(block.hash);
    expect(a.anchor.stateRoot).toBe(block.stateRoot);
    expect(a.anchor.receiptsRoot).toBe(block.receiptsRoot);
    expect(a.anchor.timestamp).toBe(BigInt(block.timestamp));
    return a.anchor.blockNumber;
  }
}

describe('beacon model server', () => {
  let anvil: AnvilProcess;
  let deneb: BeaconFacade;
  let electra: BeaconFacade;
  let mainnet: BeaconFacade;
  let c: Client;
  const SLOTS_PER_PERIOD = 64;
  const LAG = 2;

  beforeAll(async () => {
    anvil = await startAnvil({ chainId: 31_401, blockTime: 1 });
    // Slot 0 sixteen seconds before the first hand-over (period 0 -> 1 at slot 64), so the test sees one.
    const genesisTime = Math.floor(Date.now() / 1000) - (SLOTS_PER_PERIOD - 16);
    [deneb, electra, mainnet] = await Promise.all([
      startBeaconFacade({ upstream: anvil.url, genesisTime, finalityLagSlots: LAG }),
      startBeaconFacade({ upstream: anvil.url, fork: 'electra', seed: 'electra' }),
      startBeaconFacade({ upstream: anvil.url, preset: 'mainnet', seed: 'mainnet' }),
    ]);
    c = new Client(deneb);
    await c.bootstrap();
  });

  afterAll(async () => {
    await Promise.all([deneb?.close(), electra?.close(), mainnet?.close()]);
    await anvil?.stop();
  });

  it('serves genesis and config that agree with the trust root', async () => {
    const g = await get(`${deneb.url}/eth/v1/beacon/genesis`);
    expect(g.json.data).toEqual({ genesis_time: String(c.trust.genesisTime), genesis_validators_root: c.trust.genesisValidatorsRoot, genesis_fork_version: '0x00000001' });
    const s = await get(`${deneb.url}/eth/v1/config/spec`);
    const fromSpec = configFromSpecYaml(s.json.data, bytes(g.json.data.genesis_validators_root));
    expect(fromSpec).toEqual(c.cfg);
    expect(c.trust.forks.deneb).toEqual({ version: '0x04000001', epoch: 0 });
    expect(c.trust.forks.electra.epoch).toBeNull();
    expect(c.trust.beaconEndpoints).toEqual([deneb.url]);
  });

  it('bootstraps from the trust root; unknown roots are 404, malformed ones 400', async () => {
    expect(c.store.finalizedHeader.beacon.slot).toBeGreaterThan(0);
    expect((await get(`${deneb.url}/eth/v1/beacon/light_client/bootstrap/0x${'11'.repeat(32)}`)).status).toBe(404);
    const bad = await get(`${deneb.url}/eth/v1/beacon/light_client/bootstrap/0x1234`);
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ code: 400 });
    expect((await get(`${deneb.url}/eth/v1/beacon/light_client/updates?start_period=x&count=1`)).status).toBe(400);
  });

  it('headers by id: finalized, head, slot and root name the same blocks', async () => {
    const h = await get(`${deneb.url}/eth/v1/beacon/headers/${c.trust.trustedBlockRoot}`);
    expect(h.status).toBe(200);
    expect(h.json.data.root).toBe(c.trust.trustedBlockRoot);
    const bySlot = await get(`${deneb.url}/eth/v1/beacon/headers/${h.json.data.header.message.slot}`);
    expect(bySlot.json.data.root).toBe(c.trust.trustedBlockRoot);
    expect(h.json.data.header.message.state_root).toBe(`0x${Buffer.from(c.store.finalizedHeader.beacon.state_root).toString('hex')}`);
    const head = await get(`${deneb.url}/eth/v1/beacon/headers/head`);
    expect(Number(head.json.data.header.message.slot)).toBeGreaterThanOrEqual(Number(h.json.data.header.message.slot));
    expect(head.json.data.header.signature).toMatch(/^0x[0-9a-f]{192}$/);
    expect((await get(`${deneb.url}/eth/v1/beacon/headers/finalized`)).status).toBe(200);
  });

  it('period update, finality and optimistic updates verify; the finalized execution block is anvil\'s', async () => {
    await c.learnNextCommittee();
    const before = c.store.finalizedHeader.beacon.slot;
    // The chain moves on: wait for a finality update newer than the store.
    await until(async () => {
      const r = await c.finality();
      if (!r.ok) throw new Error(`${r.reason}: ${r.detail}`);
      if (r.store.finalizedHeader.beacon.slot <= before) return false;
      c.store = r.store;
      return true;
    }, { timeoutMs: 20_000, what: 'a newer finality update' });
    const number = await c.checkExecution(anvil);
    // What the relayer builds on: anvil's account proof at that block verifies against the state root the light client vouches for.
    const proof = await rpc(anvil.url, 'eth_getProof', [DEV_ADDRESS, [], `0x${number.toString(16)}`]);
    const anchor = finalizedExecution(c.store, c.cfg);
    if (!anchor.ok) throw new Error(anchor.detail);
    const acct = verifyAccountProof(anchor.anchor.stateRoot, DEV_ADDRESS, proof.accountProof);
    if (!acct.ok) throw new Error(`${acct.reason}: ${acct.detail}`);
    expect(acct.account!.balance).toBe(BigInt(proof.balance));
    const ou = await c.fetch('optimisticUpdate', '/eth/v1/beacon/light_client/optimistic_update');
    const o = processOptimisticUpdate(c.store, ou, c.now(), c.cfg);
    expect(o.ok).toBe(true);
  });

  it('/rpc answers the "finalized" and "safe" tags with the facade\'s finalized block and forwards the rest', async () => {
    const lo = deneb.finalizedExecution()!.blockNumber;
    const fin = await rpc(deneb.rpcUrl, 'eth_getBlockByNumber', ['finalized', false]);
    const hi = deneb.finalizedExecution()!.blockNumber;
    const n = BigInt(fin.number);
    expect(n >= lo && n <= hi).toBe(true);
    expect(fin.hash).toBe((await rpc(anvil.url, 'eth_getBlockByNumber', [fin.number, false])).hash);
    const latest = BigInt((await rpc(anvil.url, 'eth_blockNumber', [])) as string);
    expect(n).toBeLessThan(latest);
    const safe = await rpc(deneb.rpcUrl, 'eth_getBlockByNumber', ['safe', false]);
    expect(BigInt(safe.number)).toBeGreaterThanOrEqual(n);
    expect(BigInt(await rpc(deneb.rpcUrl, 'eth_chainId', []))).toBe(31_401n);
    const proof = await rpc(deneb.rpcUrl, 'eth_getProof', ['0x0000000000000000000000000000000000000000', [], 'finalized']);
    expect(proof.accountProof.length).toBeGreaterThan(0);
  });

  it.each([
    ['forgeSignature', 'signature_invalid'],
    ['wrongExecutionBranch', 'beacon_execution_branch_invalid'],
    ['wrongFinalityBranch', 'beacon_finality_branch_invalid'],
  ] as const)('fault %s is refused with %s (finality update and period update)', async (fault, reason) => {
    // A fresh store of period 0 without the next committee: the period-0 update passes every check before the faulty one.
    const fresh = new Client(deneb, c.trust);
    await fresh.bootstrap();
    deneb.faults[fault] = true;
    try {
      const r = await c.finality();
      expect(r.ok ? 'accepted' : r.reason).toBe(reason);
      const [u] = await fresh.periodUpdates(0, 1);
      const ru = processUpdate(fresh.store, u!, fresh.now(), fresh.cfg);
      expect(ru.ok ? 'accepted' : ru.reason).toBe(reason);
      if (fault === 'wrongExecutionBranch') {
        const b = await fresh.fetch('bootstrap', `/eth/v1/beacon/light_client/bootstrap/${c.trust.trustedBlockRoot}`);
        const rb = initializeStore(fresh.cfg, b, bytes(c.trust.trustedBlockRoot));
        expect(rb.ok ? 'accepted' : rb.reason).toBe(reason);
      }
    } finally {
      deneb.faults[fault] = false;
    }
    const good = await c.finality();
    expect(good.ok).toBe(true);
  });

  it('electra: longer branches, same flow', async () => {
    const e = new Client(electra);
    expect(e.trust.forks.electra.epoch).toBe(0);
    const raw = await get(`${electra.url}/eth/v1/beacon/light_client/finality_update`);
    expect(raw.json.version).toBe('electra');
    expect(raw.json.data.finality_branch).toHaveLength(7);
    await e.bootstrap();
    await e.learnNextCommittee();
    const r = await e.finality();
    if (!r.ok) throw new Error(`${r.reason}: ${r.detail}`);
    e.store = r.store;
    await e.checkExecution(anvil);
  });

  it('mainnet preset: 512 members', async () => {
    const m = new Client(mainnet);
    await m.bootstrap();
    expect(m.store.currentSyncCommittee.committee.pubkeys).toHaveLength(512);
    await m.learnNextCommittee();
    const r = await m.finality();
    if (!r.ok) throw new Error(`${r.reason}: ${r.detail}`);
    m.store = r.store;
    await m.checkExecution(anvil);
  });

  it('hands over from the period-0 committee to the period-1 committee', async () => {
    // From the trust root taken in period 0, whatever the other tests' timing was.
    const h = new Client(deneb, c.trust);
    await h.bootstrap();
    expect(h.storePeriod()).toBe(0);
    await h.learnNextCommittee();
    const period1 = h.store.nextSyncCommittee!.committee.aggregate_pubkey;
    await until(async () => {
      const r = await h.finality();
      if (!r.ok) throw new Error(`${r.reason}: ${r.detail}`);
      h.store = r.store;
      return h.storePeriod() === 1;
    }, { timeoutMs: 40_000, intervalMs: 500, what: 'finality in sync period 1' });
    expect(h.store.currentSyncCommittee.committee.aggregate_pubkey).toEqual(period1);
    expect(h.store.nextSyncCommittee).toBeNull();
    await h.checkExecution(anvil);
    // Period 0's update is attested in period 0; period 1's brings period 2's committee.
    const both = await h.periodUpdates(0, 2);
    expect(both.map((u) => periodAtSlot(h.cfg, u.attested_header.beacon.slot))).toEqual([0, 1]);
    const r = processUpdate(h.store, both[1]!, h.now(), h.cfg);
    if (!r.ok) throw new Error(`${r.reason}: ${r.detail}`);
    expect(r.store.nextSyncCommittee!.committee.aggregate_pubkey).not.toEqual(period1);
    expect(r.store.nextSyncCommittee!.committee.aggregate_pubkey).toEqual(both[1]!.next_sync_committee.aggregate_pubkey);
  });
});

describe('beacon model /rpc tag rewriting', () => {
  it('rewrites "finalized"/"safe" in block parameters and log filters, nothing else', () => {
    expect(rewriteTags({ method: 'eth_getProof', params: ['0xab', [], 'finalized'] }, '0x10').params).toEqual(['0xab', [], '0x10']);
    expect(rewriteTags({ method: 'eth_getLogs', params: [{ fromBlock: '0x1', toBlock: 'safe', address: '0xab' }] }, '0x10').params).toEqual([{ fromBlock: '0x1', toBlock: '0x10', address: '0xab' }]);
    expect(rewriteTags({ method: 'eth_getBlockByNumber', params: ['latest', false] }, '0x10').params).toEqual(['latest', false]);
    expect(rewriteTags({ method: 'eth_sendRawTransaction', params: ['finalized'] }, '0x10').params).toEqual(['finalized']);
    expect(() => rewriteTags({ method: 'eth_getBalance', params: ['0xab', 'finalized'] }, null)).toThrow();
  });
});
