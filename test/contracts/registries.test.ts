import { ed25519 } from '@noble/curves/ed25519.js';
import { hexlify, keccak256, SigningKey, toBeHex, toUtf8Bytes } from 'ethers';
import type { JsonRpcProvider } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hex } from '../../src/domain/hex.ts';
import { ContractRevertError, ValidationError } from '../../src/errors.ts';
import { makeProvider } from '../../src/evm/provider.ts';
import { TxSender } from '../../src/evm/signer.ts';
import { ANVIL_DEV_KEY, startAnvil, type AnvilProcess } from '../../src/governance/anvil.ts';
import { directGovernance, type GovernPath } from '../../src/governance/govern.ts';
import {
  commitPrivateData,
  connectRegistries,
  decodePublicData,
  deployRegistries,
  didHash,
  encodePublicData,
  registryArtifacts,
  schemaIdOf,
  type RegistryArtifacts,
  type Registries,
  type VerificationKey,
} from '../../src/registries/index.ts';
import type { SnapshotReader } from '../../src/registries/snapshot/builder.ts';

const CHAIN_ID = 7742n;
const YEAR = 365n * 86400n;

const keyOf = (label: string) => keccak256(toUtf8Bytes(`registries test: ${label}`));
const secpKey = (label: string): VerificationKey => ({ id: label, type: 'secp256k1', publicKey: new SigningKey(keyOf(label)).compressedPublicKey as Hex });
const edKey = (label: string): VerificationKey => ({
  id: label,
  type: 'ed25519',
  publicKey: hexlify(ed25519.getPublicKey(Uint8Array.from(Buffer.from(keyOf(label).slice(2), 'hex')))) as Hex,
});
const h32 = (label: string) => keccak256(toUtf8Bytes(label)) as Hex;

/** Expects a ContractRevertError carrying the contract's custom error `name`; returns its arguments. */
async function reverts(p: Promise<unknown>, name: string): Promise<readonly string[]> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err, `expected ${name}`).toBeInstanceOf(ContractRevertError);
  expect((err as ContractRevertError).errorName).toBe(name);
  return ((err as ContractRevertError).data.args as string[] | undefined) ?? [];
}

async function invalid(p: Promise<unknown>, field: string): Promise<void> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err, `expected a ValidationError on ${field}`).toBeInstanceOf(ValidationError);
  expect((err as ValidationError).field).toBe(field);
}

