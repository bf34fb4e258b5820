import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Interface, Wallet, hexlify, randomBytes } from 'ethers';
import { portArtifacts } from '../../adapters/evm/artifacts.ts';
import { deployPort } from '../../adapters/evm/deploy.ts';
import { createEvmAdapter } from '../../adapters/evm/adapter.ts';
import { EVM_ACCOUNT_STORAGES_PREFIX, FrontierSubstrateRpc, accountStoragesKey } from '../../adapters/evm/frontier.ts';
import { decodeGrandpaTrustRoot, decodeSubstrateTrustRoot, encodeFrontierTrustRoot, type FrontierTrustRoot } from '../../relayer/light/grandpa-trust.ts';
import type { SubstrateLightClient } from '../../relayer/light/grandpa-client.ts';
import { substrateLightClientFor } from '../../relayer/light/substrate-light.ts';
import { verifySourceProof, type TrustedAnchor } from '../../relayer/verify-source.ts';
import type { ChainId } from '../../src/domain/caip.ts';
import type { ChainRegistration } from '../../src/domain/chain.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { messageId } from '../../src/domain/message.ts';
import { ConfigError } from '../../src/errors.ts';
import { makeProvider } from '../../src/evm/provider.ts';
import { TxSender } from '../../src/evm/signer.ts';
import { ANVIL_DEV_KEY } from '../../src/governance/anvil.ts';
import { silentLogger } from '../../src/logging.ts';
import { ACCOUNT_STORAGES_PREFIX, accountStoragesKey as modelKey, solidityMappingSlot } from '../servers/frontier/storage.ts';
import { startFrontierTestServer, type FrontierTestServer } from '../servers/frontier/index.ts';

const CHAIN_ID = 777_301;
const C = `eip155:${CHAIN_ID}` as ChainId;

/**
 * A Frontier source verified end to end below the hub: QiaoPort on the model's
 * anvil, its commitments mirrored into the model's Substrate state as
 * EVM::AccountStorages, a GRANDPA light client anchoring the Substrate block,
 * and the read proof checked against its state root. Heights and values are
 * read from the model's chains, never from the client's memory.
 */
