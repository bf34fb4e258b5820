import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Interface } from 'ethers';
import { Keyring } from '@polkadot/keyring';
import { u8aToHex } from '@polkadot/util';
import { blake2AsHex, cryptoWaitReady } from '@polkadot/util-crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { attestorPortAccount, ecdsaAccountOfKey } from '../../adapters/substrate/multisig.ts';
import { portArtifacts } from '../../adapters/evm/artifacts.ts';
import { connectEndpoint, disconnectEndpoint, type SubstrateEndpoint } from '../../adapters/substrate/rpc.ts';
import { substrateChainId } from '../../adapters/substrate/chain-id.ts';
import { sendRemark } from '../../adapters/substrate/send.ts';
import { encodeParachainTrustRoot } from '../../relayer/light/grandpa-trust.ts';
import type { ChainId } from '../../src/domain/caip.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { makeProvider } from '../../src/evm/provider.ts';
import type { HubKeys } from '../../src/governance/keys.ts';
import { startTestHub, type TestHub } from '../helpers/hub.ts';
import { registerMember } from '../helpers/member-chain.ts';
import { until } from '../helpers/services.ts';
import { startSubstrateTestServer, type SubstrateTestServer } from '../servers/substrate/index.ts';

const PARA_ID = 2000;

/**
 * A parachain (the Substrate test server in parachain mode: no GRANDPA of its
 * own, final when a finalized relay block holds its head in Paras::Heads)
 * registered with a parachain trust root (the relay chain's GRANDPA anchor and
 * endpoints, the para's runtime pins): a remark on the para is delivered to
 * the demo EVM chain, and with the relay serving forged Paras::Heads proofs
 * nothing from the para arrives (both asserted on the EVM chain).
 */
describe('parachain -> EVM through the relay chain\'s GRANDPA and Paras::Heads', () => {
  let t: TestHub;
  let relay: SubstrateTestServer;
  let para: SubstrateTestServer;
  let ep: SubstrateEndpoint;
  let C: ChainId;
  let port: Hex;
  let portIface: Interface;
  let dest: { chainId: string; port: string; receiver: string; url: string; numericId: string };
  let alice: ReturnType<Keyring['addFromUri']>;
  let nonce = 0n;

  async function send(payload: string): Promise<{ id: Hex; blockHash: Hex }> {
    const s = await sendRemark(ep.api, alice, {
      version: 1,
      srcChain: C,
      srcPort: port,
      dstChain: dest.chainId as ChainId,
      dstPort: dest.port.toLowerCase() as Hex,
      receiver: dest.receiver.toLowerCase() as Hex,
      nonce: ++nonce,
      gasLimit: 200_000n,
      timeoutHeight: 0n,
      timeoutUnixSeconds: 0n,
      payload: u8aToHex(new TextEncoder().encode(payload)) as Hex,
    });
    return { id: s.id, blockHash: s.blockHash };
  }

  async function deliveredOnChain(id: Hex): Promise<number> {
    const dp = makeProvider(dest.url, BigInt(dest.numericId));
    try {
      const logs = await dp.getLogs({ address: dest.port, topics: [portIface.getEvent('MessageDelivered')!.topicHash, id], fromBlock: 0n, toBlock: 'latest' });
      return logs.length;
    } finally {
      dp.destroy();
    }
  }

  const status = async (id: Hex) => (await t.hub.index.getMessage(id))?.status;

  beforeAll(async () => {
    await cryptoWaitReady();
    t = await startTestHub();
    portIface = new Interface((await portArtifacts()).QiaoPort.abi as never);
    const keys = JSON.parse(await readFile(join(t.dataDir, 'keys.json'), 'utf8')) as HubKeys;
    dest = t.hub.demo!.chains[0]!;
    relay = await startSubstrateTestServer({ blockTimeMs: 300, chainName: 'Qiao Relay Test' });
    para = await startSubstrateTestServer({ blockTimeMs: 300, chainName: 'Qiao Para Test', parachain: { relay, paraId: PARA_ID } });
    // The relay anchor must hold the para's head: a relay block finalized after the para started.
    const anchorAt = await until(async () => (relay.paraHead(PARA_ID, relay.finalized()) ? relay.finalized() : null), { timeoutMs: 10_000, what: 'relay block holding the para head' });
    port = u8aToHex(attestorPortAccount([ecdsaAccountOfKey(keys.attestor)], 1)) as Hex;
    ep = await connectEndpoint(para.url);
    alice = new Keyring({ type: 'sr25519' }).addFromUri('//Alice');
    C = substrateChainId(para.genesisHash);
    const set = relay.authoritySet();
    await registerMember(t, keys, {
      chainId: C,
      family: 'substrate',
      genesisHash: para.genesisHash,
      port,
      lightClient: 'grandpa',
      trustRoot: encodeParachainTrustRoot({
        relay: { height: anchorAt, hash: relay.blockHash(anchorAt)!, setId: set.setId, authorities: set.authorities.map((a) => ({ key: a.publicKey, weight: a.weight })), endpoints: [relay.url] },
        paraId: PARA_ID,
        runtime: { specVersion: para.specVersion(), metadataHash: blake2AsHex(para.metadataHex(), 256) as Hex, systemPallet: 0, remarkedEvent: 5 },
      }),
      finality: { kind: 'grandpa' },
      endpoints: [para.url],
    });
  }, 120_000);

  afterAll(async () => {
    if (ep) await disconnectEndpoint(ep);
    await t?.stop();
    await para?.close();
    await relay?.close();
  });

  it('delivers a message remarked on the parachain once a finalized relay block holds its block', async () => {
    const { id, blockHash } = await send('hello from the parachain');
    await until(async () => (await status(id)) === 'delivered', { timeoutMs: 60_000, what: 'delivered' });
    expect(await deliveredOnChain(id)).toBe(1);
    // The anchor the light client vouched for is the para's own block, which the relay's finalized state holds (or a descendant of it).
    const verified = (await t.hub.index.timeline(id)).find((x) => x.status === 'verified')!;
    const proof = verified.proof as { lightClient: string; anchor: { hash: string } };
    expect(proof.anchor.hash).toBe(blockHash);
    expect(para.blockHash(Number(verified.height))).toBe(blockHash);
    const held = blake2AsHex(relay.paraHead(PARA_ID, relay.finalized())!, 256);
    let n = para.head();
    while (n > 0 && para.blockHash(n) !== held) n--;
    expect(para.blockHash(n)).toBe(held);
    expect(n).toBeGreaterThanOrEqual(Number(verified.height));
  }, 90_000);

  it('with the relay serving forged Paras::Heads proofs, nothing from the parachain is delivered', async () => {
    relay.faults.forgeParaHead = true;
    let forged: Hex;
    try {
      ({ id: forged } = await send('relay proof forged'));
      await until(async () => (await status(forged)) === 'quarantined', { timeoutMs: 60_000, what: 'quarantined' });
    } finally {
      relay.faults.forgeParaHead = false;
    }
    expect((await t.hub.index.getMessage(forged))!.reason).toBe('header_invalid:storage_proof_invalid');
    expect(await deliveredOnChain(forged)).toBe(0);
  }, 90_000);
});