describe('identity, issuer and credit registries on anvil', () => {
  let anvil: AnvilProcess;
  let provider: JsonRpcProvider;
  let artifacts: RegistryArtifacts;
  let reg: Registries;
  let gov: GovernPath;
  let governor: TxSender;
  let issuer: TxSender;
  let subject: TxSender;
  let outsider: TxSender;
  let outsiderGov: GovernPath;

  let issuerDid: string;
  let issuer2Did: string;
  let subjectDid: string;
  const RATING = 'qiao.test.rating.v1';
  const DEFAULT = 'qiao.test.default.v1';
  const PERMANENT = 'qiao.test.permanent.v1';
  const UNACCREDITED = 'qiao.test.unaccredited.v1';
  const RETENTION = 1000n;
  const WINDOW = 3600n;

  const now = async () => BigInt((await provider.getBlock('latest'))!.timestamp);
  const advance = async (seconds: bigint) => {
    await provider.send('evm_increaseTime', [Number(seconds)]);
    await provider.send('evm_mine', []);
  };
  const rating = (grade: string, score: number) => encodePublicData({ publicFields: ['string grade', 'uint16 score'] }, { grade, score });
  const attestRating = async (over: { expiresAt?: bigint; subject?: string; issuerDid?: string; sender?: TxSender } = {}) =>
    reg.credit.attest(over.sender ?? issuer, {
      schemaId: schemaIdOf(RATING),
      subjectDid: over.subject ?? subjectDid,
      issuerDid: over.issuerDid ?? issuerDid,
      dataCommitment: commitPrivateData(JSON.stringify({ income: 1234, salt: Math.random() })).commitment,
      expiresAt: over.expiresAt ?? 0n,
      publicData: rating('B', 720),
    });

  beforeAll(async () => {
    artifacts = await registryArtifacts();
    anvil = await startAnvil({ chainId: CHAIN_ID });
    provider = makeProvider(anvil.url, CHAIN_ID, { pollingMs: 50 });
    const deployer = new TxSender(ANVIL_DEV_KEY, provider);
    const senders = ['governor', 'issuer', 'subject', 'outsider'].map((l) => new TxSender(keyOf(l), provider));
    [governor, issuer, subject, outsider] = senders as [TxSender, TxSender, TxSender, TxSender];
    for (const s of senders) await provider.send('anvil_setBalance', [s.address, toBeHex(10n ** 20n)]);
    const addresses = await deployRegistries(deployer, governor.address, artifacts);
    reg = connectRegistries(provider, addresses, artifacts);
    gov = directGovernance(governor);
    outsiderGov = directGovernance(outsider);

    issuerDid = (await reg.identity.create(issuer, { did: 'did:qiao:issuer.bank-1', keys: [secpKey('key-1')] })).did;
    issuer2Did = (await reg.identity.create(issuer, { did: 'did:qiao:issuer.bank-2' })).did;
    subjectDid = (await reg.identity.create(subject, { keys: [edKey('key-1')] })).did;
  });

  afterAll(async () => {
    provider?.destroy();
    await anvil?.stop();
  });

  it('keeps every registry under the EIP-170 size limit', () => {
    for (const [name, a] of Object.entries(artifacts)) expect((a.deployedBytecode.length - 2) / 2, name).toBeLessThan(24_576);
  });

  describe('identities', () => {
    it('gives a new identity a random pairwise DID, its keys and a document hash, and nothing else', async () => {
      expect(subjectDid).toMatch(/^did:qiao:[0-9a-f]{32}$/);
      const id = (await reg.identity.resolve(subjectDid))!;
      expect(id).toMatchObject({ did: subjectDid, didHash: didHash(subjectDid), controller: subject.address, active: true, versionId: 1n, services: [] });
      expect(id.keys).toEqual([edKey('key-1')]);
      expect(id.documentHash).toMatch(/^0x[0-9a-f]{64}$/);
      expect(await reg.identity.resolve('did:qiao:never-created')).toBeNull();
      await reverts(reg.identity.create(outsider, { did: subjectDid }), 'DidTaken');
    });

    it('lets only the controller write: keys, rotation, services, document hash, controller', async () => {
      await reverts(reg.identity.setKey(outsider, subjectDid, secpKey('key-2')), 'NotController');
      await reverts(reg.identity.removeKey(outsider, subjectDid, 'key-1'), 'NotController');
      await reverts(reg.identity.setServices(outsider, subjectDid, []), 'NotController');
      await reverts(reg.identity.setDocumentHash(outsider, subjectDid, h32('doc')), 'NotController');
      await reverts(reg.identity.changeController(outsider, subjectDid, outsider.address), 'NotController');
      await reverts(reg.identity.deactivate(outsider, subjectDid), 'NotController');

      // Rotation: the same key id, a new key.
      const rotated = edKey('key-1 rotated');
      await reg.identity.setKey(subject, subjectDid, { ...rotated, id: 'key-1' });
      await reg.identity.setKey(subject, subjectDid, secpKey('key-2'));
      await reg.identity.setServices(subject, subjectDid, [{ id: 'hub', type: 'LinkedDomains', endpoint: 'https://hub.example/' }]);
      await reg.identity.setDocumentHash(subject, subjectDid, h32('doc v2'));
      let id = (await reg.identity.resolve(subjectDid))!;
      expect(id.keys).toEqual([{ ...rotated, id: 'key-1' }, secpKey('key-2')]);
      expect(id.services).toEqual([{ id: 'hub', type: 'LinkedDomains', endpoint: 'https://hub.example/' }]);
      expect(id.documentHash).toBe(h32('doc v2'));
      expect(id.versionId).toBe(5n);
      await reg.identity.removeKey(subject, subjectDid, 'key-2');
      await reverts(reg.identity.removeKey(subject, subjectDid, 'key-2'), 'UnknownKey');
      id = (await reg.identity.resolve(subjectDid))!;
      expect(id.keys.map((k) => k.id)).toEqual(['key-1']);

      // Handing control over and back: the old controller loses the right at once.
      const temp = 'did:qiao:temp-controller';
      await reg.identity.create(outsider, { did: temp });
      await reg.identity.changeController(outsider, temp, subject.address);
      await reverts(reg.identity.setDocumentHash(outsider, temp, h32('x')), 'NotController');
      await reg.identity.setDocumentHash(subject, temp, h32('x'));
      expect((await reg.identity.resolve(temp))!.controller).toBe(subject.address);
    });

    it('validates DIDs and key lengths per type in the client, and the contract refuses them too', async () => {
      await invalid(reg.identity.create(subject, { did: 'did:example:abc' }), 'did');
      await invalid(reg.identity.create(subject, { did: `did:qiao:${'a'.repeat(65)}` }), 'did');
      await invalid(reg.identity.create(subject, { did: 'did:qiao:has space' }), 'did');
      const secp = secpKey('k');
      const ed = edKey('k');
      // secp256k1 is 33 bytes compressed; ed25519 is 32.
      await invalid(reg.identity.setKey(subject, subjectDid, { ...secp, publicKey: `0x${secp.publicKey.slice(4)}` as Hex }), 'key.publicKey');
      await invalid(reg.identity.setKey(subject, subjectDid, { ...ed, type: 'secp256k1' }), 'key.publicKey');
      await invalid(reg.identity.setKey(subject, subjectDid, { ...secp, type: 'ed25519' }), 'key.publicKey');
      await invalid(reg.identity.setKey(subject, subjectDid, { ...secp, publicKey: `0x04${secp.publicKey.slice(4)}` as Hex }), 'key.publicKey');
      await invalid(reg.identity.setKey(subject, subjectDid, { ...secp, publicKey: '0x02zz' as Hex }), 'key.publicKey');
      await invalid(reg.identity.setKey(subject, subjectDid, { ...secp, id: '#key' }), 'key.id');
      await invalid(reg.identity.setKey(subject, subjectDid, { ...secp, type: 'rsa' as never }), 'key.type');
      await invalid(reg.identity.create(subject, { keys: [secp, secp] }), 'keys[1].id');
      await invalid(reg.identity.setServices(subject, subjectDid, [{ id: 's', type: 'x', endpoint: 'not a url' }]), 'services[0].endpoint');

      // The contract's own checks, bypassing the client.
      const w = reg.identity.writer;
      const args = (t: number, pk: string) => [subjectDid, { id: 'raw', keyType: t, publicKey: pk }];
      await reverts(w.send(subject, 'setKey', args(1, `0x${secp.publicKey.slice(4)}`)), 'BadKeyLength');
      await reverts(w.send(subject, 'setKey', args(2, secp.publicKey)), 'BadKeyLength');
      await reverts(w.send(subject, 'setKey', args(3, ed.publicKey)), 'BadKeyType');
      await reverts(w.send(subject, 'create', ['did:qiao:bad/slash', subject.address, h32('d'), [], []]), 'BadDid');
    });

    it('freezes a deactivated identity for good, and nothing can be attested about it', async () => {
      const gone = (await reg.identity.create(subject, { keys: [secpKey('key-1')] })).did;
      await reg.identity.deactivate(subject, gone);
      const id = (await reg.identity.resolve(gone))!;
      expect(id.active).toBe(false);
      await reverts(reg.identity.setKey(subject, gone, secpKey('key-2')), 'DidDeactivated');
      await reverts(reg.identity.setDocumentHash(subject, gone, h32('y')), 'DidDeactivated');
      await reverts(reg.identity.changeController(subject, gone, outsider.address), 'DidDeactivated');
      await reverts(reg.identity.deactivate(subject, gone), 'DidDeactivated');
      expect((await reg.identity.resolve(gone))!.versionId).toBe(id.versionId);

      await reg.credit.registerSchema(gov, { name: RATING, publicFields: ['string grade', 'uint16 score'], revocable: true, negative: false, retentionSeconds: 0, disputeWindowSeconds: WINDOW });
      await reg.issuers.accredit(gov, issuerDid, schemaIdOf(RATING), (await now()) + 10n * YEAR);
      await reverts(attestRating({ subject: gone }), 'SubjectInactive');
    });
  });

  describe('governance of issuers and schemas', () => {
    it('lets only governance register schemas, accredit and revoke accreditations', async () => {
      const schema = { name: 'qiao.test.rogue.v1', publicFields: [], revocable: true, negative: false, retentionSeconds: 0, disputeWindowSeconds: 60 };
      await reverts(reg.credit.registerSchema(outsiderGov, schema), 'NotGovernor');
      expect(await reg.credit.schema(schemaIdOf(schema.name))).toBeNull();
      await reverts(reg.issuers.accredit(outsiderGov, issuerDid, schemaIdOf(RATING), 0), 'NotGovernor');
      await reverts(reg.issuers.revoke(outsiderGov, issuerDid, schemaIdOf(RATING)), 'NotGovernor');
      expect((await reg.issuers.accreditation(issuerDid, schemaIdOf(RATING)))!.status).toBe('active');

      await reg.credit.registerSchema(gov, { name: DEFAULT, publicFields: ['string kind'], revocable: false, negative: true, retentionSeconds: RETENTION, disputeWindowSeconds: WINDOW });
      await reg.credit.registerSchema(gov, { name: PERMANENT, publicFields: [], revocable: false, negative: false, retentionSeconds: 0, disputeWindowSeconds: WINDOW });
      await reg.credit.registerSchema(gov, { name: UNACCREDITED, publicFields: [], revocable: true, negative: false, retentionSeconds: 0, disputeWindowSeconds: WINDOW });
      await reverts(reg.credit.registerSchema(gov, { ...schema, name: RATING }), 'SchemaExists');
      await invalid(reg.credit.registerSchema(gov, { ...schema, negative: true, retentionSeconds: 0 }), 'retentionSeconds');
      await invalid(reg.credit.registerSchema(gov, { ...schema, publicFields: ['string'] }), 'publicFields[0]');
      await invalid(reg.credit.registerSchema(gov, { ...schema, publicFields: ['strang grade'] }), 'publicFields[0]');
      await reverts(reg.credit.writer.govern(gov, 'registerSchema', ['neg', [], true, true, 0, 60], 'raw'), 'NegativeNeedsRetention');
      for (const name of [DEFAULT, PERMANENT]) await reg.issuers.accredit(gov, issuerDid, schemaIdOf(name), 0);
      await reverts(reg.issuers.accredit(gov, 'did:qiao:nobody', schemaIdOf(RATING), 0), 'UnknownIssuer');
      await reverts(reg.issuers.accredit(gov, issuerDid, schemaIdOf(RATING), 1), 'BadExpiry');
      expect((await reg.credit.schema(schemaIdOf(RATING)))!).toMatchObject({ name: RATING, publicFields: ['string grade', 'uint16 score'], revocable: true, negative: false });
    });

    it('refuses attestations outside the accreditation, by an expired accreditation, or by a non-controller', async () => {
      await reverts(
        reg.credit.attest(issuer, { schemaId: schemaIdOf(UNACCREDITED), subjectDid, issuerDid, dataCommitment: h32('c') }),
        'IssuerNotAccredited',
      );
      await reverts(attestRating({ sender: outsider }), 'NotIssuerController');

      await reg.issuers.accredit(gov, issuer2Did, schemaIdOf(RATING), (await now()) + 100n);
      const { uid } = await attestRating({ issuerDid: issuer2Did });
      expect(await reg.credit.status(uid)).toBe('valid');
      await advance(101n);
      expect((await reg.issuers.accreditation(issuer2Did, schemaIdOf(RATING)))!.status).toBe('expired');
      expect(await reg.issuers.isAccredited(issuer2Did, schemaIdOf(RATING))).toBe(false);
      await reverts(attestRating({ issuerDid: issuer2Did }), 'IssuerNotAccredited');
      // Expiry is not misconduct: what the accreditation let through stays valid.
      expect(await reg.credit.status(uid)).toBe('valid');
    });
  });

  describe('attestations', () => {
    it('stores only the commitment and the public fields, decoded back by name', async () => {
      const { commitment } = commitPrivateData('income 1234 EUR', h32('salt'));
      const { uid } = await reg.credit.attest(issuer, {
        schemaId: schemaIdOf(RATING),
        subjectDid,
        issuerDid,
        dataCommitment: commitment,
        publicValues: { grade: 'A', score: 800 },
      });
      const a = (await reg.credit.get(uid))!;
      expect(a).toMatchObject({ uid, subjectDid, issuerDid, dataCommitment: commitment, status: 'valid', revocable: true, expiresAt: 0n, validUntil: 0n, dispute: null });
      expect(decodePublicData((await reg.credit.schema(a.schemaId))!, a.publicData)).toEqual({ grade: 'A', score: 800n });
      await invalid(reg.credit.attest(issuer, { schemaId: schemaIdOf(RATING), subjectDid, issuerDid, dataCommitment: commitment, publicValues: { grade: 'A' } }), 'publicData.score');
      await invalid(
        reg.credit.attest(issuer, { schemaId: schemaIdOf(RATING), subjectDid, issuerDid, dataCommitment: commitment, publicData: `${rating('A', 1)}00` as Hex }),
        'publicData',
      );
      await invalid(reg.credit.attest(issuer, { schemaId: schemaIdOf(PERMANENT), subjectDid, issuerDid, dataCommitment: commitment, revocable: true }), 'revocable');
    });

    it('lets only the issuer revoke, and never a non-revocable record', async () => {
      const { uid } = await attestRating();
      await reverts(reg.credit.revoke(outsider, uid), 'NotIssuerController');
      await reverts(reg.credit.revoke(subject, uid), 'NotIssuerController');
      await reg.credit.revoke(issuer, uid);
      expect(await reg.credit.status(uid)).toBe('revoked');
      await reverts(reg.credit.revoke(issuer, uid), 'AlreadyRevoked');

      const fixed = await reg.credit.attest(issuer, { schemaId: schemaIdOf(PERMANENT), subjectDid, issuerDid, dataCommitment: h32('permanent') });
      await reverts(reg.credit.revoke(issuer, fixed.uid), 'NotRevocable');
      expect(await reg.credit.status(fixed.uid)).toBe('valid');
    });

    it('expires at expiresAt, and a negative record at the end of its retention without anyone acting', async () => {
      const t = await now();
      const { uid } = await attestRating({ expiresAt: t + 50n });
      const negative = await reg.credit.attest(issuer, {
        schemaId: schemaIdOf(DEFAULT),
        subjectDid,
        issuerDid,
        dataCommitment: h32('default'),
        publicValues: { kind: 'late payment' },
      });
      const neg = (await reg.credit.get(negative.uid))!;
      expect(neg.validUntil).toBe(neg.issuedAt + RETENTION);
      expect([await reg.credit.status(uid), neg.status]).toEqual(['valid', 'valid']);
      const before = await provider.getBlockNumber();
      await advance(51n);
      expect(await reg.credit.status(uid)).toBe('expired');
      expect(await reg.credit.status(negative.uid)).toBe('valid');
      await advance(RETENTION);
      expect(await reg.credit.status(negative.uid)).toBe('expired');
      // Reads at an earlier block see the state of that block.
      expect(await reg.credit.status(negative.uid, before)).toBe('valid');
      await reverts(reg.credit.dispute(subject, negative.uid, h32('too late')), 'NotDisputable');
    });
  });

  describe('disputes', () => {
    it('lets only the subject controller dispute, and shows the record as disputed', async () => {
      const { uid } = await attestRating();
      await reverts(reg.credit.dispute(outsider, uid, h32('statement')), 'NotSubjectController');
      await reverts(reg.credit.dispute(issuer, uid, h32('statement')), 'NotSubjectController');
      await reg.credit.dispute(subject, uid, h32('statement'));
      const a = (await reg.credit.get(uid))!;
      expect(a.status).toBe('disputed');
      expect(a.dispute).toMatchObject({ statementHash: h32('statement'), outcome: 'open', responseHash: null });
      expect(a.dispute!.deadline).toBe(a.dispute!.openedAt + WINDOW);
      await reverts(reg.credit.dispute(subject, uid, h32('again')), 'AlreadyDisputed');
      await reverts(reg.credit.answer(outsider, uid, 'upheld', h32('r')), 'NotIssuerController');

      await reg.credit.answer(issuer, uid, 'upheld', h32('response'));
      const b = (await reg.credit.get(uid))!;
      expect(b.status).toBe('valid');
      expect(b.dispute).toMatchObject({ outcome: 'upheld', responseHash: h32('response') });
      await reverts(reg.credit.answer(issuer, uid, 'withdrawn', h32('r')), 'NoOpenDispute');
    });

    it('revokes a withdrawn record, even a non-revocable one', async () => {
      const fixed = await reg.credit.attest(issuer, { schemaId: schemaIdOf(PERMANENT), subjectDid, issuerDid, dataCommitment: h32('to withdraw') });
      await reg.credit.dispute(subject, fixed.uid, h32('wrong'));
      await reg.credit.answer(issuer, fixed.uid, 'withdrawn', h32('sorry'));
      const a = (await reg.credit.get(fixed.uid))!;
      expect(a.status).toBe('revoked');
      expect(a.dispute!.outcome).toBe('withdrawn');
      expect(a.revokedAt).toBeGreaterThan(0n);
    });

    it('refuses an answer after the deadline; an unanswered dispute lapses and the record counts as revoked', async () => {
      const { uid } = await attestRating();
      await reg.credit.dispute(subject, uid, h32('statement'));
      await reverts(reg.credit.closeDispute(outsider, uid), 'DeadlineNotPassed');
      await advance(WINDOW + 1n);
      await reverts(reg.credit.answer(issuer, uid, 'upheld', h32('late')), 'DeadlinePassed');
      let a = (await reg.credit.get(uid))!;
      expect(a.status).toBe('revoked');
      expect(a.dispute!.outcome).toBe('lapsed');
      // Anyone may record the lapse; the status does not depend on it.
      await reg.credit.closeDispute(outsider, uid);
      a = (await reg.credit.get(uid))!;
      expect([a.status, a.dispute!.outcome]).toEqual(['revoked', 'lapsed']);
      await reverts(reg.credit.closeDispute(outsider, uid), 'NoOpenDispute');
    });
  });

  describe('revoked accreditation', () => {
    it('flags earlier attestations for review and refuses later ones; a re-accreditation does not unflag', async () => {
      const issuer3 = (await reg.identity.create(issuer, { did: 'did:qiao:issuer.bank-3' })).did;
      await reg.issuers.accredit(gov, issuer3, schemaIdOf(RATING), 0);
      const earlier = await attestRating({ issuerDid: issuer3 });
      const { txHash } = await reg.issuers.revoke(gov, issuer3, schemaIdOf(RATING));
      const revokedAt = BigInt((await provider.getBlock((await provider.getTransactionReceipt(txHash))!.blockNumber))!.timestamp);
      expect(await reg.issuers.accreditation(issuer3, schemaIdOf(RATING))).toMatchObject({ status: 'revoked', revokedAt });
      expect(await reg.credit.status(earlier.uid)).toBe('flagged');
      await reverts(attestRating({ issuerDid: issuer3 }), 'IssuerNotAccredited');
      await reverts(reg.issuers.revoke(gov, issuer3, schemaIdOf(RATING)), 'NotAccredited');

      await advance(1n);
      await reg.issuers.accredit(gov, issuer3, schemaIdOf(RATING), 0);
      const later = await attestRating({ issuerDid: issuer3 });
      expect(await reg.credit.status(later.uid)).toBe('valid');
      expect(await reg.credit.status(earlier.uid)).toBe('flagged');
      // A flagged record can still be disputed; precedence puts the open dispute first.
      await reg.credit.dispute(subject, earlier.uid, h32('review'));
      expect(await reg.credit.status(earlier.uid)).toBe('disputed');
    });
  });

  describe('whole-registry reads for the snapshot', () => {
    it('lists identities, accreditations and attestations at one block, with statuses of that block', async () => {
      const reader: SnapshotReader = reg;
      const block = await reader.block('latest');
      expect(block.timestamp).toBe(await now());
      const [ids, accs, atts] = await Promise.all([reg.listIdentities(block.number), reg.listAccreditations(block.number), reg.listAttestations(block.number)]);
      expect(ids.length).toBe(await reg.identity.count());
      expect(ids.find((i) => i.did === subjectDid)).toMatchObject({ active: true, controller: subject.address });
      expect(ids.filter((i) => !i.active).length).toBe(1);
      expect(accs.find((a) => a.issuerDid === issuer2Did)).toMatchObject({ schemaId: schemaIdOf(RATING), status: 'expired' });
      expect(accs.find((a) => a.issuerDid === 'did:qiao:issuer.bank-3')).toMatchObject({ status: 'active' });
      expect(atts.length).toBe(await reg.credit.count());
      expect([...new Set(atts.map((a) => a.status))].sort()).toEqual(['disputed', 'expired', 'revoked', 'valid']);
      for (const a of atts) expect(await reg.credit.status(a.uid, block.number)).toBe(a.status);

      // Every kind of change left an event (the index and the snapshot follow these).
      const logs = await provider.getLogs({ address: [reg.identity.address, reg.issuers.address, reg.credit.address], fromBlock: 0, toBlock: block.number });
      const seen = new Set<string>();
      for (const l of logs) {
        for (const c of [reg.identity, reg.issuers, reg.credit]) {
          if (l.address.toLowerCase() === c.address.toLowerCase()) seen.add(`${c.address}:${c.iface.parseLog(l)!.name}`);
        }
      }
      for (const c of [reg.identity, reg.issuers, reg.credit]) {
        const declared: string[] = [];
        c.iface.forEachEvent((e) => declared.push(e.name));
        for (const name of declared) expect(seen.has(`${c.address}:${name}`), name).toBe(true);
      }

      // A later change does not leak into a read pinned to the earlier block.
      const { uid } = await attestRating();
      expect((await reg.listAttestations(block.number)).some((a) => a.uid === uid)).toBe(false);
      expect((await reg.listAttestations(BigInt(await provider.getBlockNumber()))).some((a) => a.uid === uid)).toBe(true);
    });
  });
});
