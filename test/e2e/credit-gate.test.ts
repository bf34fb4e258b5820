import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Contract, ContractFactory, Interface, Wallet, type ErrorDescription, type JsonRpcProvider } from 'ethers';
import { portArtifacts, type PortArtifacts } from '../../adapters/evm/artifacts.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { messageId } from '../../src/domain/message.ts';
import { makeProvider } from '../../src/evm/provider.ts';
import { TxSender } from '../../src/evm/signer.ts';
import { CONTRACT_DIRS, compileSolidity, type CompiledContract } from '../../src/governance/solc.ts';
import { SnapshotLogClient, type CommittedSnapshot } from '../../src/governance/snapshots.ts';
import { commitPrivateData, schemaIdOf } from '../../src/registries/index.ts';
import { buildRegistrySnapshot } from '../../src/registries/snapshot/builder.ts';
import { creditGatedPayloadFrom, explainCreditGateRefusal } from '../../src/registries/snapshot/gated-payload.ts';
import { checkRegistryProof, registryProof, registryProofFromJson } from '../../src/registries/snapshot/proofs.ts';
import { runCli, cleanEnv } from '../helpers/cli.ts';
import { startTestHub, type TestHub } from '../helpers/hub.ts';
import { until } from '../helpers/services.ts';

const SCHEMA = 'qiao.e2e.credit-grade.v1';
const FUNDS = '0x3635C9ADC5DEA00000';

/**
 * The "must show": a contract on demo chain B accepts a message from chain A
 * only when the sender's registry proof checks out against the snapshot B's port
 * holds, and refuses it, with the reason in the hub's index, once the attestation
 * is revoked and a newer snapshot has reached B. Safety is read from chain B.
 */
