import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ed25519 } from '@noble/curves/ed25519.js';
import { HDNodeWallet, SigningKey, Wallet, ZeroAddress, concat, keccak256, toUtf8Bytes, type JsonRpcProvider } from 'ethers';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { makeProvider } from '../../src/evm/provider.ts';
import { TxSender } from '../../src/evm/signer.ts';
import { ANVIL_DEV_KEY, startAnvil, type AnvilProcess } from '../../src/governance/anvil.ts';
import { ed25519Multibase, secp256k1Jwk } from '../../src/registries/did-document.ts';
import { connectRegistries, deployRegistries, registryArtifacts, type Registries } from '../../src/registries/index.ts';
import { cleanEnv, runCli } from '../helpers/cli.ts';

const GOV_CHAIN_ID = 7_744n;
const MNEMONIC = 'test test test test test test test test test test test junk';
const wallet = (i: number) => HDNodeWallet.fromPhrase(MNEMONIC, undefined, `m/44'/60'/0'/0/${i}`);
const SCHEMA = 'credit-grade-v1';
const ISSUER = 'did:qiao:bank-a';

interface Run {
  code: number;
  out: string;
  err: string;
}

describe('qiao identity / issuers / credit on anvil', () => {
  let anvil: AnvilProcess;
  let provider: JsonRpcProvider;
  let registries: Registries;
  let dir: string;
  let issuerKeyFile: string;
  let subjectKeyFile: string;
  let subjectDid: string;
  let uid: Hex;
  const issuerKey = wallet(1);
  const subjectKey = wallet(2);
  const key1 = new SigningKey(keccak256(toUtf8Bytes('cli test: key 1'))).compressedPublicKey as Hex;
  const key2 = new SigningKey(keccak256(toUtf8Bytes('cli test: key 2'))).compressedPublicKey as Hex;
  const edKey = `0x${Buffer.from(ed25519.getPublicKey(new Uint8Array(32).fill(9))).toString('hex')}` as Hex;

  /** Runs the CLI in-process (one module load for the file), capturing what it prints and its exit code. */
  async function qiao(...args: string[]): Promise<Run> {
    let out = '';
    let err = '';
    const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void (out += `${a.join(' ')}\n`));
    const error = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void (err += `${a.join(' ')}\n`));
    process.exitCode = undefined;
    try {
      await main(['node', 'qiao', ...args, '--data-dir', dir]);
    } finally {
      log.mockRestore();
      error.mockRestore();
    }
    const code = Number(process.exitCode ?? 0);
    process.exitCode = undefined;
    return { code, out, err };
  }
  async function qiaoJson<T = Record<string, unknown>>(...args: string[]): Promise<T> {
    const r = await qiao(...args, '--json');
    expect(r.code, r.err).toBe(0);
    return JSON.parse(r.out) as T;
  }

  beforeAll(async () => {
    const artifacts = await registryArtifacts();
    anvil = await startAnvil({ chainId: GOV_CHAIN_ID });
    provider = makeProvider(anvil.url, GOV_CHAIN_ID, { pollingMs: 50 });
    // The governor is a plain key (no council): the CLI sends governance actions directly with it.
    const governor = new TxSender(ANVIL_DEV_KEY, provider);
    const addresses = await deployRegistries(governor, governor.address, artifacts);
    registries = connectRegistries(provider, addresses, artifacts);

    dir = mkdtempSync(join(tmpdir(), 'qiao-cli-reg-'));
    const hub = {
      version: 1,
      governance: { chainId: String(GOV_CHAIN_ID), contracts: { chainRegistry: ZeroAddress, attestorSet: ZeroAddress, messageLog: ZeroAddress, ...addresses }, external: true },
      governanceUrl: anvil.url,
    };
    writeFileSync(join(dir, 'hub.json'), JSON.stringify(hub));
    const spare = () => Wallet.createRandom().privateKey;
    writeFileSync(join(dir, 'keys.json'), JSON.stringify({ governor: ANVIL_DEV_KEY, relayer: spare(), attestor: spare() }), { mode: 0o600 });
    issuerKeyFile = join(dir, 'issuer.key');
    subjectKeyFile = join(dir, 'subject.key');
    writeFileSync(issuerKeyFile, `${issuerKey.privateKey}\n`, { mode: 0o600 });
    writeFileSync(subjectKeyFile, subjectKey.privateKey, { mode: 0o600 });
  });

  afterAll(async () => {
    provider?.destroy();
    await anvil?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('identity create -> resolve -> rotate, with --json and tables', async () => {
    const issuer = await qiaoJson<{ did: string; controller: string }>('identity', 'create', '--did', ISSUER, '--key-file', issuerKeyFile);
    expect(issuer).toMatchObject({ did: ISSUER, controller: issuerKey.address });

    const created = await qiaoJson<{ did: string; didHash: string }>(
      'identity', 'create', '--key-file', subjectKeyFile,
      '--key', `sig-1:secp256k1:${key1}`, '--service', 'inbox:DIDCommMessaging:https://inbox.example/a',
    );
    // The default DID is pairwise: 16 random bytes, nothing about the person.
    expect(created.did).toMatch(/^did:qiao:[0-9a-f]{32}$/);
    subjectDid = created.did;

    const resolved = await qiaoJson<{ didDocument: { verificationMethod: { id: string; publicKeyJwk?: unknown }[]; service: unknown[] }; didDocumentMetadata: { versionId: string; deactivated: boolean } }>(
      'identity', 'resolve', subjectDid,
    );
    expect(resolved.didDocument.verificationMethod.find((m) => m.id === `${subjectDid}#sig-1`)?.publicKeyJwk).toEqual(secp256k1Jwk(key1));
    expect(resolved.didDocument.service).toEqual([{ id: `${subjectDid}#inbox`, type: 'DIDCommMessaging', serviceEndpoint: 'https://inbox.example/a' }]);
    expect(resolved.didDocumentMetadata).toMatchObject({ versionId: '1', deactivated: false });
    const human = await qiao('identity', 'resolve', subjectDid);
    expect(human.out).toContain('status:      active');
    expect(human.out).toMatch(/#sig-1\s+EcdsaSecp256k1VerificationKey2019/);

    // Rotation: replace sig-1, add an ed25519 key given as multibase.
    const rotated = await qiaoJson<{ versionId: string; keys: string[] }>(
      'identity', 'rotate', subjectDid, '--key-file', subjectKeyFile, '--key', `sig-1:secp256k1:${key2}`, '--key', `ed-1:ed25519:${ed25519Multibase(edKey)}`,
    );
    expect(rotated).toMatchObject({ versionId: '3', keys: ['sig-1', 'ed-1'] });
    const onChain = await registries.identity.resolve(subjectDid);
    expect(onChain?.keys).toEqual([
      { id: 'sig-1', type: 'secp256k1', publicKey: key2 },
      { id: 'ed-1', type: 'ed25519', publicKey: edKey },
    ]);
  });

  it('refuses bad writes with an error naming what is wrong', async () => {
    const notController = await qiao('identity', 'rotate', subjectDid, '--key-file', issuerKeyFile, '--remove', 'sig-1');
    expect(notController.code).toBe(2);
    expect(notController.err).toContain('NotController');
    const noKey = await qiao('identity', 'create');
    expect(noKey.code).toBe(2);
    expect(noKey.err).toContain('[key-file]');
    const badDid = await qiao('identity', 'resolve', 'did:web:example.com');
    expect(badDid.err).toContain('[did]');
    const unknown = await qiao('identity', 'resolve', 'did:qiao:nobody');
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain('[did]');
    const badKey = await qiao('identity', 'rotate', subjectDid, '--key-file', subjectKeyFile, '--key', 'sig-1:rsa:0x01');
    expect(badKey.err).toContain('[key[0]]');
    const offCurve = await qiao('identity', 'rotate', subjectDid, '--key-file', subjectKeyFile, '--key', `sig-1:secp256k1:0x02${'00'.repeat(32)}`);
    expect(offCurve.err).toContain('[key[0].publicKey]');
    const noSchema = await qiao('issuers', 'accredit', ISSUER, '--schema', 'no-such-schema');
    expect(noSchema.err).toContain('[schema]');
    const badExpiry = await qiao('issuers', 'accredit', ISSUER, '--schema', SCHEMA, '--expires', 'tomorrow');
    expect(badExpiry.err).toContain('[expires]');
  });

  it('schema-add -> accredit -> attest -> dispute -> answer -> show', async () => {
    const schema = await qiaoJson<{ schemaId: string; proposalId: string; executed: boolean }>('credit', 'schema-add', SCHEMA, '--field', 'string grade', '--dispute-window', '3600');
    expect(schema).toMatchObject({ schemaId: keccak256(toUtf8Bytes(SCHEMA)), proposalId: '0', executed: true });
    const accredited = await qiaoJson('issuers', 'accredit', ISSUER, '--schema', SCHEMA);
    expect(accredited).toMatchObject({ issuerDid: ISSUER, executed: true });
    const listed = await qiaoJson<{ issuerDid: string; schema: string; status: string }[]>('issuers', 'list');
    expect(listed).toEqual([expect.objectContaining({ issuerDid: ISSUER, schema: SCHEMA, status: 'active' })]);
    expect((await qiao('issuers', 'list')).out).toMatch(/did:qiao:bank-a\s+credit-grade-v1\s+active/);

    const dataFile = join(dir, 'data.json');
    writeFileSync(dataFile, '{ "income": 52000,\n  "employer": "ACME", "history": [1, 2] }');
    const badField = await qiao('credit', 'attest', '--key-file', issuerKeyFile, '--schema', SCHEMA, '--subject', subjectDid, '--issuer', ISSUER, '--data-file', dataFile, '--field', 'grad=B');
    expect(badField.code).toBe(2);
    expect(badField.err).toContain('[field.grad]');
    const notIssuer = await qiao('credit', 'attest', '--key-file', subjectKeyFile, '--schema', SCHEMA, '--subject', subjectDid, '--issuer', ISSUER, '--data-file', dataFile, '--field', 'grade=B');
    expect(notIssuer.code).toBe(2);
    expect(notIssuer.err).toMatch(/reverted: \w+/);

    const attested = await qiaoJson<{ uid: Hex; salt: Hex; dataCommitment: Hex }>(
      'credit', 'attest', '--key-file', issuerKeyFile, '--schema', SCHEMA, '--subject', subjectDid, '--issuer', ISSUER, '--data-file', dataFile, '--field', 'grade=B',
    );
    uid = attested.uid;
    // The commitment is keccak256(salt || canonical JSON): sorted keys, no whitespace.
    expect(attested.dataCommitment).toBe(keccak256(concat([attested.salt, toUtf8Bytes('{"employer":"ACME","history":[1,2],"income":52000}')])));
    expect((await registries.credit.get(uid))?.dataCommitment).toBe(attested.dataCommitment);

    const shown = await qiaoJson<{ status: string; public: { grade: string }; dispute: unknown }>('credit', 'show', uid);
    expect(shown).toMatchObject({ status: 'valid', public: { grade: 'B' }, dispute: null });

    const disputed = await qiaoJson<{ statementHash: string; deadline: string }>('credit', 'dispute', uid, '--key-file', subjectKeyFile, '--statement', 'I repaid in full');
    expect(disputed.statementHash).toBe(keccak256(toUtf8Bytes('I repaid in full')));
    expect(Number(disputed.deadline)).toBeGreaterThan(0);
    expect(await qiaoJson('credit', 'show', uid)).toMatchObject({ status: 'disputed', dispute: { outcome: 'open', statementHash: disputed.statementHash } });

    const badOutcome = await qiao('credit', 'answer', uid, '--key-file', issuerKeyFile, '--outcome', 'maybe', '--response', 'x');
    expect(badOutcome.err).toContain('[outcome]');
    const answered = await qiaoJson('credit', 'answer', uid, '--key-file', issuerKeyFile, '--outcome', 'upheld', '--response', 'statement checked against our ledger');
    expect(answered).toMatchObject({ outcome: 'upheld', responseHash: keccak256(toUtf8Bytes('statement checked against our ledger')) });
    expect(await qiaoJson('credit', 'show', uid)).toMatchObject({ status: 'valid', dispute: { outcome: 'upheld' } });
    const human = await qiao('credit', 'show', uid);
    expect(human.out).toContain('status:     valid');
    expect(human.out).toContain('public:     grade=B');
    expect(human.out).toMatch(/upheld/);

    // Revoking the accreditation flags earlier records for review.
    expect(await qiaoJson('issuers', 'revoke', ISSUER, '--schema', SCHEMA)).toMatchObject({ executed: true });
    expect(await qiaoJson('credit', 'show', uid)).toMatchObject({ status: 'flagged' });
    expect(await qiaoJson('issuers', 'list', '--status', 'revoked')).toEqual([expect.objectContaining({ issuerDid: ISSUER, status: 'revoked' })]);
  });

  it('identity deactivate needs --yes, then resolves as deactivated', async () => {
    const unconfirmed = await qiao('identity', 'deactivate', subjectDid, '--key-file', subjectKeyFile);
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.err).toContain('[yes]');
    expect(await qiaoJson('identity', 'deactivate', subjectDid, '--key-file', subjectKeyFile, '--yes')).toMatchObject({ did: subjectDid, deactivated: true });
    const r = await qiaoJson<{ didDocument: { verificationMethod?: unknown }; didDocumentMetadata: { deactivated: boolean } }>('identity', 'resolve', subjectDid);
    expect(r.didDocumentMetadata.deactivated).toBe(true);
    expect(r.didDocument.verificationMethod).toBeUndefined();
  });

  it('works as a real process (bin/qiao.mjs) with the key from QIAO_KEY', async () => {
    const r = await runCli(['identity', 'create', '--did', 'did:qiao:proc-1', '--data-dir', dir, '--json'], { env: cleanEnv({ QIAO_KEY: issuerKey.privateKey }) });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ did: 'did:qiao:proc-1', controller: issuerKey.address });
  });
});
