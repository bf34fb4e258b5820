import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blake2AsHex } from '@polkadot/util-crypto';
import { WebSocket } from 'ws';
import { ParachainLightClient } from '../../relayer/light/parachain-client.ts';
import { decodeSubstrateTrustRoot, encodeParachainTrustRoot, encodeGrandpaTrustRoot, decodeGrandpaTrustRoot, type ParachainTrustRoot } from '../../relayer/light/grandpa-trust.ts';
import { SubstrateRpcSource } from '../../relayer/light/substrate-rpc-source.ts';
import type { GrandpaBlockSource } from '../../relayer/light/grandpa-client.ts';
import { parasHeadsKey, PARAS_HEADS_PREFIX } from '../../src/domain/substrate-storage.ts';
import { ConfigError } from '../../src/errors.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { silentLogger } from '../../src/logging.ts';
import { startSubstrateTestServer, type SubstrateTestServer } from '../servers/substrate/index.ts';

const PARA_ID = 2000;

/**
 * The parachain light client against a relay and a para test server, both
 * producing blocks by hand (no timers): every expectation is checked against
 * the servers' own chains, never the client's memory.
 */
describe('parachain light client (relay GRANDPA + Paras::Heads)', () => {
  let relay: SubstrateTestServer;
  let para: SubstrateTestServer;
  const opened: { close(): Promise<void> }[] = [];

  const relayBlocks = async (n: number) => {
    for (let i = 0; i < n; i++) await relay.produceBlock();
  };
  const paraBlocks = async (n: number) => {
    for (let i = 0; i < n; i++) await para.produceBlock();
  };

  function root(relayHeight = relay.finalized()): ParachainTrustRoot {
    const set = relay.authoritySet();
    return {
      relay: { height: relayHeight, hash: relay.blockHash(relayHeight)!, setId: set.setId, authorities: set.authorities.map((a) => ({ key: a.publicKey, weight: a.weight })), endpoints: [relay.url] },
      paraId: PARA_ID,
      runtime: { specVersion: para.specVersion(), metadataHash: blake2AsHex(para.metadataHex(), 256) as Hex, systemPallet: 0, remarkedEvent: 5 },
    };
  }

  function client(trust: ParachainTrustRoot, paraSource?: GrandpaBlockSource) {
    const relaySource = new SubstrateRpcSource(trust.relay.endpoints);
    const paraRpc = new SubstrateRpcSource([para.url]);
    opened.push(relaySource, paraRpc);
    return new ParachainLightClient(trust, { relay: relaySource, para: paraSource ?? paraRpc }, silentLogger());
  }

  beforeAll(async () => {
    relay = await startSubstrateTestServer({ blockTimeMs: 0, finalityLag: 1, chainName: 'relay' });
    para = await startSubstrateTestServer({ blockTimeMs: 0, parachain: { relay, paraId: PARA_ID }, chainName: 'para' });
    // Relay #1 holds the para's genesis head; #2 finalizes #1.
    await relayBlocks(2);
  });

  afterAll(async () => {
    for (const o of opened) await o.close();
    await para?.close();
    await relay?.close();
  });

  it('computes the Paras::Heads key as polkadot does (para 2000)', () => {
    expect(parasHeadsKey(2000)).toBe('0xcd710b30bd2eab0352ddcc26417aa1941b3c252fcb29d88eff4f3de5de4476c363f5a4efb16ffa83d0070000');
    expect(parasHeadsKey(2000).startsWith(PARAS_HEADS_PREFIX)).toBe(true);
    expect(() => parasHeadsKey(-1)).toThrow();
  });

  it('the para server finalizes only what a finalized relay block holds, and has no GRANDPA', async () => {
    const before = para.finalized();
    await paraBlocks(2);
    expect(para.finalized()).toBe(before);
    await relayBlocks(1); // includes the para head
    expect(para.finalized()).toBe(before);
    await relayBlocks(1); // finalizes the relay block that includes it
    expect(para.finalized()).toBe(para.head());
    const ws = new WebSocket(para.url);
    await new Promise((r) => ws.once('open', r));
    const reply = new Promise<{ error?: { code: number } }>((r) => ws.once('message', (data) => r(JSON.parse(String(data)) as { error?: { code: number } })));
    ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'grandpa_proveFinality', params: [1] }));
    expect((await reply).error?.code).toBe(-32601);
    ws.close();
  });

  it('round-trips the parachain trust root; a solo decoder refuses it', () => {
    const t = root();
    const bytes = encodeParachainTrustRoot(t);
    expect(decodeSubstrateTrustRoot(bytes, 'polkadot:p')).toEqual({ kind: 'para', root: t });
    expect(() => decodeGrandpaTrustRoot(bytes, 'polkadot:p')).toThrow(ConfigError);
    const json = JSON.parse(Buffer.from(bytes.slice(2), 'hex').toString('utf8')) as { relay: Record<string, unknown> };
    const bad = (v: unknown) => `0x${Buffer.from(JSON.stringify(v)).toString('hex')}` as Hex;
    expect(() => decodeSubstrateTrustRoot(bad({ ...json, relay: { ...json.relay, endpoints: ['http://x'] } }), 'polkadot:p')).toThrow(/endpoints/);
    expect(() => decodeSubstrateTrustRoot(bad({ ...json, paraId: -1 }), 'polkadot:p')).toThrow(/paraId/);
    const solo = encodeGrandpaTrustRoot({ ...t.relay, runtime: t.runtime });
    expect(decodeSubstrateTrustRoot(solo, 'polkadot:s').kind).toBe('solo');
  });

  it('vouches para heights once a finalized relay block holds them, waits before, and pins the para runtime', async () => {
    const lc = client(root());
    const next = para.head() + 3;
    await paraBlocks(3);
    expect(await lc.trustedAt(BigInt(next))).toMatchObject({ ok: false, reason: 'not_final' });
    await relayBlocks(1);
    expect(await lc.trustedAt(BigInt(next))).toMatchObject({ ok: false, reason: 'not_final' });
    await relayBlocks(1);
    for (let n = next; n >= next - 3; n--) expect(await lc.trustedAt(BigInt(n))).toMatchObject({ ok: true, hash: para.blockHash(n) });
    expect(await lc.trustedAt(BigInt(next + 1))).toMatchObject({ ok: false, reason: 'not_final' });
    // Heights below the relay anchor's head are linked down from it.
    expect(await lc.trustedAt(0n)).toMatchObject({ ok: true, hash: para.genesisHash });
    expect((await lc.runtime()).pins.specVersion).toBe(para.specVersion());
    expect(lc.halted).toBeNull();
  });

  it('refuses a forged Paras::Heads proof, and vouches again once the relay serves the real one', async () => {
    const lc = client(root());
    await paraBlocks(2);
    await relayBlocks(2);
    relay.faults.forgeParaHead = true;
    try {
      expect(await lc.trustedAt(BigInt(para.head()))).toMatchObject({ ok: false, reason: 'storage_proof_invalid' });
    } finally {
      relay.faults.forgeParaHead = false;
    }
    expect(await lc.trustedAt(BigInt(para.head()))).toMatchObject({ ok: true, hash: para.blockHash(para.head()) });
  });

  it('refuses a para header chain with a broken parent link', async () => {
    const trust = root();
    await paraBlocks(3);
    await relayBlocks(2);
    const honest = new SubstrateRpcSource([para.url]);
    opened.push(honest);
    const broken = para.head() - 1;
    const lying: GrandpaBlockSource = {
      finalizedHeight: () => honest.finalizedHeight(),
      metadataAt: (h) => honest.metadataAt(h),
      // Serves a header one byte off (its state root) at `broken`: it hashes to another block than its child names.
      async blockAt(n) {
        const b = await honest.blockAt(n);
        if (n !== broken) return b;
        const header = Uint8Array.from(b.header);
        header[40] = header[40]! ^ 1;
        return { ...b, header };
      },
    };
    const lc = client(trust, lying);
    const r = await lc.trustedAt(BigInt(para.head()));
    expect(r).toMatchObject({ ok: false, reason: 'untrusted_header' });
    expect(await lc.trustedAt(BigInt(broken))).toMatchObject({ ok: false });
  });

  it('stops at a para runtime upgrade until re-anchored; a re-anchored client vouches the new runtime\'s blocks', async () => {
    const lc = client(root());
    para.upgradeRuntime(para.specVersion() + 1);
    await paraBlocks(1);
    const upgradeAt = para.head();
    await paraBlocks(2);
    await relayBlocks(2);
    expect(await lc.trustedAt(BigInt(upgradeAt))).toMatchObject({ ok: true, hash: para.blockHash(upgradeAt) });
    expect(await lc.trustedAt(BigInt(upgradeAt + 1))).toMatchObject({ ok: false, reason: 'runtime_not_approved' });
    // Governance re-anchors at a relay block holding a para head after the upgrade, with the new pins.
    const re = client(root());
    expect(await re.trustedAt(BigInt(upgradeAt + 1))).toMatchObject({ ok: true, hash: para.blockHash(upgradeAt + 1) });
    expect(await re.trustedAt(BigInt(upgradeAt - 1))).toMatchObject({ ok: false, reason: 'runtime_not_approved' });
  });

  it('refuses (and halts on) a forged relay justification', async () => {
    const lc = client(root());
    await paraBlocks(1);
    relay.faults.forgeJustification = true;
    try {
      await relayBlocks(2);
      expect(await lc.trustedAt(BigInt(para.head()))).toMatchObject({ ok: false, reason: 'signature_invalid' });
    } finally {
      relay.faults.forgeJustification = false;
    }
    expect(lc.halted).toMatchObject({ reason: 'signature_invalid' });
    await relayBlocks(2);
    expect(await lc.trustedAt(BigInt(para.head()))).toMatchObject({ ok: false, reason: 'signature_invalid' });
  });
});