describe('credit-gated receiver end to end', () => {
  let t: TestHub;
  let artifacts: PortArtifacts;
  let gate: CompiledContract;
  let gateIface: Interface;
  let a: { chainId: string; port: string; provider: JsonRpcProvider; user: TxSender };
  let b: { chainId: string; port: Contract; provider: JsonRpcProvider };
  let receiver: Contract;
  let issuer: TxSender;
  let subjectDid: string;
  let uid: Hex;
  const issuerDid = 'did:qiao:issuer.e2e-bank';
  const schemaId = schemaIdOf(SCHEMA);

  beforeAll(async () => {
    t = await startTestHub({ config: { registry: { snapshotIntervalMs: 300 } } });
    [artifacts, gate] = await Promise.all([
      portArtifacts(),
      compileSolidity([join(CONTRACT_DIRS.evmPort, 'demo', 'CreditGatedReceiver.sol')]).then((c) => c.CreditGatedReceiver!),
    ]);
    gateIface = new Interface(gate.abi as never);
    const [ca, cb] = t.hub.demo!.chains as [NonNullable<TestHub['hub']['demo']>['chains'][0], NonNullable<TestHub['hub']['demo']>['chains'][0]];
    const pa = makeProvider(ca.url, BigInt(ca.numericId), { pollingMs: 100 });
    const pb = makeProvider(cb.url, BigInt(cb.numericId), { pollingMs: 100 });
    const userA = Wallet.createRandom();
    const deployerB = Wallet.createRandom();
    await pa.send('anvil_setBalance', [userA.address, FUNDS]);
    await pb.send('anvil_setBalance', [deployerB.address, FUNDS]);
    a = { chainId: ca.chainId, port: ca.port, provider: pa, user: new TxSender(userA.privateKey, pa) };
    b = { chainId: cb.chainId, port: new Contract(cb.port, artifacts.QiaoPort.abi as never, pb), provider: pb };
    const deployed = await new ContractFactory(gate.abi as never, gate.bytecode, new TxSender(deployerB.privateKey, pb).signer).deploy(cb.port, schemaId, ['A', 'B', 'C', 'D'], 'B');
    await deployed.waitForDeployment();
    receiver = new Contract(await deployed.getAddress(), gate.abi as never, pb);

    // The hub commits a snapshot whenever the registries change (checked every 300 ms here);
    // its attestor rebuilds each one from the registries before signing.
    const gov = t.hub.governance.client;
    const registries = t.hub.registries;

    // The registries: an issuer accredited for the schema, and the sender's DID, controlled by its chain-A account.
    const wallets = [Wallet.createRandom(), Wallet.createRandom()];
    for (const w of wallets) await gov.provider.send('anvil_setBalance', [w.address, FUNDS]);
    issuer = new TxSender(wallets[0]!.privateKey, gov.provider);
    const registrar = new TxSender(wallets[1]!.privateKey, gov.provider);
    await registries.identity.create(issuer, { did: issuerDid });
    subjectDid = (await registries.identity.create(registrar, { controller: userA.address })).did;
    await registries.credit.registerSchema(t.hub.governance.path, { name: SCHEMA, publicFields: ['string grade'], revocable: true, negative: false, retentionSeconds: 0, disputeWindowSeconds: 86400 });
    await registries.issuers.accredit(t.hub.governance.path, issuerDid, schemaId, 0);
  });

  afterAll(async () => {
    a?.provider.destroy();
    b?.provider.destroy();
    await t?.stop();
  });

  /** The MessageLog's latest snapshot once it covers `block` and chain B's port holds it. */
  async function snapshotOnB(block: number): Promise<CommittedSnapshot> {
    const log = new SnapshotLogClient(t.hub.governance.client);
    const s = await until(async () => {
      const x = await log.latest();
      return x && x.sourceBlock >= BigInt(block) ? x : null;
    }, { timeoutMs: 60_000, what: `a snapshot covering governance block ${block}` });
    await until(async () => ((await b.port.getFunction('registryRootInfo')()) as [bigint])[0] >= s.snapshotNo, { timeoutMs: 60_000, what: `snapshot ${s.snapshotNo} on chain B` });
    return s;
  }

  async function sendFromA(payload: Hex): Promise<Hex> {
    const portIface = new Interface(artifacts.QiaoPort.abi as never);
    const data = portIface.encodeFunctionData('send', [b.chainId, await b.port.getAddress(), await receiver.getAddress(), 600_000n, 0n, 0n, payload]);
    const r = await a.user.send({ to: a.port, data, gasLimit: 1_000_000n });
    const ev = r.logs.map((l) => portIface.parseLog(l)).find((p) => p?.name === 'MessageSent')!;
    return messageId(ev.args[3] as Hex);
  }

  /** The index's failure reason: the receiver's revert data, decoded with its ABI. */
  async function failedWith(id: Hex): Promise<ErrorDescription> {
    const m = await until(async () => {
      const row = await t.hub.index.getMessage(id);
      return row && (row.status === 'failed' || row.status === 'delivered') ? row : null;
    }, { timeoutMs: 90_000, what: `message ${id} to reach a final status` });
    expect(m.status).toBe('failed');
    const parsed = m.reason ? gateIface.parseError(m.reason) : null;
    expect(parsed, `index reason ${m.reason}`).not.toBeNull();
    return parsed!;
  }

  /** What chain B's port recorded for the message (safety is read from the chain). */
  async function deliveredOnB(id: Hex): Promise<{ ok: boolean; reason: string }> {
    const topic = b.port.interface.getEvent('MessageDelivered')!.topicHash;
    const logs = await b.provider.getLogs({ address: await b.port.getAddress(), topics: [topic, id], fromBlock: 0n, toBlock: 'latest' });
    expect(logs).toHaveLength(1);
    const p = b.port.interface.parseLog(logs[0]!)!;
    return { ok: p.args[1] as boolean, reason: p.args[2] as string };
  }

  it('delivers with a valid grade-B proof, refuses after revocation (new proof and old proof), with the reason in the index', async () => {
    const attested = await t.hub.registries.credit.attest(issuer, { schemaId, subjectDid, issuerDid, dataCommitment: commitPrivateData('income band 3').commitment, publicValues: { grade: 'B' } });
    uid = attested.uid;
    const first = await snapshotOnB(attested.receipt.blockNumber);

    // The proof as a user gets it: `qiao registry prove` building it from the governance chain.
    const cli = await runCli(['registry', 'prove', subjectDid, '--schema', SCHEMA, '--data-dir', t.dataDir, '--governance-rpc', t.hub.governance.url, '--json'], { env: cleanEnv() });
    expect(cli.stderr).toBe('');
    expect(cli.code).toBe(0);
    const proof = registryProofFromJson(JSON.parse(cli.stdout));
    expect(proof.snapshot.snapshotNo).toBeGreaterThanOrEqual(first.snapshotNo);
    expect(proof.snapshot.treeRoot).toBe((await t.hub.governance.client.messageLog.getFunction('snapshot')(proof.snapshot.snapshotNo)).treeRoot.toLowerCase());
    expect(checkRegistryProof(proof)).toEqual({ ok: true });
    expect(proof.attestations.map((x) => [x.uid, x.leaf.status])).toEqual([[uid, 1]]);
    await snapshotOnB(Number(proof.snapshot.blockNumber));
    const validPayload = creditGatedPayloadFrom(proof, schemaId, '0x706179203130' as Hex);

    const ok = await sendFromA(validPayload);
    await until(async () => (await receiver.getFunction('accepted')()) === 1n, { timeoutMs: 90_000, what: 'the gated receiver to accept the message on chain B' });
    expect(await receiver.getFunction('lastIdOfDid')(proof.didHash)).toBe(ok);
    expect((await deliveredOnB(ok)).ok).toBe(true);
    await until(async () => (await t.hub.index.getMessage(ok))?.status === 'delivered', { timeoutMs: 30_000, what: 'the index to show the message delivered' });

    // Revoked: a newer snapshot reaches B; the new proof says "revoked", the old one no longer proves.
    const revokedAt = (await t.hub.registries.credit.revoke(issuer, uid)).blockNumber;
    const second = await snapshotOnB(revokedAt);
    expect(second.snapshotNo).toBeGreaterThan(proof.snapshot.snapshotNo!);
    const fresh = registryProof(await buildRegistrySnapshot(t.hub.registries, second.sourceBlock), subjectDid, { snapshotNo: second.snapshotNo });
    expect(fresh.snapshot.treeRoot).toBe(second.treeRoot);
    expect(fresh.attestations[0]!.leaf.status).toBe(2);

    const withNew = await sendFromA(creditGatedPayloadFrom(fresh, schemaId, '0x706179203230' as Hex));
    const withOld = await sendFromA(validPayload);
    const e1 = await failedWith(withNew);
    expect([e1.name, (e1.args[0] as string).toLowerCase(), Number(e1.args[1])]).toEqual(['AttestationNotValid', uid, 2]);
    expect(explainCreditGateRefusal((await t.hub.index.getMessage(withNew))!.reason!)?.text).toBe('the attestation is revoked');
    const e2 = await failedWith(withOld);
    expect([e2.name, Number(e2.args[1])]).toEqual(['RegistryProofRefused', 3]);

    // Chain B agrees: both refused by the receiver, nothing more accepted.
    for (const id of [withNew, withOld]) {
      const d = await deliveredOnB(id);
      expect(d.ok).toBe(false);
      expect(gateIface.parseError(d.reason)?.name).toBeDefined();
    }
    expect(await receiver.getFunction('accepted')()).toBe(1n);
  });
});
