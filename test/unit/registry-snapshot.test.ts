import { join } from 'node:path';
import { AbiCoder, Contract, ContractFactory, Interface, JsonRpcProvider, SigningKey, Wallet, getAddress, hexlify, keccak256, randomBytes, toUtf8Bytes, zeroPadValue, type ContractTransactionResponse, type ErrorFragment } from 'ethers';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signAttestation, type AttestationDomain } from '../../src/domain/attestation.ts';
import { chainId } from '../../src/domain/caip.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { MessageTree } from '../../src/domain/merkle.ts';
import { encodeMessage, messageId } from '../../src/domain/message.ts';
import { ValidationError } from '../../src/errors.ts';
import { makeProvider } from '../../src/evm/provider.ts';
import { TxSender } from '../../src/evm/signer.ts';
import { ANVIL_DEV_KEY, startAnvil, type AnvilProcess } from '../../src/governance/anvil.ts';
import { directGovernance, type GovernPath } from '../../src/governance/govern.ts';
import { commitPrivateData, connectRegistries, decodePublicData, deployRegistries, registryArtifacts, schemaIdOf, type Registries } from '../../src/registries/index.ts';
import { CONTRACT_DIRS, compileSolidity, type CompiledSet } from '../../src/governance/solc.ts';
import { attestedRegistryRoot, buildRegistrySnapshot, snapshotOf, type SnapshotAccreditation, type SnapshotAttestation, type RegistrySnapshot, type SnapshotIdentity, type SnapshotReader } from '../../src/registries/snapshot/builder.ts';
import { CREDIT_GATE_ERRORS, creditGatedPayloadFrom, encodeCreditGatedPayload, explainCreditGateRefusal } from '../../src/registries/snapshot/gated-payload.ts';
import {
  LEAF_KIND,
  REGISTRY_LEAF_ENCODING,
  accreditationKey,
  attestationData,
  attestationValidUntil,
  didHash,
  identityLeaf,
  leafTuple,
  registryLeafHash,
  type RegistryLeaf,
} from '../../src/registries/snapshot/leaves.ts';
import { RegistryRecordNotFoundError, checkRegistryProof, registryProof, registryProofFromJson, registryProofToJson, verifyRegistryProof } from '../../src/registries/snapshot/proofs.ts';
import { portArtifacts } from '../../adapters/evm/artifacts.ts';

const abi = AbiCoder.defaultAbiCoder();
const h = (label: string) => keccak256(toUtf8Bytes(label)) as Hex;
const grade = (g: string) => abi.encode(['string'], [g]) as Hex;
const SCHEMA = h('credit-grade-v1');
const OTHER_SCHEMA = h('other-schema');

const alice = { did: 'did:qiao:alice', controller: new Wallet(h('alice key')).address };
const bob = { did: 'did:qiao:bob', controller: new Wallet(h('bob key')).address };
const issuer = { did: 'did:qiao:bank-1', controller: new Wallet(h('issuer key')).address };

function identity(x: { did: string; controller: string }, active = true): SnapshotIdentity {
  return { didHash: didHash(x.did), controller: x.controller, documentHash: h(`doc ${x.did}`), active };
}

function accreditation(over: Partial<SnapshotAccreditation> = {}): SnapshotAccreditation {
  return { issuerDidHash: didHash(issuer.did), schemaId: SCHEMA, status: 'active', expiresAt: 0n, ...over };
}

function attestation(over: Partial<SnapshotAttestation> = {}): SnapshotAttestation {
  return { uid: h('uid 1'), subjectDidHash: didHash(alice.did), issuerDidHash: didHash(issuer.did), schemaId: SCHEMA, publicData: grade('B'), status: 'valid', validUntil: 0n, ...over };
}

function registry(over: { attestations?: SnapshotAttestation[]; accreditations?: SnapshotAccreditation[]; takenAt?: bigint } = {}) {
  return snapshotOf({
    blockNumber: 10n,
    takenAt: over.takenAt ?? 1_700_000_000n,
    identities: [identity(alice), identity(bob), identity(issuer)],
    accreditations: over.accreditations ?? [accreditation()],
    attestations: over.attestations ?? [attestation(), attestation({ uid: h('uid 2'), subjectDidHash: didHash(bob.did), publicData: grade('C') })],
  });
}