describe('Frontier: commitments proven through EVM::AccountStorages under GRANDPA', () => {
  let f: FrontierTestServer;
  let user: TxSender;
  let port: Hex;
  let iface: Interface;
  let reg: ChainRegistration;
  let lc: SubstrateLightClient;
  let rpc: FrontierSubstrateRpc;

  async function send(payload: string): Promise<{ id: Hex; height: bigint }> {
    const data = iface.encodeFunctionData('send', ['eip155:1', Wallet.createRandom().address, Wallet.createRandom().address, 100_000n, 0n, 0n, new TextEncoder().encode(payload)]);
    const r = await user.send({ to: port, data });
    const log = r.logs.map((l) => iface.parseLog(l)).find((p) => p?.name === 'MessageSent')!;
    await f.synced(r.blockNumber);
    return { id: messageId(log.args[3] as Hex), height: BigInt(r.blockNumber) };
  }

  async function anchorAt(height: bigint): Promise<TrustedAnchor> {
    const t = await lc.trustedAt(height);
    if (!t.ok) throw new Error(`not vouched: ${t.reason}: ${t.detail}`);
    return { kind: 'state-root', hash: t.hash, stateRoot: t.stateRoot };
  }

  const verify = async (height: bigint, ids: Hex[], proofHeight = height) =>
    verifySourceProof(reg, await rpc.prove(proofHeight, port, ids, 0), { height, ids, anchor: await anchorAt(height) }, { allowLocalDev: false });

  beforeAll(async () => {
    f = await startFrontierTestServer({ chainId: CHAIN_ID });
    const artifacts = await portArtifacts();
    iface = new Interface(artifacts.QiaoPort.abi as never);
    user = new TxSender(ANVIL_DEV_KEY, makeProvider(f.ethUrl, BigInt(CHAIN_ID), { pollingMs: 50 }));
    const attestor = Wallet.createRandom().address;
    port = (await deployPort(user, artifacts, { chainId: C, govChainId: 31337n, messageLog: Wallet.createRandom().address, attestors: [attestor], threshold: 1, setId: 1n })).toLowerCase() as Hex;
    f.mirror(port);
    await f.synced();
    const root: FrontierTrustRoot = { ...f.anchor(), substrateEndpoints: [f.substrateUrl] };
    reg = { chainId: C, family: 'evm', genesisHash: f.ethGenesisHash as Hex, port, lightClient: 'grandpa', trustRoot: encodeFrontierTrustRoot(root), finality: { kind: 'grandpa' }, endpoints: [f.ethUrl], status: 'approved' };
    lc = substrateLightClientFor(reg, undefined, silentLogger());
    rpc = new FrontierSubstrateRpc([f.substrateUrl]);
  });

  afterAll(async () => {
    await rpc?.close();
    await lc?.close?.();
    user?.provider.destroy();
    await f?.close();
  });

  it('derives the AccountStorages key as the model (an independent derivation) does', () => {
    expect(EVM_ACCOUNT_STORAGES_PREFIX).toBe(ACCOUNT_STORAGES_PREFIX);
    const slot = solidityMappingSlot(hexlify(randomBytes(32)), 0n);
    expect(accountStoragesKey(port, slot as Hex)).toBe(modelKey(port, slot));
  });

  it('round-trips the Frontier trust root; other decoders and a Substrate family refuse it', () => {
    const t = decodeSubstrateTrustRoot(reg.trustRoot, C);
    expect(t.kind).toBe('frontier');
    expect(() => decodeGrandpaTrustRoot(reg.trustRoot, C)).toThrow(ConfigError);
    expect(() => substrateLightClientFor({ ...reg, family: 'substrate' }, undefined, silentLogger())).toThrow(ConfigError);
    const json = JSON.parse(Buffer.from(reg.trustRoot.slice(2), 'hex').toString('utf8')) as Record<string, unknown>;
    const bad = (v: unknown) => `0x${Buffer.from(JSON.stringify(v)).toString('hex')}` as Hex;
    expect(() => decodeSubstrateTrustRoot(bad({ ...json, substrateEndpoints: ['http://x'] }), C)).toThrow(/substrateEndpoints/);
    expect(() => decodeSubstrateTrustRoot(bad({ ...json, runtime: {} }), C)).toThrow(ConfigError);
  });

  it('proves a commitment at the block it was sent in, as the chain holds it', async () => {
    const a = await send('one');
    const b = await send('two');
    // The model's Substrate state at that height holds commitments[id] = the eth block number (read from the server itself).
    const key = modelKey(port, solidityMappingSlot(a.id, 0n));
    expect(await f.substrateStorage(key, Number(a.height))).toBe(`0x${a.height.toString(16).padStart(64, '0')}`);
    expect(await verify(a.height, [a.id])).toEqual({ ok: true, lightClient: 'grandpa' });
    expect(await verify(b.height, [b.id])).toEqual({ ok: true, lightClient: 'grandpa' });
    // Still held later on (the proof is of the state, which keeps it).
    const c = await send('three');
    expect(await verify(c.height, [c.id])).toMatchObject({ ok: true });
  });

  it('refuses forged storage: an id never sent, and a real commitment with a forged value', async () => {
    const a = await send('to be forged');
    const never = hexlify(randomBytes(32)) as Hex;
    expect(await verify(a.height, [never])).toMatchObject({ ok: false, reason: 'commitment_absent' });
    f.faults.forgeStorage = true;
    try {
      expect(await verify(a.height, [never])).toMatchObject({ ok: false, reason: 'storage_proof_invalid' });
      expect(await verify(a.height, [a.id])).toMatchObject({ ok: false, reason: 'storage_proof_invalid' });
    } finally {
      f.faults.forgeStorage = false;
    }
    expect(await verify(a.height, [a.id])).toMatchObject({ ok: true });
  });

  it('the EVM adapter takes finality from GRANDPA and proves through the Substrate endpoints; finality and light client must agree', async () => {
    const adapter = await createEvmAdapter(reg, { logger: silentLogger() });
    try {
      const a = await send('through the adapter');
      const heads = await adapter.watcher.heads();
      expect(heads.finalized).toBe(BigInt(Math.min(f.substrate.finalized(), Number(heads.head))));
      expect(heads.finalized).toBeGreaterThanOrEqual(a.height);
      expect(adapter.prover.endpointCount()).toBe(1);
      const proof = await adapter.prover.proveCommitments(a.height, [a.id], 0);
      expect(proof).toMatchObject({ kind: 'frontier-storage', height: a.height.toString(), blockHash: f.substrate.blockHash(Number(a.height)) });
      expect(verifySourceProof(reg, proof, { height: a.height, ids: [a.id], anchor: await anchorAt(a.height) }, { allowLocalDev: false })).toMatchObject({ ok: true });
    } finally {
      await adapter.close();
    }
    await expect(createEvmAdapter({ ...reg, finality: { kind: 'depth', depth: 2 } }, { logger: silentLogger() })).rejects.toThrow(ConfigError);
    await expect(createEvmAdapter({ ...reg, lightClient: 'local-dev' }, { logger: silentLogger() })).rejects.toThrow(ConfigError);
  });

  it('refuses the wrong height: before the send, a later block, and a proof of another block', async () => {
    const a = await send('height');
    await send('next block');
    expect(await verify(a.height - 1n, [a.id])).toMatchObject({ ok: false, reason: 'commitment_absent' });
    // A later state still holds the commitment, but with the block it was written in, not this height.
    expect(await verify(a.height + 1n, [a.id])).toMatchObject({ ok: false, reason: 'height_mismatch' });
    // A proof at another block than the one the light client vouches for at this height.
    expect(await verify(a.height, [a.id], a.height + 1n)).toMatchObject({ ok: false, reason: 'height_mismatch' });
    const other = { ...(await rpc.prove(a.height + 1n, port, [a.id], 0)), height: a.height.toString() };
    expect(verifySourceProof(reg, other, { height: a.height, ids: [a.id], anchor: await anchorAt(a.height) }, { allowLocalDev: false })).toMatchObject({ ok: false, reason: 'untrusted_header' });
  });
});
