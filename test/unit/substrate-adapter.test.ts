import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keyring } from '@polkadot/keyring';
import { u8aToHex } from '@polkadot/util';
import { blake2AsHex, cryptoWaitReady } from '@polkadot/util-crypto';
import { createSubstrateAdapter, type SubstrateAdapter } from '../../adapters/substrate/adapter.ts';
import { SUBSTRATE_PORT_PLACEHOLDER, substrateChainId } from '../../adapters/substrate/chain-id.ts';
import { sendRemark } from '../../adapters/substrate/send.ts';
import { GrandpaLightClient } from '../../relayer/light/grandpa-client.ts';
import { decodeGrandpaTrustRoot, encodeGrandpaTrustRoot } from '../../relayer/light/grandpa-trust.ts';
import { verifySourceProof } from '../../relayer/verify-source.ts';
import type { ChainRegistration } from '../../src/domain/chain.ts';
import type { ChainId } from '../../src/domain/caip.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { silentLogger } from '../../src/logging.ts';
import { startSubstrateTestServer, type SubstrateTestServer } from '../servers/substrate/index.ts';
import { until } from '../helpers/services.ts';

/** The adapter, light client and verifier against the Substrate test server (no hub). */
describe('Substrate adapter + GRANDPA light client + remarks verifier', () => {
  let srv: SubstrateTestServer;
  let adapter: SubstrateAdapter;
  let reg: ChainRegistration;
  let alice: ReturnType<Keyring['addFromUri']>;
  const dst = 'eip155:31337001' as ChainId;

  const message = (payload: string, nonce: bigint) => ({
    version: 1,
    srcChain: reg.chainId,
    srcPort: reg.port,
    dstChain: dst,
    dstPort: `0x${'11'.repeat(20)}` as Hex,
    receiver: `0x${'22'.repeat(20)}` as Hex,
    nonce,
    gasLimit: 100_000n,
    timeoutHeight: 0n,
    timeoutUnixSeconds: 0n,
    payload: u8aToHex(new TextEncoder().encode(payload)) as Hex,
  });

  async function finalizedBlockOf(blockHash: Hex): Promise<bigint> {
    const h = await adapter.endpoints[0]!.api.rpc.chain.getHeader(blockHash);
    const n = BigInt(h.number.toNumber());
    await until(async () => (await adapter.watcher.heads()).finalized >= n, { timeoutMs: 20_000, what: 'finalized' });
    return n;
  }

  beforeAll(async () => {
    await cryptoWaitReady();
    srv = await startSubstrateTestServer({ blockTimeMs: 200 });
    const set = srv.authoritySet();
    const chainId = substrateChainId(srv.genesisHash);
    reg = {
      chainId,
      family: 'substrate',
      genesisHash: srv.genesisHash,
      port: SUBSTRATE_PORT_PLACEHOLDER,
      lightClient: 'grandpa',
      trustRoot: encodeGrandpaTrustRoot({
        height: 0,
        hash: srv.genesisHash,
        setId: set.setId,
        authorities: set.authorities.map((a) => ({ key: a.publicKey, weight: a.weight })),
        runtime: { specVersion: srv.specVersion(), metadataHash: blake2AsHex(srv.metadataHex(), 256) as Hex, systemPallet: 0, remarkedEvent: 5 },
      }),
      finality: { kind: 'grandpa' },
      endpoints: [srv.url],
      status: 'approved',
    };
    adapter = await createSubstrateAdapter(reg, { logger: silentLogger() });
    alice = new Keyring({ type: 'sr25519' }).addFromUri('//Alice');
  }, 60_000);

  afterAll(async () => {
    await adapter?.close();
    await srv?.close();
  });

  async function proveAndVerify(lc: GrandpaLightClient, height: bigint, ids: Hex[]) {
    const t = await lc.trustedAt(height);
    if (!t.ok) return { ok: false as const, reason: `header_invalid:${t.reason}`, detail: t.detail };
    const proof = await adapter.prover.proveCommitments(height, ids, 0);
    return verifySourceProof(reg, proof, { height, ids, anchor: { kind: 'state-root', hash: t.hash, stateRoot: t.stateRoot }, runtime: await lc.runtime() }, { allowLocalDev: false });
  }

  it('observes a remarked message and verifies it against the GRANDPA-trusted state root', async () => {
    const sent = await sendRemark(adapter.endpoints[0]!.api, alice, message('hello from substrate', 1n));
    const height = await finalizedBlockOf(sent.blockHash);
    const found = await adapter.watcher.messagesIn(height, height);
    expect(found.map((m) => m.id)).toEqual([sent.id]);
    expect(found[0]!.message.sender).toBe(u8aToHex(alice.publicKey));
    const lc = new GrandpaLightClient(decodeGrandpaTrustRoot(reg.trustRoot, reg.chainId), adapter.grandpa);
    expect(await proveAndVerify(lc, height, [sent.id])).toEqual({ ok: true, lightClient: 'grandpa' });
    // An id the block does not hold is refused.
    const other = await proveAndVerify(lc, height, [`0x${'ab'.repeat(32)}` as Hex]);
    expect(other.ok).toBe(false);
  }, 60_000);

  it('refuses a relabelled event and a forged read proof', async () => {
    srv.faults.relabelRemarked = true;
    const relabelled = await sendRemark(adapter.endpoints[0]!.api, alice, message('relabelled', 2n));
    srv.faults.relabelRemarked = false;
    const h1 = await finalizedBlockOf(relabelled.blockHash);
    const lc = new GrandpaLightClient(decodeGrandpaTrustRoot(reg.trustRoot, reg.chainId), adapter.grandpa);
    const found = await adapter.watcher.messagesIn(h1, h1);
    expect(found.map((m) => m.id)).toEqual([relabelled.id]);
    const v1 = await proveAndVerify(lc, h1, [relabelled.id]);
    expect(v1.ok || v1.reason).toBe('commitment_absent');
    expect(v1.ok || v1.detail).toMatch(/relabelled/);

    const sent = await sendRemark(adapter.endpoints[0]!.api, alice, message('forged proof', 3n));
    const h2 = await finalizedBlockOf(sent.blockHash);
    srv.faults.forgeReadProof = true;
    const v2 = await proveAndVerify(lc, h2, [sent.id]);
    srv.faults.forgeReadProof = false;
    expect(v2.ok).toBe(false);
    expect(await proveAndVerify(lc, h2, [sent.id])).toEqual({ ok: true, lightClient: 'grandpa' });
  }, 60_000);

  it('refuses forged justifications (the light client halts)', async () => {
    srv.faults.forgeJustification = true;
    const sent = await sendRemark(adapter.endpoints[0]!.api, alice, message('forged justification', 4n));
    const h = await finalizedBlockOf(sent.blockHash);
    const lc = new GrandpaLightClient(decodeGrandpaTrustRoot(reg.trustRoot, reg.chainId), adapter.grandpa);
    const v = await proveAndVerify(lc, h, [sent.id]);
    srv.faults.forgeJustification = false;
    expect(v.ok || v.reason).toBe('header_invalid:signature_invalid');
    expect(lc.halted?.reason).toBe('signature_invalid');
  }, 60_000);

  it('follows the server\'s scheduled authority change and refuses its forced change', async () => {
    const before = srv.authoritySet().setId;
    srv.scheduleAuthorityChange('rotate', 2);
    await until(async () => srv.authoritySet().setId > before, { timeoutMs: 30_000, what: 'set rotated' });
    const sent = await sendRemark(adapter.endpoints[0]!.api, alice, message('after the hand-over', 5n));
    const h = await finalizedBlockOf(sent.blockHash);
    const lc = new GrandpaLightClient(decodeGrandpaTrustRoot(reg.trustRoot, reg.chainId), adapter.grandpa);
    expect(await proveAndVerify(lc, h, [sent.id])).toEqual({ ok: true, lightClient: 'grandpa' });
    expect(lc.setId).toBe(srv.authoritySet().setId);

    const at = srv.head();
    srv.forceAuthorityChange('rotate', 0);
    await until(async () => srv.finalized() > at + 2, { timeoutMs: 30_000, what: 'blocks after the forced change' });
    const t = await lc.trustedAt(BigInt(srv.finalized()));
    expect(!t.ok && t.reason).toBe('grandpa_forced_change');
  }, 90_000);
});