describe('registry snapshot leaves', () => {
  it('encodes an identity leaf with the controller left-padded and status 1 / 2', () => {
    const l = identityLeaf({ didHash: didHash(alice.did), controller: alice.controller, documentHash: h('doc'), active: true });
    expect(l.kind).toBe(1);
    expect(l.key).toBe(keccak256(toUtf8Bytes('did:qiao:alice')));
    expect(getAddress(`0x${l.a.slice(26)}`)).toBe(alice.controller);
    expect(l.a.slice(0, 26)).toBe(`0x${'0'.repeat(24)}`);
    expect(identityLeaf({ ...identity(alice), active: false }).status).toBe(2);
  });

  it('hashes leaves as StandardMerkleTree does: keccak256(keccak256(abi.encode(leaf)))', () => {
    const snap = registry();
    for (const l of snap.leaves) {
      const manual = keccak256(keccak256(abi.encode([...REGISTRY_LEAF_ENCODING], leafTuple(l))));
      expect(registryLeafHash(l)).toBe(manual);
    }
  });

  it('binds issuer and public data in an attestation leaf and keys accreditations by (issuer, schema)', () => {
    const snap = registry();
    const att = snap.proofFor('attestation', h('uid 1'))!.leaf;
    expect(att.data).toBe(keccak256(abi.encode(['bytes32', 'bytes'], [didHash(issuer.did), grade('B')])));
    expect(att.data).toBe(attestationData(didHash(issuer.did), grade('B')));
    const key = keccak256(abi.encode(['bytes32', 'bytes32'], [didHash(issuer.did), SCHEMA]));
    expect(accreditationKey(didHash(issuer.did), SCHEMA)).toBe(key);
    expect(snap.proofFor(LEAF_KIND.accreditation, key as Hex)!.leaf.validUntil).toBe(0n);
  });

  it('uses the end of retention as validUntil for negative schemas when it comes first', () => {
    expect(attestationValidUntil(0n, 100n)).toBe(0n);
    expect(attestationValidUntil(500n, 100n, { negative: false, retentionSeconds: 50n })).toBe(500n);
    expect(attestationValidUntil(0n, 100n, { negative: true, retentionSeconds: 50n })).toBe(150n);
    expect(attestationValidUntil(120n, 100n, { negative: true, retentionSeconds: 50n })).toBe(120n);
    expect(attestationValidUntil(500n, 100n, { negative: true, retentionSeconds: 50n })).toBe(150n);
  });

  it('gives the same root whatever the input order, and the attested root binds takenAt', () => {
    const a = registry();
    const b = snapshotOf({
      blockNumber: 10n,
      takenAt: 1_700_000_000n,
      identities: [identity(issuer), identity(bob), identity(alice)],
      accreditations: [accreditation()],
      attestations: [attestation({ uid: h('uid 2'), subjectDidHash: didHash(bob.did), publicData: grade('C') }), attestation()],
    });
    expect(b.treeRoot).toBe(a.treeRoot);
    expect(a.attestedRoot).toBe(keccak256(abi.encode(['bytes32', 'uint64'], [a.treeRoot, 1_700_000_000n])));
    expect(attestedRegistryRoot(a.treeRoot, 1_700_000_001n)).not.toBe(a.attestedRoot);
  });

  it('gives empty registries the zero root, against which nothing proves', () => {
    const empty = snapshotOf({ blockNumber: 1n, takenAt: 1n, identities: [], accreditations: [], attestations: [] });
    expect(empty.treeRoot).toBe(`0x${'0'.repeat(64)}`);
    expect(empty.proofFor('identity', didHash(alice.did))).toBeUndefined();
  });

  it('refuses two leaves with one key', () => {
    expect(() => registry({ attestations: [attestation(), attestation()] })).toThrow(ValidationError);
  });
});

