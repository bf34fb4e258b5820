import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HubMetrics, lightClientsOf } from '../../src/api/metrics.ts';
import type { HealthReport } from '../../src/api/server.ts';
import { openIndex } from '../../src/index/open.ts';
import type { MessageIndex } from '../../src/index/types.ts';
import { silentLogger } from '../../src/logging.ts';
import type { ConnectedChain } from '../../relayer/context.ts';
import { CometLightClient } from '../../relayer/light/cometbft-client.ts';
import { makeChain, makeValidators } from '../proofs/fixtures/tendermint/chain.ts';
import { fakeComet, trustRootOf } from '../relayer/fixtures/comet.ts';

const HEALTH: HealthReport = { ok: true, governance: null, chains: [], queues: {} };
const CHAIN = 'qiaometrics-1';
const START = 1_700_000_000;
const PERIOD = 14 * 24 * 3600;

/** A metric's value from the text format, by name and exact label set. */
function value(text: string, name: string, labels: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

/**
 * Light-client gauges: height and seconds of trust left, read from whatever
 * light client each connected chain holds at scrape time. A real CometBFT
 * client (its trusting period from its newest verified header), a client that
 * offers `trustExpiresAt` as the beacon client will, a client without a
 * trusting period (QBFT) and a local-dev chain with no client at all.
 */
describe('light-client metrics', () => {
  let index: MessageIndex;
  const vals = makeValidators(4, { seed: 'metrics-light' });
  const blocks = makeChain({ chainId: CHAIN, length: 30, start: START, valsAt: () => vals });
  const headerTime = (h: number) => Math.floor(Date.parse(blocks[h - 1]!.signed_header.header.time) / 1000);
  // The scrape happens 100 s after block 20's time.
  let nowMs = (headerTime(20) + 100) * 1000;
  const comet = new CometLightClient(trustRootOf(CHAIN, blocks[0]!, vals, { trustingPeriodSeconds: PERIOD }), fakeComet([blocks]), {
    logger: silentLogger(),
    now: () => new Date(nowMs),
  });
  const beaconLike = { height: 8_000_123, trustExpiresAt: (): number | null => 1_700_050_000 };
  const qbftLike = { height: 77n };
  const connections = new Map<string, object>([
    ['cosmos:qiaometrics-1', { registration: {}, adapter: { height: 5 }, comet }],
    ['eip155:1', { registration: {}, adapter: {}, beacon: beaconLike }],
    ['eip155:1337', { registration: {}, adapter: {}, light: qbftLike }],
    ['eip155:31338', { registration: {}, adapter: {} }],
  ]);
  let metrics: HubMetrics;

  beforeAll(async () => {
    index = await openIndex({});
    metrics = new HubMetrics({ index, health: async () => HEALTH, pollMs: 3_600_000, connections: () => connections, now: () => nowMs });
  });
  afterAll(async () => {
    await metrics?.stop();
    await index?.close();
  });

  it('finds the light client a connected chain holds, whatever its field, and not the adapter', () => {
    expect(lightClientsOf(connections.get('cosmos:qiaometrics-1')!)).toEqual([comet]);
    expect(lightClientsOf(connections.get('eip155:1')!)).toEqual([beaconLike]);
    expect(lightClientsOf(connections.get('eip155:31338')!)).toEqual([]);
  });

  it('the CometBFT client expires a trusting period after its newest verified header, and has no expiry before it verified one', async () => {
    expect(comet.trustExpiresAt()).toBeNull();
    expect(await comet.trustedAt(20n)).toMatchObject({ ok: true });
    expect(comet.trustExpiresAt()).toBe(headerTime(20) + PERIOD);
    expect(await comet.trustedAt(12n)).toMatchObject({ ok: true });
    // An older header verified later does not move the expiry back.
    expect(comet.trustExpiresAt()).toBe(headerTime(20) + PERIOD);
  });

  it('exposes height and trust expiry per chain, and leaves out chains without a trusting period', async () => {
    const text = await metrics.registry.metrics();
    expect(value(text, 'qiao_light_client_height', 'chain="cosmos:qiaometrics-1"')).toBe(20);
    expect(value(text, 'qiao_light_client_trust_expiry_seconds', 'chain="cosmos:qiaometrics-1"')).toBe(PERIOD - 100);
    expect(value(text, 'qiao_light_client_height', 'chain="eip155:1"')).toBe(8_000_123);
    expect(value(text, 'qiao_light_client_trust_expiry_seconds', 'chain="eip155:1"')).toBe(Math.round(1_700_050_000 - nowMs / 1000));
    expect(value(text, 'qiao_light_client_height', 'chain="eip155:1337"')).toBe(77);
    expect(value(text, 'qiao_light_client_trust_expiry_seconds', 'chain="eip155:1337"')).toBeUndefined();
    expect(value(text, 'qiao_light_client_height', 'chain="eip155:31338"')).toBeUndefined();
    expect(text).not.toMatch(/qiao_light_client_trust_expiry_seconds\{chain="eip155:31338"\}/);
  });

  it('goes negative once the trusting period is over (the chain needs a new trust root)', async () => {
    nowMs = (headerTime(20) + PERIOD + 30) * 1000;
    const text = await metrics.registry.metrics();
    expect(value(text, 'qiao_light_client_trust_expiry_seconds', 'chain="cosmos:qiaometrics-1"')).toBe(-30);
  });

  it('takes the relayer\'s connected chains as they are (the hub passes relayer.ctx.chains)', async () => {
    const chains: ReadonlyMap<string, ConnectedChain> = new Map();
    const wired = new HubMetrics({ index, health: async () => HEALTH, pollMs: 3_600_000, connections: () => chains });
    expect(await wired.registry.metrics()).toMatch(/# TYPE qiao_light_client_trust_expiry_seconds gauge/);
  });

  it('leaves the gauges out when the hub gives no connections', async () => {
    const bare = new HubMetrics({ index, health: async () => HEALTH, pollMs: 3_600_000 });
    expect(await bare.registry.metrics()).not.toMatch(/qiao_light_client_/);
  });
});
