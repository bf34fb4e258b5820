import { join } from 'node:path';
import { MsgExecuteContract } from 'cosmjs-types/cosmwasm/wasm/v1/tx';
import { Interface, hexlify, randomBytes, toUtf8Bytes, type JsonRpcProvider } from 'ethers';
import { portArtifacts } from '../../adapters/evm/artifacts.ts';
import { DEFAULT_FEE, cosmosSigner } from '../../adapters/cosmos/contract.ts';
import { MSG_EXECUTE_CONTRACT } from '../../adapters/cosmos/registry.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { messageId } from '../../src/domain/message.ts';
import { makeProvider } from '../../src/evm/provider.ts';
import { loadOrCreateKeys } from '../../src/governance/keys.ts';
import { startTestHub, type TestHub } from '../helpers/hub.ts';
import { startCosmosMember } from '../helpers/cosmos-member.ts';
import { startFabricMember } from '../helpers/fabric-member.ts';
import { registerMember } from '../helpers/member-chain.ts';
import { startCometTestServer } from '../servers/cometbft/index.ts';
import { startFabricTestNetwork } from '../servers/fabric/index.ts';
import type { BenchRow } from './proofs.bench.ts';
import { percentile, progress } from './stats.ts';

const utf8 = (s: string) => hexlify(toUtf8Bytes(s)) as Hex;
const text = (b: Uint8Array) => Buffer.from(b).toString();
/** The relayer polling as the EVM -> EVM bench does, so the rows compare. */
const HUB_CONFIG = { relayer: { pollIntervalMs: 100, batchDelayMs: 50 } };
/** Messages per Cosmos tx: one MsgExecuteContract `send` each, as a wallet batching its sends would. */
const MSGS_PER_TX = 10;

type Dest = NonNullable<TestHub['hub']['demo']>['chains'][number];

/**
 * Waits until every id has exactly one MessageDelivered log on the EVM port, counted on the
 * chain (never the hub's index); returns when the last one was seen.
 */