describe('registry proofs', () => {
  it('proves a DID: identity, its attestations and each issuer accreditation; all verify', () => {
    const snap = registry();
    const p = registryProof(snap, alice.did, { snapshotNo: 4n });
    expect(p.identity.leaf.key).toBe(didHash(alice.did));
    expect(p.attestations).toHaveLength(1);
    expect(p.attestations[0]!.accreditation).not.toBeNull();
    expect(checkRegistryProof(p)).toEqual({ ok: true });
    expect(verifyRegistryProof(snap.treeRoot, p.identity.leaf, p.identity.proof)).toBe(true);
    // Bob's attestation is not Alice's business.
    expect(p.attestations.map((a) => a.uid)).not.toContain(h('uid 2'));
  });

  it('round-trips through JSON (decimal strings for uint64) and still verifies', () => {
    const snap = registry({ attestations: [attestation({ validUntil: (1n << 64n) - 1n })] });
    const json = JSON.parse(JSON.stringify(registryProofToJson(registryProof(snap, alice.did, { snapshotNo: 7n }))));
    expect(json.snapshot.takenAt).toBe('1700000000');
    expect(json.attestations[0].leaf.validUntil).toBe('18446744073709551615');
    expect(json.attestations[0].leaf.statusName).toBe('valid');
    const back = registryProofFromJson(json);
    expect(back.snapshot.snapshotNo).toBe(7n);
    expect(checkRegistryProof(back)).toEqual({ ok: true });
  });

  it('names the bad field of a malformed proof document', () => {
    const json = JSON.parse(JSON.stringify(registryProofToJson(registryProof(registry(), alice.did))));
    json.attestations[0].leaf.key = '0x12';
    expect(() => registryProofFromJson(json)).toThrow(expect.objectContaining({ field: 'attestations.0.leaf.key' }));
  });

  it('fails a tampered proof: status, public data, proof element, root', () => {
    const snap = registry({ attestations: [attestation({ status: 'revoked' })] });
    const p = registryProof(snap, alice.did);
    const revoked = p.attestations[0]!;
    expect(revoked.leaf.status).toBe(2);
    const asValid = { ...p, attestations: [{ ...revoked, leaf: { ...revoked.leaf, status: 1 } }] };
    expect(checkRegistryProof(asValid)).toMatchObject({ ok: false, reason: 'attestations[0]: leaf is not in the snapshot' });
    const otherGrade = { ...p, attestations: [{ ...revoked, publicData: grade('A') }] };
    expect(checkRegistryProof(otherGrade)).toMatchObject({ ok: false });
    const badPath = { ...p, identity: { ...p.identity, proof: [h('x'), ...p.identity.proof.slice(1)] } };
    expect(checkRegistryProof(badPath)).toMatchObject({ ok: false, reason: 'identity leaf is not in the snapshot' });
    const badRoot = { ...p, snapshot: { ...p.snapshot, treeRoot: h('root') } };
    expect(checkRegistryProof(badRoot)).toMatchObject({ ok: false });
  });

  it('says which DID is missing', () => {
    expect(() => registryProof(registry(), 'did:qiao:nobody')).toThrow(RegistryRecordNotFoundError);
    expect(() => registryProof(registry(), 'not-a-did')).toThrow(expect.objectContaining({ field: 'did' }));
  });

  it('builds from a reader at one pinned block, with that block\'s timestamp as takenAt', async () => {
    const seen: bigint[] = [];
    const reader: SnapshotReader = {
      block: async (tag) => {
        expect(tag).toBe('finalized');
        return { number: 42n, timestamp: 1_800_000_000n };
      },
      listIdentities: async (n) => (seen.push(n), [identity(alice), identity(issuer)]),
      listAccreditations: async (n) => (seen.push(n), [accreditation()]),
      listAttestations: async (n) => (seen.push(n), [attestation()]),
    };
    const snap = await buildRegistrySnapshot(reader, 'finalized');
    expect(seen).toEqual([42n, 42n, 42n]);
    expect(snap.takenAt).toBe(1_800_000_000n);
    expect(snap.blockNumber).toBe(42n);
    expect(snap.leaves).toHaveLength(4);
  });

  it('property: every leaf of a random registry proves, a mutated leaf does not', () => {
    const seed = Number(process.env.QIAO_FC_SEED ?? Date.now() % 2 ** 31);
    console.log(`registry-snapshot property seed: ${seed} (rerun with QIAO_FC_SEED=${seed})`);
    const b32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((u) => hexlify(u) as Hex);
    const ident = fc.record({ didHash: b32, controller: fc.uint8Array({ minLength: 20, maxLength: 20 }).map((u) => getAddress(hexlify(u))), documentHash: b32, active: fc.boolean() });
    const acc = fc.record({ issuerDidHash: b32, schemaId: b32, status: fc.constantFrom('active' as const, 'revoked' as const, 'expired' as const), expiresAt: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) });
    const att = fc.record({
      uid: b32,
      subjectDidHash: b32,
      issuerDidHash: b32,
      schemaId: b32,
      publicData: fc.uint8Array({ maxLength: 96 }).map((u) => hexlify(u) as Hex),
      status: fc.constantFrom('valid' as const, 'revoked' as const, 'expired' as const, 'disputed' as const, 'flagged' as const),
      validUntil: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
    });
    const reg = fc.record({
      identities: fc.uniqueArray(ident, { selector: (x) => x.didHash, maxLength: 6 }),
      accreditations: fc.uniqueArray(acc, { selector: (x) => `${x.issuerDidHash}${x.schemaId}`, maxLength: 6 }),
      attestations: fc.uniqueArray(att, { selector: (x) => x.uid, maxLength: 6 }),
      takenAt: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
    }).filter((r) => r.identities.length + r.accreditations.length + r.attestations.length > 0);
    const mutation = fc.record({ field: fc.constantFrom('kind', 'key', 'a', 'b', 'status', 'validUntil', 'data'), pick: fc.nat() });
    fc.assert(
      fc.property(reg, mutation, (r, m) => {
        const snap = snapshotOf({ blockNumber: 1n, ...r });
        for (const l of snap.leaves) {
          const p = snap.proofFor(l.kind, l.key)!;
          if (!verifyRegistryProof(snap.treeRoot, p.leaf, p.proof)) return false;
        }
        const target = snap.leaves[m.pick % snap.leaves.length]!;
        const { proof } = snap.proofFor(target.kind, target.key)!;
        const bad = mutate(target, m.field);
        return !verifyRegistryProof(snap.treeRoot, bad, proof);
      }),
      { seed, numRuns: 100 },
    );
  });
});

