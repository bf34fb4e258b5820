/**
 * The relayer's Fabric light client over the model network: following the
 * block chain from the genesis config block (chaincode policies learned from
 * `_lifecycle`), waiting for blocks the ledger does not hold yet, one bad or
 * down endpoint not blocking, a config block rotating the orderer's CA, and
 * two validly signed blocks at one height as misbehaviour.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { common } from '@hyperledger/fabric-protos';
import { blockHeaderHash, decodeBlock } from '../../proofs/fabric/index.ts';
import { FabricLightClient, fabricLightClientFor, type FabricBlockSource } from '../../relayer/light/fabric-client.ts';
import { decodeFabricTrustRoot, encodeFabricTrustRoot } from '../../relayer/light/fabric-trust.ts';
import type { ChainAdapter } from '../../src/domain/adapter.ts';
import type { ChainRegistration } from '../../src/domain/chain.ts';
import type { ChainId } from '../../src/domain/caip.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { ConfigError, NotReadyError } from '../../src/errors.ts';
import type { MisbehaviourEvidence } from '../../src/index/types.ts';
import { silentLogger } from '../../src/logging.ts';
import { until } from '../helpers/services.ts';
import { startFabricTestNetwork, type Chaincode, type FabricTestNetwork } from '../servers/fabric/index.ts';
import { buildProposal, buildTransaction } from '../servers/fabric/client.ts';
import { newBlock, setTxFilter, signBlock } from '../servers/fabric/block.ts';
import { genesisBlock } from '../servers/fabric/config.ts';
import { createOrgCrypto } from '../servers/fabric/ca.ts';

const kv: Chaincode = {
  endorsementPolicy: 'MAJORITY',
  async invoke(stub, fn, args) {
    if (fn !== 'put') return { status: 500, message: `no ${fn}` };
    await stub.putState(args[0]!, Buffer.from(args[1]!));
    return { status: 200, payload: new Uint8Array(0) };
  },
};

const hexOf = (b: Uint8Array): Hex => `0x${Buffer.from(b).toString('hex')}` as Hex;
const hashOf = (bytes: Uint8Array): Hex => hexOf(blockHeaderHash(decodeBlock(bytes)));

/** The model network's peers as endpoints, with per-endpoint overrides (served blocks, outages) and a call log. */
function source(net: FabricTestNetwork, extra: Uint8Array[][] = [], over: { down?: Set<number>; serve?: (ep: number, n: number, honest: Uint8Array) => Uint8Array } = {}) {
  const calls: { ep: number; from: bigint; to: bigint }[] = [];
  const chain = (ep: number) => [...net.blocks(net.orgs[ep]!.peerName), ...(extra[ep] ?? extra[0] ?? [])];
  const s: FabricBlockSource = {
    latest: async (ep = 0) => {
      if (over.down?.has(ep)) throw new Error(`endpoint ${ep} down`);
      return BigInt(chain(ep).length - 1);
    },
    blocks: async (from, to, ep = 0) => {
      calls.push({ ep, from, to });
      if (over.down?.has(ep)) throw new Error(`endpoint ${ep} down`);
      return chain(ep)
        .slice(Number(from), Number(to) + 1)
        .map((b, i) => (over.serve ? over.serve(ep, Number(from) + i, b) : b));
    },
    validationAnswers: async (txId) => (await net.validationAnswers(txId)).map((x, endpoint) => ({ endpoint, mspId: x.mspId, response: x.proposalResponse })),
    endpointCount: () => net.orgs.length,
  };
  return { s, calls };
}