async function countDeliveries(label: string, dp: JsonRpcProvider, dest: Dest, iface: Interface, ids: Hex[], t0: number): Promise<number> {
  const topic = iface.getEvent('MessageDelivered')!.topicHash;
  const want = new Set(ids.map((i) => i.toLowerCase()));
  for (;;) {
    const seen = new Map<string, number>();
    for (let i = 0; i < ids.length; i += 100) {
      const logs = await dp.getLogs({ address: dest.port, topics: [topic, ids.slice(i, i + 100)], fromBlock: 0n, toBlock: 'latest' });
      for (const l of logs) seen.set(l.topics[1]!.toLowerCase(), (seen.get(l.topics[1]!.toLowerCase()) ?? 0) + 1);
    }
    const twice = [...seen].filter(([, c]) => c > 1);
    if (twice.length) throw new Error(`${label}: ${twice.length} ids delivered more than once on the EVM chain`);
    const done = [...seen.keys()].filter((k) => want.has(k)).length;
    progress(label, done, ids.length);
    if (done === ids.length) return Date.now();
    if (Date.now() - t0 > 600_000) throw new Error(`${label}: only ${done} of ${ids.length} delivered on the EVM chain after 10 minutes`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Send -> delivered per message: when its send committed on the source to the index's delivered transition (one clock: all in this process or on this machine). */
async function latencies(t: TestHub, sentAt: Map<Hex, number>): Promise<number[]> {
  const lat: number[] = [];
  for (const [id, at] of sentAt) {
    const d = (await t.hub.index.timeline(id)).find((x) => x.status === 'delivered');
    if (d) lat.push(d.at.getTime() - at);
  }
  return lat.sort((x, y) => x - y);
}

function row(name: string, n: number, counted: number, sentMs: number, totalMs: number, accepted: string, lat: number[], extra: string): BenchRow {
  return {
    name,
    figure: `${((n * 1000) / totalMs).toFixed(1)} msgs/s (first sent to last delivered, ${counted} counted on the EVM chain)`,
    baseline: `${accepted} at ${((n * 1000) / sentMs).toFixed(1)} msgs/s`,
    ratio: (sentMs / totalMs).toFixed(2),
    note: `latency send committed → delivered: p50 ${percentile(lat, 50)} ms, p99 ${percentile(lat, 99)} ms; ${extra}`,
  };
}

/** Cosmos -> EVM: the CometBFT model chain with the Qiao contract, joined and registered as in test/e2e/cosmos.test.ts. */
export async function benchCosmosToEvm(n: number): Promise<BenchRow> {
  const t = await startTestHub({ config: HUB_CONFIG });
  let srv: Awaited<ReturnType<typeof startCometTestServer>> | undefined;
  let dp: JsonRpcProvider | undefined;
  try {
    const { keys } = await loadOrCreateKeys(join(t.dataDir, 'keys.json'));
    const userKey = hexlify(randomBytes(32)) as Hex;
    const member = await startCosmosMember(t, keys, { chainId: 'qiaobench-1', users: [userKey], coins: [{ denom: 'stake', amount: '100000000000' }] });
    srv = member.srv;
    await registerMember(t, keys, member.registration());
    const iface = new Interface((await portArtifacts()).QiaoPort.abi as never);
    const dest = t.hub.demo!.chains[0]!;
    dp = makeProvider(dest.url, BigInt(dest.numericId), { pollingMs: 100 });

    const contract = srv.contractAddress;
    const { client, address } = await cosmosSigner(srv.url, userKey);
    const sentAt = new Map<Hex, number>();
    const t0 = Date.now();
    try {
      for (let i = 0; i < n; i += MSGS_PER_TX) {
        const msgs = Array.from({ length: Math.min(MSGS_PER_TX, n - i) }, (_, j) => {
          const send = { dst_chain: dest.chainId, dst_port: dest.port.toLowerCase(), receiver: dest.receiver.toLowerCase(), gas_limit: '100000', timeout_unix_seconds: '0', payload: utf8(`bench ${i + j}`) };
          return { typeUrl: MSG_EXECUTE_CONTRACT, value: MsgExecuteContract.fromPartial({ sender: address, contract, msg: toUtf8Bytes(JSON.stringify({ send })), funds: [] }) };
        });
        const r = await client.signAndBroadcast(address, msgs, { ...DEFAULT_FEE, gas: String(Number(DEFAULT_FEE.gas) * msgs.length) });
        if (r.code !== 0) throw new Error(`Cosmos tx ${r.transactionHash} failed with code ${r.code}: ${r.rawLog ?? ''}`);
        // The time of the block that committed it (the model chain stamps blocks with this machine's clock).
        const now = new Date((await client.getBlock(r.height)).header.time).getTime();
        const before = sentAt.size;
        for (const ev of r.events) {
          if (ev.type !== 'send_packet') continue;
          const data = ev.attributes.find((a) => a.key === 'packet_data_hex')?.value;
          if (data) sentAt.set(messageId(`0x${data.toLowerCase()}` as Hex), now);
        }
        if (sentAt.size - before !== msgs.length) throw new Error(`Cosmos tx ${r.transactionHash}: ${sentAt.size - before} send_packet events for ${msgs.length} sends`);
        progress('cosmos sends committed', sentAt.size, n);
      }
    } finally {
      client.disconnect();
    }
    const sentMs = Date.now() - t0;
    const last = await countDeliveries('cosmos -> evm delivered', dp, dest, iface, [...sentAt.keys()], t0);
    const lat = await latencies(t, sentAt);
    return row(
      `Cosmos -> EVM end to end, ${n} messages, embedded hub`,
      n,
      sentAt.size,
      sentMs,
      last - t0,
      `the CometBFT model chain (300 ms blocks) committed the sends (${MSGS_PER_TX} MsgExecuteContract per tx)`,
      lat,
      'CometBFT light client + ICS-23 proof per message',
    );
  } finally {
    dp?.destroy();
    await t.stop();
    await srv?.stop();
  }
}

/** Fabric -> EVM: the Fabric model network with the port chaincode, joined and registered as in test/e2e/fabric.test.ts. */
export async function benchFabricToEvm(n: number): Promise<BenchRow> {
  const t = await startTestHub({ config: HUB_CONFIG });
  let net: Awaited<ReturnType<typeof startFabricTestNetwork>> | undefined;
  let dp: JsonRpcProvider | undefined;
  let client: Awaited<ReturnType<NonNullable<typeof net>['connect']>> | undefined;
  try {
    const { keys } = await loadOrCreateKeys(join(t.dataDir, 'keys.json'));
    // No settlement here, so no governance port and no cancel orders: the timeout authority is only configured.
    const member = await startFabricMember(t, keys);
    net = member.net;
    client = member.client;
    const port = client.network.getContract('qiaoport');
    await registerMember(t, keys, member.registration);
    const iface = new Interface((await portArtifacts()).QiaoPort.abi as never);
    const dest = t.hub.demo!.chains[0]!;
    dp = makeProvider(dest.url, BigInt(dest.numericId), { pollingMs: 100 });

    // Every send bumps the lane nonce key: concurrent submits MVCC-conflict, so they go one after another,
    // and a send that did not commit (a conflict with anything else) is submitted again; only committed ones count.
    const sentAt = new Map<Hex, number>();
    let retries = 0;
    const t0 = Date.now();
    for (let i = 0; i < n; i++) {
      for (let attempt = 0; ; attempt++) {
        try {
          const out = text(await port.submitTransaction('send', dest.chainId, dest.port.toLowerCase(), dest.receiver.toLowerCase(), '100000', '0', '0', utf8(`bench ${i}`)));
          if (!/^0x[0-9a-f]{64}$/.test(out)) throw new Error(`send answered "${out.slice(0, 80)}", not a message id`);
          sentAt.set(out as Hex, Date.now());
          break;
        } catch (e) {
          if (attempt >= 3) throw e;
          retries++;
        }
      }
      progress('fabric sends committed', sentAt.size, n);
    }
    const sentMs = Date.now() - t0;
    if (sentAt.size !== n) throw new Error(`${sentAt.size} distinct ids for ${n} committed sends`);
    const last = await countDeliveries('fabric -> evm delivered', dp, dest, iface, [...sentAt.keys()], t0);
    const lat = await latencies(t, sentAt);
    return row(
      `Fabric -> EVM end to end, ${n} messages, embedded hub`,
      n,
      sentAt.size,
      sentMs,
      last - t0,
      'the Fabric model network (2 orgs, 100 ms batch timeout) committed the sends (submitted one at a time)',
      lat,
      `orderer signatures + endorsement policy + 2 organisations' validation answers per block; ${retries} submits retried`,
    );
  } finally {
    dp?.destroy();
    client?.gateway.disconnect();
    await t.stop();
    await net?.stop();
  }
}

/**
 * End to end from the Cosmos and Fabric families to an EVM chain through the embedded hub:
 * N messages each, first sent to last delivered, every delivery counted on the EVM chain.
 */
export async function benchFamilies(n = 50): Promise<BenchRow[]> {
  return [await benchCosmosToEvm(n), await benchFabricToEvm(n)];
}