function mutate(l: RegistryLeaf, field: string): RegistryLeaf {
  const flip = (x: Hex) => `${x.slice(0, -1)}${x.endsWith('0') ? '1' : '0'}` as Hex;
  switch (field) {
    case 'kind':
      return { ...l, kind: l.kind === 3 ? 1 : ((l.kind + 1) as 2 | 3) };
    case 'status':
      return { ...l, status: (l.status + 1) % 256 };
    case 'validUntil':
      return { ...l, validUntil: l.validUntil === 0n ? 1n : l.validUntil - 1n };
    case 'key':
    case 'a':
    case 'b':
    case 'data':
      return { ...l, [field]: flip(l[field]) };
    default:
      throw new Error(`unknown field ${field}`);
  }
}

// ------------------------------------------------------------------ Solidity side

const CHAIN_ID = 4322n;
const GOV_CHAIN_ID = 7742n;
const MESSAGE_LOG = getAddress(`0x${h('registry snapshot test: MessageLog').slice(-40)}`);
const attestorKey = new SigningKey(h('registry snapshot test: attestor'));
const domain: AttestationDomain = { chainId: GOV_CHAIN_ID, verifyingContract: MESSAGE_LOG };

describe('registry leaves on chain (QiaoPort on anvil)', () => {
  let anvil: AnvilProcess;
  let provider: JsonRpcProvider;
  let admin: Wallet;
  let port: Contract;
  let portAddr: Hex;
  let receiver: Contract;
  let receiverAddr: Hex;
  let gateIface: Interface;
  let gateSize = 0;
  let snapshotNo = 0n;
  let batchNo = 0n;
  let nonce = 0n;

  const fn = (c: Contract, name: string) => c.getFunction(name);
  const now = async () => BigInt((await provider.getBlock('latest'))!.timestamp);
  const mine = async (seconds: number) => {
    await provider.send('evm_increaseTime', [seconds]);
    await provider.send('evm_mine', []);
  };

  /** What the hub's pipeline does for a snapshot: attest (root type 2, batchNo = snapshot number) and deliver to the port. */
  async function publish(snap: RegistrySnapshot) {
    snapshotNo += 1n;
    const sig = signAttestation(attestorKey, domain, { rootType: 2, setId: 1n, batchNo: snapshotNo, root: snap.attestedRoot });
    await (await fn(port, 'acceptRegistryRoot')(1n, snapshotNo, snap.treeRoot, snap.takenAt, [sig])).wait();
  }

  /** Delivers one message through the port (a one-message batch) and returns the port's MessageDelivered. */
  async function deliver(payload: Hex, from: string) {
    const encoded = encodeMessage({
      version: 1,
      srcChain: chainId('eip155:1'),
      srcPort: h('source port').slice(0, 42) as Hex,
      sender: from.toLowerCase() as Hex,
      dstChain: chainId(`eip155:${CHAIN_ID}`),
      dstPort: portAddr,
      receiver: receiverAddr,
      nonce: ++nonce,
      gasLimit: 500_000n,
      timeoutHeight: 0n,
      timeoutUnixSeconds: 0n,
      payload,
    });
    const tree = MessageTree.of([messageId(encoded)]);
    batchNo += 1n;
    const sig = signAttestation(attestorKey, domain, { rootType: 1, setId: 1n, batchNo, root: tree.root });
    const tx = (await fn(port, 'deliverBatch')(1n, batchNo, tree.root, [sig], [encoded], [tree.proof(messageId(encoded))])) as ContractTransactionResponse;
    const r = (await tx.wait())!;
    const ev = r.logs.map((l) => port.interface.parseLog(l)).find((e) => e?.name === 'MessageDelivered')!;
    const ok = ev.args[1] as boolean;
    return { id: ev.args[0] as Hex, ok, gasUsed: r.gasUsed, reasonData: ev.args[2] as string, reason: ok ? null : gateIface.parseError(ev.args[2] as string) };
  }

  beforeAll(async () => {
    const [portSet, gateSet] = await Promise.all([portArtifacts(), compileSolidity([join(CONTRACT_DIRS.evmPort, 'demo', 'CreditGatedReceiver.sol')])]);
    const compiled: CompiledSet = { ...portSet, ...gateSet };
    anvil = await startAnvil({ chainId: CHAIN_ID, args: ['--hardfork', 'cancun'] });
    provider = new JsonRpcProvider(anvil.url, Number(CHAIN_ID), { staticNetwork: true, cacheTimeout: -1, pollingInterval: 50 });
    admin = new Wallet(ANVIL_DEV_KEY, provider);
    const P = compiled.QiaoPort!;
    const attestor = new Wallet(attestorKey).address;
    port = (await (await new ContractFactory(P.abi as never, P.bytecode, admin).deploy(`eip155:${CHAIN_ID}`, GOV_CHAIN_ID, MESSAGE_LOG, [attestor], 1, 1n, 3600n, 86400n)).waitForDeployment()) as unknown as Contract;
    portAddr = (await port.getAddress()).toLowerCase() as Hex;
    const R = compiled.CreditGatedReceiver!;
    gateSize = (R.deployedBytecode.length - 2) / 2;
    receiver = (await (await new ContractFactory(R.abi as never, R.bytecode, admin).deploy(portAddr, SCHEMA, ['A', 'B', 'C', 'D'], 'B')).waitForDeployment()) as unknown as Contract;
    receiverAddr = (await receiver.getAddress()).toLowerCase() as Hex;
    gateIface = receiver.interface;
  });

  afterAll(async () => {
    provider?.destroy();
    await anvil?.stop();
  });

  it('the port\'s checkRegistryLeaf (OpenZeppelin MerkleProof) accepts every TS proof of a random registry, and no tampered leaf', async () => {
    const seed = Number(process.env.QIAO_FC_SEED ?? Date.now() % 2 ** 31);
    console.log(`registry-snapshot on-chain seed: ${seed}`);
    const rnd = (i: number) => keccak256(abi.encode(['uint256', 'uint256'], [seed, i])) as Hex;
    const snap = snapshotOf({
      blockNumber: 1n,
      takenAt: await now(),
      identities: [0, 1, 2].map((i) => ({ didHash: rnd(i), controller: getAddress(`0x${rnd(i + 10).slice(-40)}`), documentHash: rnd(i + 20), active: i !== 1 })),
      accreditations: [{ issuerDidHash: rnd(30), schemaId: rnd(31), status: 'expired', expiresAt: 1234n }],
      attestations: [0, 1, 2, 3].map((i) => ({ uid: rnd(40 + i), subjectDidHash: rnd(i % 3), issuerDidHash: rnd(30), schemaId: rnd(31), publicData: hexlify(randomBytes(i * 17)) as Hex, status: 'disputed' as const, validUntil: (1n << 64n) - 1n - BigInt(i) })),
    });
    expect(Number(await fn(port, 'checkRegistryLeaf').staticCall(leafTuple(snap.leaves[0]!), []))).toBe(1);
    await publish(snap);
    for (const l of snap.leaves) {
      const { proof } = snap.proofFor(l.kind, l.key)!;
      expect(await fn(port, 'verifyRegistryLeaf').staticCall(leafTuple(l), proof)).toBe(true);
      expect(Number(await fn(port, 'checkRegistryLeaf').staticCall(leafTuple({ ...l, status: l.status ^ 1 }), proof))).toBe(3);
    }
  });

  describe('CreditGatedReceiver behind the port', () => {
    const body = hexlify(toUtf8Bytes('pay 10')) as Hex;

    async function gate(over: Parameters<typeof registry>[0] = {}) {
      const snap = registry({ takenAt: await now(), ...over });
      await publish(snap);
      return registryProof(snap, alice.did);
    }
    const refusal = async (payload: Hex, from = alice.controller) => {
      const d = await deliver(payload, from);
      expect(d.ok).toBe(false);
      return d.reason!;
    };

    it('is deployable (EIP-170) and its error list is the one explainCreditGateRefusal knows', () => {
      expect(gateSize).toBeLessThan(24_576);
      const selectors = (i: Interface) => i.fragments.filter((f) => f.type === 'error').map((f) => (f as ErrorFragment).selector).sort();
      expect(selectors(CREDIT_GATE_ERRORS)).toEqual(selectors(gateIface));
    });

    it('accepts a sender whose DID holds a valid grade-B attestation from an accredited issuer', async () => {
      const p = await gate();
      const before = (await fn(receiver, 'accepted').staticCall()) as bigint;
      const d = await deliver(creditGatedPayloadFrom(p, SCHEMA, body), alice.controller);
      expect(d.ok).toBe(true);
      console.log(`credit-gated delivery: ${d.gasUsed} gas for the whole deliverBatch (1 message, 3 registry leaves checked); receiver bytecode ${gateSize} bytes`);
      expect(await fn(receiver, 'accepted').staticCall()).toBe(before + 1n);
      expect(await fn(receiver, 'lastIdOfDid').staticCall(didHash(alice.did))).toBe(d.id);
    });

    it('refuses, saying why: wrong sender, revoked, disputed, low grade, revoked accreditation, expiry, superseded or stale root', async () => {
      let p = await gate();
      expect((await refusal(creditGatedPayloadFrom(p, SCHEMA, body), bob.controller)).name).toBe('NotController');

      p = await gate({ attestations: [attestation({ status: 'revoked' })] });
      const revoked = await deliver(creditGatedPayloadFrom(p, SCHEMA, body), alice.controller);
      expect(explainCreditGateRefusal(revoked.reasonData)).toEqual({ error: 'AttestationNotValid', text: 'the attestation is revoked' });
      let e = revoked.reason!;
      expect([e.name, Number(e.args[1])]).toEqual(['AttestationNotValid', 2]);

      p = await gate({ attestations: [attestation({ status: 'disputed' })] });
      e = await refusal(creditGatedPayloadFrom(p, SCHEMA, body));
      expect([e.name, Number(e.args[1])]).toEqual(['AttestationNotValid', 4]);

      p = await gate({ attestations: [attestation({ publicData: grade('C') })] });
      e = await refusal(creditGatedPayloadFrom(p, SCHEMA, body));
      expect([e.name, e.args[0], e.args[1]]).toEqual(['GradeTooLow', 'C', 'B']);

      p = await gate({ attestations: [attestation({ publicData: grade('Z') })] });
      expect((await refusal(creditGatedPayloadFrom(p, SCHEMA, body))).name).toBe('UnknownGrade');

      p = await gate({ accreditations: [accreditation({ status: 'revoked' })] });
      e = await refusal(creditGatedPayloadFrom(p, SCHEMA, body));
      expect([e.name, Number(e.args[1])]).toEqual(['IssuerNotAccredited', 2]);

      p = await gate({ attestations: [attestation({ validUntil: (await now()) + 5n })] });
      await mine(10);
      expect((await refusal(creditGatedPayloadFrom(p, SCHEMA, body))).name).toBe('AttestationExpired');

      p = await gate({ attestations: [attestation({ schemaId: OTHER_SCHEMA }), attestation({ uid: h('uid 3') })], accreditations: [accreditation(), accreditation({ schemaId: OTHER_SCHEMA })] });
      expect((await refusal(creditGatedPayloadFrom(p, OTHER_SCHEMA, body))).name).toBe('WrongSchema');

      // A valid proof from a snapshot the port has since replaced.
      const old = creditGatedPayloadFrom(await gate(), SCHEMA, body);
      await gate({ attestations: [attestation({ status: 'revoked' })] });
      const stale = await deliver(old, alice.controller);
      e = stale.reason!;
      expect([e.name, Number(e.args[0]), Number(e.args[1])]).toEqual(['RegistryProofRefused', 1, 3]);
      expect(explainCreditGateRefusal(stale.reasonData)?.text).toBe('identity proof refused: the leaf is not in the port\'s latest registry snapshot (a stale or forged proof)');
      expect(explainCreditGateRefusal('0x08c379a0')).toBeNull();

      // Grade data that does not match the leaf's commitment.
      p = await gate();
      const x = p.attestations[0]!;
      expect((await refusal(encodeCreditGatedPayload({ identity: p.identity, attestation: x, accreditation: x.accreditation!, publicData: grade('A'), body }))).name).toBe('PublicDataMismatch');

      // The latest snapshot is older than the port's maximum registry age.
      p = await gate();
      await (await fn(port, 'setMaxRegistryAge')(5n)).wait();
      await mine(10);
      e = await refusal(creditGatedPayloadFrom(p, SCHEMA, body));
      expect([e.name, Number(e.args[1])]).toEqual(['RegistryProofRefused', 2]);
      await (await fn(port, 'setMaxRegistryAge')(86400n)).wait();
    });

    it('refuses a caller other than the port', async () => {
      const p = await gate();
      let data: unknown;
      try {
        await fn(receiver, 'qiaoReceive').staticCall(h('direct'), 'eip155:1', alice.controller.toLowerCase(), creditGatedPayloadFrom(p, SCHEMA, body));
      } catch (err) {
        data = (err as { data?: unknown }).data;
      }
      expect(gateIface.parseError(data as string)?.name).toBe('OnlyPort');
    });
  });
});