describe('Fabric light client', () => {
  let net: FabricTestNetwork;
  let trustRoot: Hex;
  let txHeight: number;

  beforeAll(async () => {
    net = await startFabricTestNetwork({ chaincodes: { kv } });
    const client = net.orgs[0]!.crypto.client;
    for (const v of ['a', 'b', 'c']) {
      const p = buildProposal(client, net.channel, 'kv', ['put', v, v]);
      const responses = await Promise.all(net.peers.map((x) => x.processProposal(p.signed)));
      expect(net.ordererNode.admit(buildTransaction(client, p, responses)).status).toBe(common.Status.SUCCESS);
      await until(async () => net.peers.every((x) => x.txs.has(p.txId)), { what: 'committed', timeoutMs: 30_000 });
      txHeight = net.peers[0]!.txs.get(p.txId)!.blockNum;
    }
    await net.settled();
    trustRoot = encodeFabricTrustRoot({ channel: 'payments', chaincode: 'kv', organisations: 2, configBlock: net.configBlock(), height: 0n });
  });
  afterAll(async () => {
    await net?.stop();
  });

  const client = (s: FabricBlockSource, o: ConstructorParameters<typeof FabricLightClient>[2] = {}) => new FabricLightClient(decodeFabricTrustRoot(trustRoot, net.chainId), s, { k: 2, chainId: net.chainId, logger: silentLogger(), ...o });

  it('verifies the chain from the genesis block, learns chaincode policies, caches, and waits for blocks not committed', async () => {
    const { s, calls } = source(net);
    const lc = client(s, { batch: 2 });
    const t = await lc.trustedAt(BigInt(txHeight));
    expect(t).toMatchObject({ ok: true, height: BigInt(txHeight), hash: hashOf(net.blocks()[txHeight]!) });
    if (!t.ok) return;
    expect(t.context.previous?.number).toBe(BigInt(txHeight - 1));
    expect(hexOf(t.context.previous!.hash)).toBe(hashOf(net.blocks()[txHeight - 1]!));
    // Block 1's _lifecycle definition gave kv its policy.
    expect(t.context.chaincodes?.has('kv')).toBe(true);
    expect(t.context.config.channelId).toBe('payments');
    expect(lc.height).toBe(BigInt(txHeight));
    // Batches of 2 from endpoint 0, then one cross-check of the target with endpoint 1.
    expect(calls.filter((c) => c.ep === 0).every((c) => c.to - c.from <= 1n)).toBe(true);
    const before = calls.length;
    expect(await lc.trustedAt(BigInt(txHeight - 1))).toMatchObject({ ok: true, hash: hashOf(net.blocks()[txHeight - 1]!) });
    expect(calls.length).toBe(before);
    expect(await lc.trustedAt(0n)).toMatchObject({ ok: true, hash: hashOf(net.configBlock()) });
    expect(await lc.trustedAt(BigInt(net.height()) + 5n)).toMatchObject({ ok: false, reason: 'not_final' });
    expect(await lc.trustedAt(-1n)).toMatchObject({ ok: false, reason: 'untrusted_header' });
  });

  it('keeps a bounded number of verified blocks and verifies evicted ones again from the trust root', async () => {
    const { s, calls } = source(net);
    const lc = client(s, { keep: 1 });
    expect(await lc.trustedAt(BigInt(txHeight))).toMatchObject({ ok: true });
    const before = calls.length;
    expect(await lc.trustedAt(1n)).toMatchObject({ ok: true, hash: hashOf(net.blocks()[1]!) });
    expect(calls.length).toBeGreaterThan(before);
    expect(await lc.trustedAt(BigInt(txHeight))).toMatchObject({ ok: true, hash: hashOf(net.blocks()[txHeight]!) });
  });

  it('fetches from the next endpoint when one serves a bad block or is down; refuses a block bad everywhere', async () => {
    const tamper = (b: Uint8Array): Uint8Array => {
      const x = common.Block.deserializeBinary(b);
      const data = x.getData()!.getDataList_asU8();
      data.reverse();
      x.getData()!.setDataList(data.length > 1 ? data : [...data, new Uint8Array([1, 2, 3])]);
      return x.serializeBinary();
    };
    const bad = source(net, [], { serve: (ep, n, b) => (ep === 0 && n === txHeight ? tamper(b) : b) });
    expect(await client(bad.s).trustedAt(BigInt(txHeight))).toMatchObject({ ok: true, hash: hashOf(net.blocks()[txHeight]!) });
    expect(bad.calls.some((c) => c.ep === 1)).toBe(true);

    const down = source(net, [], { down: new Set([0]) });
    expect(await client(down.s).trustedAt(BigInt(txHeight))).toMatchObject({ ok: true, hash: hashOf(net.blocks()[txHeight]!) });

    const everywhere = source(net, [], { serve: (_ep, n, b) => (n === txHeight ? tamper(b) : b) });
    expect(await client(everywhere.s).trustedAt(BigInt(txHeight))).toMatchObject({ ok: false, reason: 'fabric_data_hash_mismatch' });
    // Bad from one endpoint, the other down: maybe it comes back, so this is a wait (thrown), not a verdict.
    const badAndDown = source(net, [], { down: new Set([1]), serve: (ep, n, b) => (ep === 0 && n === txHeight ? tamper(b) : b) });
    await expect(client(badAndDown.s).trustedAt(BigInt(txHeight))).rejects.toThrow(/endpoint 1 down/);
  });

  it('decides the validation flags of chaincode definitions by signed answers, not by the served filter', async () => {
    const hide = (b: Uint8Array): Uint8Array => {
      const x = common.Block.deserializeBinary(b);
      setTxFilter(x, new Uint8Array(x.getData()!.getDataList_asU8().length).fill(10));
      return x.serializeBinary();
    };
    // Endpoint 0 flags block 1's definitions invalid (ENDORSEMENT_POLICY_FAILURE): kv's policy is learned all the same.
    const t = await client(source(net, [], { serve: (ep, n, b) => (ep === 0 && n === 1 ? hide(b) : b) }).s).trustedAt(BigInt(txHeight));
    expect(t.ok && t.context.chaincodes?.has('kv')).toBe(true);
    // Without answers from k organisations the definition is undecided: a wait, not a verdict.
    const { s } = source(net);
    const silent = client({ ...s, validationAnswers: async () => [] });
    await expect(silent.trustedAt(BigInt(txHeight))).rejects.toBeInstanceOf(NotReadyError);
  });

  it('follows a config block that rotates the orderer CA', async () => {
    const top = net.height() - 1;
    const oldOrderer = net.orderer.crypto.orderer!;
    const rotated = await createOrgCrypto({ mspId: 'OrdererMSP', domain: 'example.com', node: 'orderer' });
    // The new config, in a CONFIG envelope signed by the orderer the current config knows.
    const cfg = genesisBlock({ channel: net.channel, peerOrgs: net.orgs.map((o) => o.crypto), ordererOrg: rotated, ordererAddress: '127.0.0.1:7050', maxMessageCount: 10, batchTimeoutMs: 100 }, oldOrderer);
    const configBlock = newBlock(BigInt(top + 1), blockHeaderHash(decodeBlock(net.blocks()[top]!)), [cfg.getData()!.getDataList_asU8()[0]!]);
    setTxFilter(configBlock, new Uint8Array([0]));
    signBlock(configBlock, oldOrderer, BigInt(top + 1));
    const cb = configBlock.serializeBinary();
    const next = (signer: typeof oldOrderer): Uint8Array => {
      const b = newBlock(BigInt(top + 2), blockHeaderHash(decodeBlock(cb)), []);
      signBlock(b, signer, BigInt(top + 1));
      return b.serializeBinary();
    };
    const good = next(rotated.orderer!);
    const stale = next(oldOrderer);

    const lc = client(source(net, [[cb, good]]).s);
    const t = await lc.trustedAt(BigInt(top + 2));
    expect(t).toMatchObject({ ok: true, hash: hashOf(good) });
    if (t.ok) expect(t.context.config.msps.get('OrdererMSP')).toBeDefined();
    // The old orderer's key no longer signs blocks after the config block.
    const old = client(source(net, [[cb, stale]]).s);
    expect(await old.trustedAt(BigInt(top + 2))).toMatchObject({ ok: false, reason: 'fabric_identity_invalid' });
  });

  it('halts on two validly signed blocks at one height and hands over the evidence', async () => {
    const top = net.height() - 1;
    const prev = blockHeaderHash(decodeBlock(net.blocks()[top]!));
    const orderer = net.orderer.crypto.orderer!;
    const mk = (data: Uint8Array[]): Uint8Array => {
      const b = newBlock(BigInt(top + 1), prev, data);
      setTxFilter(b, new Uint8Array(data.length).fill(255));
      signBlock(b, orderer, 0n);
      return b.serializeBinary();
    };
    // Same number and parent, other data (an envelope replayed from an earlier block, flagged invalid): another header.
    const a = mk([]);
    const b = mk([common.Block.deserializeBinary(net.blocks()[txHeight]!).getData()!.getDataList_asU8()[0]!]);
    expect(hashOf(a)).not.toBe(hashOf(b));
    const seen: MisbehaviourEvidence[] = [];
    const lc = client(source(net, [[a], [b]]).s, { endpoints: ['grpc://a', 'grpc://b'], onMisbehaviour: (e) => void seen.push(e) });
    const r = await lc.trustedAt(BigInt(top + 1));
    expect(r).toMatchObject({ ok: false, reason: 'misbehaviour' });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ chainId: net.chainId, height: BigInt(top + 1), headerA: { hash: hashOf(a) }, headerB: { hash: hashOf(b) }, endpoints: ['grpc://a', 'grpc://b'] });
    expect(lc.halted?.reason).toBe('misbehaviour');
    expect(await lc.trustedAt(BigInt(top))).toMatchObject({ ok: false, reason: 'misbehaviour' });
  });

  it('halts when a signed block linked to another parent meets the verified block at its height', async () => {
    const top = net.height() - 1;
    const orderer = net.orderer.crypto.orderer!;
    const mk = (prev: Uint8Array): Uint8Array => {
      const b = newBlock(BigInt(top + 1), prev, []);
      signBlock(b, orderer, 0n);
      return b.serializeBinary();
    };
    const honest = mk(blockHeaderHash(decodeBlock(net.blocks()[top]!)));
    const forked = mk(new Uint8Array(32).fill(7));
    const seen: MisbehaviourEvidence[] = [];
    const lc = client(source(net, [[forked], [honest]]).s, { onMisbehaviour: (e) => void seen.push(e) });
    expect(await lc.trustedAt(BigInt(top + 1))).toMatchObject({ ok: false, reason: 'misbehaviour' });
    expect(seen[0]).toMatchObject({ headerA: { hash: hashOf(honest) }, headerB: { hash: hashOf(forked) } });
    // An unsigned block linked elsewhere is only a bad endpoint.
    const unsigned = common.Block.deserializeBinary(forked);
    unsigned.getMetadata()!.setMetadataList([new Uint8Array(0), new Uint8Array(0), new Uint8Array(0)]);
    const ok = client(source(net, [[unsigned.serializeBinary()], [honest]]).s);
    expect(await ok.trustedAt(BigInt(top + 1))).toMatchObject({ ok: true, hash: hashOf(honest) });
  });

  it('checks the registration it is connected for', () => {
    const reg: ChainRegistration = {
      chainId: net.chainId as ChainId,
      family: 'fabric',
      genesisHash: hashOf(net.configBlock()),
      port: hexOf(Buffer.from('payments/kv')),
      lightClient: 'fabric',
      trustRoot,
      finality: { kind: 'fabric-validated', organisations: 2 },
      endpoints: [],
      status: 'approved',
    };
    const adapter = { fabric: source(net).s } as unknown as ChainAdapter;
    expect(fabricLightClientFor(reg, adapter).organisations).toBe(2);
    expect(() => fabricLightClientFor({ ...reg, genesisHash: `0x${'00'.repeat(32)}` }, adapter)).toThrow(ConfigError);
    expect(() => fabricLightClientFor({ ...reg, finality: { kind: 'fabric-validated', organisations: 1 } }, adapter)).toThrow(ConfigError);
    const three = { ...reg, trustRoot: encodeFabricTrustRoot({ ...decodeFabricTrustRoot(trustRoot, net.chainId).trust, organisations: 3 }), finality: { kind: 'fabric-validated' as const, organisations: 3 } };
    expect(() => fabricLightClientFor(three, adapter)).toThrow(/channel has 2/);
    expect(() => fabricLightClientFor({ ...reg, port: hexOf(Buffer.from('payments/other')) }, adapter)).toThrow(ConfigError);
    expect(() => fabricLightClientFor(reg, {} as ChainAdapter)).toThrow(ConfigError);
    expect(() => decodeFabricTrustRoot(trustRoot, 'fabric:qiaonet_other')).toThrow(ConfigError);
    expect(() => decodeFabricTrustRoot(hexOf(Buffer.from('{}')), net.chainId)).toThrow(ConfigError);
    const notConfig = encodeFabricTrustRoot({ channel: 'payments', chaincode: 'kv', organisations: 2, configBlock: net.blocks()[1]!, height: 1n });
    expect(() => decodeFabricTrustRoot(notConfig, net.chainId)).toThrow(ConfigError);
  });
});
