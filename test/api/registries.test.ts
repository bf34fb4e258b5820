import { PGlite, types } from '@electric-sql/pglite';
import { ed25519 } from '@noble/curves/ed25519.js';
import { HDNodeWallet, SigningKey, getAddress, keccak256, toUtf8Bytes, type JsonRpcProvider } from 'ethers';
import type { FastifyInstance } from 'fastify';
import { Kysely, Migrator } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditMessage, hashApiKeySecret, readMessage, registryApiPlugin } from '../../src/api/registries/index.ts';
import { buildApi } from '../../src/api/server.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { makeProvider } from '../../src/evm/provider.ts';
import { TxSender } from '../../src/evm/signer.ts';
import { ANVIL_DEV_KEY, startAnvil, type AnvilProcess } from '../../src/governance/anvil.ts';
import { directGovernance } from '../../src/governance/govern.ts';
import { AuditLog } from '../../src/index/audit/store.ts';
import { KyselyIndex } from '../../src/index/kysely-index.ts';
import { staticMigrationProvider } from '../../src/index/migrations/index.ts';
import type { IndexDatabase } from '../../src/index/schema.ts';
import { pgliteDialect } from '../../src/index/pglite-dialect.ts';
import type { MessageIndex } from '../../src/index/types.ts';
import { ed25519Multibase, secp256k1Jwk } from '../../src/registries/did-document.ts';
import { commitPrivateData, connectRegistries, deployRegistries, registryArtifacts, type Registries } from '../../src/registries/index.ts';

const GOV_CHAIN_ID = 7_742n;
const MNEMONIC = 'test test test test test test test test test test test junk';
const wallet = (i: number) => HDNodeWallet.fromPhrase(MNEMONIC, undefined, `m/44'/60'/0'/0/${i}`);
const SCHEMA = 'credit-grade-v1';
const PURPOSE = 'loan application 42';
const API_KEY_SECRET = 'bank-secret-1';