describe('snapshots of the real registries (anvil)', () => {
  let anvil: AnvilProcess;
  let provider: JsonRpcProvider;
  let reg: Registries;
  let gov: GovernPath;
  let issuer: TxSender;
  let subject: TxSender;
  let subjectDid: string;
  const ISSUER_DID = 'did:qiao:issuer.snapshot-test';
  const GRADE = 'qiao.test.snapshot.grade.v1';
  const DEFAULT = 'qiao.test.snapshot.default.v1';
  const RETENTION = 1000n;

  const now = async () => BigInt((await provider.getBlock('latest'))!.timestamp);
  const advance = async (seconds: bigint) => {
    await provider.send('evm_increaseTime', [Number(seconds)]);
    await provider.send('evm_mine', []);
  };
  const attest = (schema: string, expiresAt: bigint, g = 'B') =>
    reg.credit.attest(issuer, { schemaId: schemaIdOf(schema), subjectDid, issuerDid: ISSUER_DID, dataCommitment: commitPrivateData('income 1234').commitment, expiresAt, publicValues: { grade: g } });
  const statusIn = (snap: RegistrySnapshot, uid: Hex) => snap.proofFor('attestation', uid)?.leaf.status;

  beforeAll(async () => {
    const artifacts = await registryArtifacts();
    anvil = await startAnvil({ chainId: 7743n });
    provider = makeProvider(anvil.url, 7743n, { pollingMs: 50 });
    const deployer = new TxSender(ANVIL_DEV_KEY, provider);
    const [governor, iss, subj] = ['governor', 'issuer', 'subject'].map((l) => new TxSender(h(`registry snapshot test: ${l}`), provider)) as [TxSender, TxSender, TxSender];
    for (const s of [governor, iss, subj]) await provider.send('anvil_setBalance', [s.address, '0x56bc75e2d63100000']);
    [issuer, subject] = [iss, subj];
    reg = connectRegistries(provider, await deployRegistries(deployer, governor.address, artifacts), artifacts);
    gov = directGovernance(governor);
    await reg.identity.create(issuer, { did: ISSUER_DID });
    subjectDid = (await reg.identity.create(subject)).did;
    await reg.credit.registerSchema(gov, { name: GRADE, publicFields: ['string grade'], revocable: true, negative: false, retentionSeconds: 0, disputeWindowSeconds: 3600 });
    await reg.credit.registerSchema(gov, { name: DEFAULT, publicFields: ['string grade'], revocable: true, negative: true, retentionSeconds: RETENTION, disputeWindowSeconds: 3600 });
    await reg.issuers.accredit(gov, ISSUER_DID, schemaIdOf(GRADE), 0);
    await reg.issuers.accredit(gov, ISSUER_DID, schemaIdOf(DEFAULT), 0);
  });

  afterAll(async () => {
    provider?.destroy();
    await anvil?.stop();
  });

  it('evaluates statuses at the snapshot block\'s timestamp: expiry, retention and revocation need nobody to act, history stays put', async () => {
    const expiring = (await attest(GRADE, (await now()) + 100n)).uid;
    const negative = (await attest(DEFAULT, 0n, 'D')).uid;
    const revoked = (await attest(GRADE, 0n)).uid;
    const negIssued = (await reg.credit.get(negative))!.issuedAt;
    const block1 = BigInt(await provider.getBlockNumber());
    const s1 = await buildRegistrySnapshot(reg, block1);
    expect(s1.takenAt).toBe(BigInt((await provider.getBlock(Number(block1)))!.timestamp));
    expect([statusIn(s1, expiring), statusIn(s1, negative), statusIn(s1, revoked)]).toEqual([1, 1, 1]);
    expect(s1.proofFor('attestation', negative)!.leaf.validUntil).toBe(negIssued + RETENTION);

    await reg.credit.revoke(issuer, revoked);
    await advance(200n);
    const s2 = await buildRegistrySnapshot(reg, 'latest');
    expect([statusIn(s2, expiring), statusIn(s2, negative), statusIn(s2, revoked)]).toEqual([3, 1, 2]);

    await advance(RETENTION);
    const s3 = await buildRegistrySnapshot(reg, 'latest');
    expect(statusIn(s3, negative)).toBe(3);

    // The registries at a past block give the same tree again (attestors and the CLI rely on it).
    expect((await buildRegistrySnapshot(reg, block1)).treeRoot).toBe(s1.treeRoot);

    // Every leaf of a real snapshot proves; the subject's proof bundle checks out.
    for (const l of s3.leaves) expect(verifyRegistryProof(s3.treeRoot, l, s3.proofFor(l.kind, l.key)!.proof)).toBe(true);
    const p = registryProof(s3, subjectDid, { snapshotNo: 3n });
    expect(p.identity.leaf.a).toBe(zeroPadValue(subject.address, 32).toLowerCase());
    expect(p.attestations.map((a) => a.uid).sort()).toEqual([expiring, negative, revoked].sort());
    expect(p.attestations.every((a) => a.accreditation?.leaf.status === 1)).toBe(true);
    expect(checkRegistryProof(p)).toEqual({ ok: true });
    const b = p.attestations.find((a) => a.uid === revoked)!;
    expect(decodePublicData({ publicFields: ['string grade'] }, b.publicData)).toMatchObject({ grade: 'B' });
  });
});