describe('registry API on anvil', () => {
  let anvil: AnvilProcess;
  let provider: JsonRpcProvider;
  let registries: Registries;
  let index: MessageIndex;
  let pglite: PGlite;
  let audit: AuditLog;
  let app: FastifyInstance;
  let schemaId: Hex;
  let uid: Hex;
  const issuerKey = wallet(1);
  const subjectKey = wallet(2);
  const readerKey = wallet(3);
  const strangerKey = wallet(4);
  const ISSUER = 'did:qiao:issuer.bank-a';
  const SUBJECT = 'did:qiao:4f1c9a0e2b7d4c1a8e3f5a6b7c8d9e0f';
  const subjectSecp = new SigningKey(keccak256(toUtf8Bytes('registries api: subject key'))).compressedPublicKey as Hex;
  const subjectEd = `0x${Buffer.from(ed25519.getPublicKey(new Uint8Array(32).fill(7))).toString('hex')}` as Hex;

  const get = (url: string, headers: Record<string, string> = {}) => app.inject({ method: 'GET', url, headers });
  const nowS = () => Math.floor(Date.now() / 1000);
  /** A read signed by `w`: EIP-191 over qiao-read:<url>:<ts>. */
  const signedGet = async (url: string, w: { signMessage(m: string): Promise<string> } = readerKey, ts = nowS()) =>
    get(url, { 'x-qiao-timestamp': String(ts), 'x-qiao-signature': await w.signMessage(readMessage(url, ts)) });
  const auditGet = async (did: string, w: { signMessage(m: string): Promise<string> }, ts = nowS(), query = '') =>
    get(`/audit?did=${encodeURIComponent(did)}${query}`, { 'x-qiao-timestamp': String(ts), 'x-qiao-signature': await w.signMessage(auditMessage(did, ts)) });

  beforeAll(async () => {
    const artifacts = await registryArtifacts();
    anvil = await startAnvil({ chainId: GOV_CHAIN_ID });
    provider = makeProvider(anvil.url, GOV_CHAIN_ID, { pollingMs: 50 });
    const governor = new TxSender(ANVIL_DEV_KEY, provider);
    const addresses = await deployRegistries(governor, governor.address, artifacts);
    registries = connectRegistries(provider, addresses, artifacts);
    const gov = directGovernance(governor);
    const issuer = new TxSender(issuerKey.privateKey, provider);
    const subject = new TxSender(subjectKey.privateKey, provider);

    ({ schemaId } = await registries.credit.registerSchema(gov, {
      name: SCHEMA,
      publicFields: ['string grade'],
      revocable: true,
      negative: false,
      retentionSeconds: 0,
      disputeWindowSeconds: 3600,
    }));
    await registries.identity.create(issuer, { did: ISSUER });
    await registries.identity.create(subject, {
      did: SUBJECT,
      keys: [
        { id: 'sig-1', type: 'secp256k1', publicKey: subjectSecp },
        { id: 'ed-1', type: 'ed25519', publicKey: subjectEd },
      ],
      services: [{ id: 'inbox', type: 'DIDCommMessaging', endpoint: 'https://inbox.example/alice' }],
    });
    await registries.issuers.accredit(gov, ISSUER, schemaId, 0);
    ({ uid } = await registries.credit.attest(issuer, {
      schemaId,
      subjectDid: SUBJECT,
      issuerDid: ISSUER,
      dataCommitment: commitPrivateData('{"income":52000}').commitment,
      publicValues: { grade: 'B' },
    }));

    // One embedded database holds the index and the audit log, as in a hub.
    pglite = await PGlite.create({ parsers: { [types.INT8]: (v: string) => v } });
    const db = new Kysely<IndexDatabase>({ dialect: pgliteDialect(pglite) });
    const migrated = await new Migrator({ db, provider: staticMigrationProvider }).migrateToLatest();
    if (migrated.error) throw migrated.error;
    index = new KyselyIndex({ db, backend: 'pglite' });
    audit = await AuditLog.open(db);
    app = buildApi({
      index,
      health: async () => ({ ok: true, governance: null, chains: [], queues: {} }),
      plugins: [registryApiPlugin({ registries, audit, govChainId: GOV_CHAIN_ID, apiKeys: { 'bank-a': hashApiKeySecret(API_KEY_SECRET) } })],
    });
    await app.ready();
  });

  afterAll(async () => {
    await app?.close();
    await index?.close();
    provider?.destroy();
    await anvil?.stop();
  });

  it('resolves a DID to a DID Core document with resolution metadata', async () => {
    const r = await get(`/identities/${SUBJECT}`);
    expect(r.statusCode).toBe(200);
    const body = r.json();
    expect(body.didResolutionMetadata).toEqual({ contentType: 'application/did+ld+json' });
    expect(body.didDocumentMetadata).toMatchObject({ deactivated: false, versionId: '1' });
    expect(body.didDocumentMetadata.created).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    const doc = body.didDocument;
    const controller = getAddress(subjectKey.address);
    expect(doc.id).toBe(SUBJECT);
    expect(doc.controller).toBe(`did:pkh:eip155:${GOV_CHAIN_ID}:${controller}`);
    expect(doc.verificationMethod).toEqual([
      { id: `${SUBJECT}#controller`, type: 'EcdsaSecp256k1RecoveryMethod2020', controller: doc.controller, blockchainAccountId: `eip155:${GOV_CHAIN_ID}:${controller}` },
      { id: `${SUBJECT}#sig-1`, type: 'EcdsaSecp256k1VerificationKey2019', controller: SUBJECT, publicKeyJwk: secp256k1Jwk(subjectSecp) },
      { id: `${SUBJECT}#ed-1`, type: 'Ed25519VerificationKey2020', controller: SUBJECT, publicKeyMultibase: ed25519Multibase(subjectEd) },
    ]);
    expect(doc.service).toEqual([{ id: `${SUBJECT}#inbox`, type: 'DIDCommMessaging', serviceEndpoint: 'https://inbox.example/alice' }]);

    const ld = await get(`/identities/${SUBJECT}`, { accept: 'application/did+ld+json' });
    expect(ld.statusCode).toBe(200);
    expect(ld.headers['content-type']).toMatch(/^application\/did\+ld\+json/);
    expect(ld.json()).toEqual(doc);
  });

  it('answers invalid and unknown DIDs per DID Resolution, naming the field', async () => {
    const bad = await get('/identities/did:qiao:has%20space');
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ didDocument: null, didResolutionMetadata: { error: 'invalidDid' }, error: { field: 'did' } });
    const missing = await get('/identities/did:qiao:nobody-here');
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ didDocument: null, didResolutionMetadata: { error: 'notFound' }, error: { field: 'did' } });
    const typo = await get(`/identities/${SUBJECT}?purpse=x`);
    expect(typo.statusCode).toBe(400);
    expect(typo.json().error.field).toBe('purpse');
  });

  it('refuses credit reads without a purpose or an identified caller, naming what is missing', async () => {
    const noPurpose = await signedGet(`/attestations/${uid}`);
    expect(noPurpose.statusCode).toBe(400);
    expect(noPurpose.json().error.field).toBe('purpose');
    const short = await signedGet(`/attestations/${uid}?purpose=ab`);
    expect(short.statusCode).toBe(400);
    expect(short.json().error.field).toBe('purpose');
    const tooLong = await signedGet(`/attestations/${uid}?purpose=${'x'.repeat(201)}`);
    expect(tooLong.statusCode).toBe(400);
    expect(tooLong.json().error.field).toBe('purpose');
    const anonymous = await get(`/attestations/${uid}?purpose=${encodeURIComponent(PURPOSE)}`);
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.json().error.field).toBe('X-Qiao-Signature');
    const badUid = await signedGet(`/attestations/0x1234?purpose=${encodeURIComponent(PURPOSE)}`);
    expect(badUid.statusCode).toBe(400);
    expect(badUid.json().error.field).toBe('uid');
    const unknown = await signedGet(`/attestations/0x${'ab'.repeat(32)}?purpose=${encodeURIComponent(PURPOSE)}`);
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error.field).toBe('uid');
    const stale = await signedGet(`/attestations/${uid}?purpose=${encodeURIComponent(PURPOSE)}`, readerKey, nowS() - 301);
    expect(stale.statusCode).toBe(401);
    expect(stale.json().error.field).toBe('X-Qiao-Timestamp');
    const wrongKey = await get(`/attestations/${uid}`, { 'x-qiao-api-key': 'bank-a:not-the-secret', 'x-qiao-purpose': PURPOSE });
    expect(wrongKey.statusCode).toBe(401);
    expect(wrongKey.json().error.field).toBe('X-Qiao-Api-Key');
    // A signature captured from another URL cannot be replayed as the reader: it recovers
    // to some other address, and the log records that address, not the reader's.
    const ts = nowS();
    const replayed = await get(`/attestations/${uid}?purpose=${encodeURIComponent(PURPOSE)}`, {
      'x-qiao-timestamp': String(ts),
      'x-qiao-signature': await readerKey.signMessage(readMessage(`/identities/${SUBJECT}/attestations?purpose=${encodeURIComponent(PURPOSE)}`, ts)),
    });
    expect(replayed.statusCode).toBe(200);
    const entries = await audit.forSubject(SUBJECT);
    expect(entries.items[0]!.caller).not.toEqual({ kind: 'address', address: readerKey.address.toLowerCase() });
  });

  it('serves a credit record with status and public fields, and logs who read it and why', async () => {
    const url = `/attestations/${uid}?purpose=${encodeURIComponent(PURPOSE)}`;
    const r = await signedGet(url);
    expect(r.statusCode).toBe(200);
    expect(r.headers['cache-control']).toBe('no-store');
    const a = r.json();
    expect(a).toMatchObject({ uid, schemaId, schema: SCHEMA, subjectDid: SUBJECT, issuerDid: ISSUER, status: 'valid', public: { grade: 'B' }, dispute: null, revokedAt: '0' });
    expect(BigInt(a.asOf.blockNumber)).toBeGreaterThan(0n);

    const viaKey = await get(`/identities/${SUBJECT}/attestations`, { 'x-qiao-api-key': `bank-a:${API_KEY_SECRET}`, 'x-qiao-purpose': 'KYC refresh' });
    expect(viaKey.statusCode).toBe(200);
    expect(viaKey.json().items.map((x: { uid: string }) => x.uid)).toEqual([uid]);

    const page = await audit.forSubject(SUBJECT, { limit: 2 });
    expect(page.items[0]).toMatchObject({ caller: { kind: 'api_key', id: 'bank-a' }, recordKind: 'attestations', record: SUBJECT, disclosed: [uid], purpose: 'KYC refresh' });
    expect(page.items[1]).toMatchObject({ caller: { kind: 'address', address: readerKey.address.toLowerCase() }, recordKind: 'attestation', record: uid, disclosed: [uid], purpose: PURPOSE });
    expect(page.nextCursor).not.toBeNull();
  });

  it('lists accreditations (filtered by schema name or id) and schemas', async () => {
    for (const q of [`schema=${SCHEMA}`, `schema=${schemaId}`, `issuer=${ISSUER}`, 'status=active', '']) {
      const r = await get(`/issuers?${q}`);
      expect(r.statusCode).toBe(200);
      expect(r.json().items).toEqual([expect.objectContaining({ issuerDid: ISSUER, schemaId, schema: SCHEMA, status: 'active', expiresAt: '0' })]);
    }
    expect((await get('/issuers?schema=no-such-schema')).json().items).toEqual([]);
    const badSchema = await get('/issuers?schema=0x12');
    expect(badSchema.statusCode).toBe(400);
    expect(badSchema.json().error.field).toBe('schema');
    const badIssuer = await get('/issuers?issuer=bank');
    expect(badIssuer.json().error.field).toBe('issuer');
    const badStatus = await get('/issuers?status=gone');
    expect(badStatus.statusCode).toBe(400);
    expect(badStatus.json().error.field).toBe('status');
    const schemas = await get('/schemas');
    expect(schemas.json().items).toEqual([
      { schemaId, name: SCHEMA, publicFields: ['string grade'], revocable: true, negative: false, retentionSeconds: '0', disputeWindowSeconds: '3600', registeredAt: expect.any(String) },
    ]);
  });

  it("lets only the subject's controller read the subject's audit log, with a fresh signature", async () => {
    const mine = await auditGet(SUBJECT, subjectKey);
    expect(mine.statusCode).toBe(200);
    const items = mine.json().items as { caller: unknown; purpose: string; recordKind: string }[];
    expect(items.some((e) => e.purpose === PURPOSE && e.recordKind === 'attestation')).toBe(true);
    expect(items.some((e) => e.purpose === 'KYC refresh')).toBe(true);
    expect(items.some((e) => e.recordKind === 'identity')).toBe(true);

    const other = await auditGet(SUBJECT, strangerKey);
    expect(other.statusCode).toBe(403);
    expect(other.json().error.field).toBe('X-Qiao-Signature');
    // The issuer's controller cannot read the subject's log either.
    expect((await auditGet(SUBJECT, issuerKey)).statusCode).toBe(403);
    const stale = await auditGet(SUBJECT, subjectKey, nowS() - 301);
    expect(stale.statusCode).toBe(401);
    expect(stale.json().error.field).toBe('X-Qiao-Timestamp');
    const future = await auditGet(SUBJECT, subjectKey, nowS() + 600);
    expect(future.statusCode).toBe(401);
    // A signature for another DID does not open this one.
    const ts = nowS();
    const crossed = await get(`/audit?did=${SUBJECT}`, { 'x-qiao-timestamp': String(ts), 'x-qiao-signature': await subjectKey.signMessage(auditMessage(ISSUER, ts)) });
    expect(crossed.statusCode).toBe(403);
    const unsigned = await get(`/audit?did=${SUBJECT}`);
    expect(unsigned.statusCode).toBe(401);
    expect(unsigned.json().error.field).toBe('X-Qiao-Timestamp');
    expect((await auditGet('did:qiao:nobody-here', subjectKey)).statusCode).toBe(404);
    const badLimit = await auditGet(SUBJECT, subjectKey, nowS(), '&limit=0');
    expect(badLimit.json().error.field).toBe('limit');
    const paged = await auditGet(SUBJECT, subjectKey, nowS(), '&limit=1');
    const cursor = paged.json().nextCursor as string;
    const older = await auditGet(SUBJECT, subjectKey, nowS(), `&limit=1&before=${cursor}`);
    expect(BigInt(older.json().items[0].id)).toBeLessThan(BigInt(cursor) + 1n);
    expect(older.json().items[0].id).not.toBe(paged.json().items[0].id);
  });

  it('shows a dispute, then a deactivated DID as 410 with metadata deactivated', async () => {
    const subject = new TxSender(subjectKey.privateKey, provider);
    await registries.credit.dispute(subject, uid, keccak256(toUtf8Bytes('I repaid in full')) as Hex);
    const r = await signedGet(`/attestations/${uid}?purpose=${encodeURIComponent(PURPOSE)}`);
    expect(r.json()).toMatchObject({ status: 'disputed', dispute: { outcome: 'open', responseHash: null } });

    await registries.identity.deactivate(subject, SUBJECT);
    const gone = await get(`/identities/${SUBJECT}`);
    expect(gone.statusCode).toBe(410);
    expect(gone.json()).toMatchObject({ didDocument: { id: SUBJECT }, didDocumentMetadata: { deactivated: true, versionId: '2' } });
    expect(gone.json().didDocument.verificationMethod).toBeUndefined();
  });

  it('documents every registry route in /docs', async () => {
    const docs = (await get('/docs')).json();
    for (const p of ['/identities/{did}', '/identities/{did}/attestations', '/attestations/{uid}', '/issuers', '/schemas', '/audit']) {
      expect(docs.paths[p]?.get?.summary, p).toBeTruthy();
      expect(docs.paths[p].get.summary).not.toMatch(/^GET /);
    }
    expect(docs.components.schemas.DidResolutionResult).toBeDefined();
  });
});
