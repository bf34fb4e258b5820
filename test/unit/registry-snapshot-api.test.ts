import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { AbiCoder, SigningKey, Wallet, getAddress, keccak256, toUtf8Bytes } from 'ethers';
import { signAttestation, type AttestationDomain } from '../../src/domain/attestation.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hex } from '../../src/domain/hex.ts';
import { ValidationError } from '../../src/errors.ts';
import { fetchLatestSnapshot, fetchRegistryProof } from '../../src/registries/snapshot/api-client.ts';
import { snapshotOf, type RegistrySnapshot } from '../../src/registries/snapshot/builder.ts';
import { SnapshotCache, type CommittedSnapshot } from '../../src/registries/snapshot/committed.ts';
import { didHash } from '../../src/registries/snapshot/leaves.ts';
import { RegistryRecordNotFoundError, checkRegistryProof, snapshotSigners } from '../../src/registries/snapshot/proofs.ts';
import { registryProofDeps } from '../../src/registries/snapshot/hub-deps.ts';
import { registryProofRoutes, type RegistryProofRouteDeps } from '../../src/registries/snapshot/routes.ts';
import { runCli, cleanEnv } from '../helpers/cli.ts';

const h = (label: string) => keccak256(toUtf8Bytes(label)) as Hex;
const SCHEMA = h('grade schema');
const alice = 'did:qiao:alice';
const attestorKey = new SigningKey(h('api test attestor'));
const ATTESTOR = new Wallet(attestorKey).address;
const DOMAIN: AttestationDomain = { chainId: 7744n, verifyingContract: getAddress(`0x${h('api test MessageLog').slice(-40)}`) };
const issuer = 'did:qiao:bank-1';

function snapshotAt(block: bigint, status: 'valid' | 'revoked'): RegistrySnapshot {
  return snapshotOf({
    blockNumber: block,
    takenAt: 1_700_000_000n + block,
    identities: [alice, issuer, 'did:qiao:bob'].map((did) => ({ didHash: didHash(did), controller: new Wallet(h(did)).address, documentHash: h(`doc ${did}`), active: true })),
    accreditations: [{ issuerDidHash: didHash(issuer), schemaId: SCHEMA, status: 'active', expiresAt: 0n }],
    attestations: [
      { uid: h('uid 1'), subjectDidHash: didHash(alice), issuerDidHash: didHash(issuer), schemaId: SCHEMA, publicData: AbiCoder.defaultAbiCoder().encode(['string'], ['B']) as Hex, status, validUntil: 0n },
    ],
  });
}

describe('registry proof routes and CLI', () => {
  let app: FastifyInstance;
  let url: string;
  let dir: string;
  let committed: CommittedSnapshot | null = null;
  let builds = 0;
  const audits: { did: string; disclosed: string[]; purpose: string | null }[] = [];
  const cache = new SnapshotCache(async (block) => {
    builds += 1;
    return snapshotAt(block, block >= 20n ? 'revoked' : 'valid');
  });

  function commit(no: bigint, block: bigint, opts: { forge?: boolean } = {}) {
    const s = snapshotAt(block, block >= 20n ? 'revoked' : 'valid');
    const signature = signAttestation(attestorKey, DOMAIN, { rootType: 2, setId: 1n, batchNo: no, root: s.attestedRoot });
    committed = {
      snapshotNo: no,
      treeRoot: opts.forge ? h('not the registries') : s.treeRoot,
      takenAt: s.takenAt,
      sourceBlock: block,
      blockNumber: block + 1n,
      attestation: { setId: 1n, signatures: [signature] },
    };
  }

  beforeAll(async () => {
    app = Fastify({ logger: false });
    const deps: RegistryProofRouteDeps = {
      latestSnapshot: async () => committed,
      snapshotAt: (b) => cache.at(b),
      domain: DOMAIN,
      audit: async (_req, read) => {
        if (read.purpose === null) throw new ValidationError('purpose', 'is required to read credit data');
        audits.push({ did: read.subjectDid, disclosed: read.disclosed, purpose: read.purpose });
      },
    };
    registryProofRoutes(app, deps);
    url = await app.listen({ host: '127.0.0.1', port: 0 });
    dir = await mkdtemp(join(tmpdir(), 'qiao-registry-api-'));
  });

  afterAll(async () => {
    await app?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('answers 404 naming `snapshot` before the first commit', async () => {
    const r = await app.inject({ url: '/registry/snapshot' });
    expect(r.statusCode).toBe(404);
    expect(r.json().error.field).toBe('snapshot');
    expect((await app.inject({ url: `/registry/proofs/${alice}?purpose=lending` })).json().error.field).toBe('snapshot');
  });

  it('serves the latest committed snapshot with its attestation', async () => {
    commit(1n, 10n);
    const s = await fetchLatestSnapshot(url);
    expect(s).toMatchObject({ snapshotNo: '1', sourceBlock: '10', takenAt: '1700000010', attestation: { rootType: 2, setId: '1', batchNo: '1', domain: { chainId: '7744' } } });
    expect(s.attestedRoot).toBe(keccak256(AbiCoder.defaultAbiCoder().encode(['bytes32', 'uint64'], [s.treeRoot, 1_700_000_010n])));
  });

  it('serves a DID\'s proof against the latest committed snapshot, audited with the stated purpose', async () => {
    commit(1n, 10n);
    const { proof } = await fetchRegistryProof(url, alice, { purpose: 'credit line review' });
    expect(proof.snapshot.snapshotNo).toBe(1n);
    expect(proof.attestations).toHaveLength(1);
    expect(proof.attestations[0]!.leaf.status).toBe(1);
    expect(checkRegistryProof(proof)).toEqual({ ok: true });
    expect(snapshotSigners(proof)).toEqual([ATTESTOR]);
    expect(audits.at(-1)).toEqual({ did: alice, disclosed: [h('uid 1')], purpose: 'credit line review' });

    commit(2n, 20n);
    const again = await fetchRegistryProof(url, alice, { purpose: 'credit line review' });
    expect(again.proof.snapshot.snapshotNo).toBe(2n);
    expect(again.proof.attestations[0]!.leaf.status).toBe(2);
    const other = await fetchRegistryProof(url, alice, { purpose: 'credit line review', schema: h('another schema') });
    expect(other.proof.attestations).toEqual([]);
    expect(audits.at(-1)?.disclosed).toEqual([]);
    expect((await fetchRegistryProof(url, alice, { purpose: 'credit line review', schema: SCHEMA })).proof.attestations).toHaveLength(1);
    await expect(fetchRegistryProof(url, alice, { purpose: 'credit line review', schema: '0x12' })).rejects.toMatchObject({ field: 'schema' });
    const before = builds;
    await fetchRegistryProof(url, alice, { purpose: 'credit line review' });
    expect(builds).toBe(before);
  });

  it('names the field of every refusal: bad DID, unknown DID, no purpose, unknown parameter', async () => {
    commit(2n, 20n);
    await expect(fetchRegistryProof(url, 'did:web:example.com', { purpose: 'x review' })).rejects.toMatchObject({ field: 'did' });
    await expect(fetchRegistryProof(url, 'did:qiao:nobody', { purpose: 'x review' })).rejects.toBeInstanceOf(RegistryRecordNotFoundError);
    await expect(fetchRegistryProof(url, alice)).rejects.toMatchObject({ field: 'purpose' });
    const r = await app.inject({ url: `/registry/proofs/${alice}?purpse=typo` });
    expect(r.statusCode).toBe(400);
  });

  it('refuses to serve a proof whose rebuilt root is not the committed one', async () => {
    commit(3n, 30n, { forge: true });
    const r = await app.inject({ url: `/registry/proofs/${alice}?purpose=lending` });
    expect(r.statusCode).toBe(500);
  });

  it('qiao registry prove prints the proof (JSON or human) and registry verify checks a file offline', async () => {
    commit(2n, 20n);
    const env = cleanEnv();
    const json = await runCli(['registry', 'prove', alice, '--api', url, '--purpose', 'credit line review', '--json', '--out', join(dir, 'proof.json')], { env });
    expect(json.stderr).toBe('');
    expect(json.code).toBe(0);
    const printed = JSON.parse(json.stdout);
    expect(printed.snapshot.snapshotNo).toBe('2');
    expect(printed.attestations[0].leaf.statusName).toBe('revoked');
    expect(JSON.parse(await readFile(join(dir, 'proof.json'), 'utf8'))).toEqual(printed);

    const human = await runCli(['registry', 'prove', alice, '--api', url, '--purpose', 'credit line review'], { env });
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('verifies against the tree root');
    expect(human.stdout).toMatch(/revoked/);

    const ok = await runCli(['registry', 'verify', join(dir, 'proof.json'), '--attestors', `${ATTESTOR},${new Wallet(h('other')).address}`, '--threshold', '1'], { env });
    expect([ok.code, ok.stdout.trim().slice(0, 3)]).toEqual([0, 'ok:']);
    expect(ok.stdout).toContain(`signed by: ${ATTESTOR}`);
    const untrusted = await runCli(['registry', 'verify', join(dir, 'proof.json'), '--attestors', new Wallet(h('other')).address, '--json'], { env });
    expect(untrusted.code).toBe(1);
    expect(JSON.parse(untrusted.stdout)).toMatchObject({ ok: false, signers: [ATTESTOR] });
    printed.attestations[0].leaf.status = 1;
    await writeFile(join(dir, 'tampered.json'), JSON.stringify(printed));
    const bad = await runCli(['registry', 'verify', join(dir, 'tampered.json')], { env });
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('attestations[0]: leaf is not in the snapshot');

    const missing = await runCli(['registry', 'prove', 'did:qiao:nobody', '--api', url, '--purpose', 'credit line review'], { env });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('error [did]');
  });

  it('registryProofDeps: latest MessageLog snapshot with the newest set\'s signatures, trees rebuilt once per source block', async () => {
    let reads = 0;
    const snap = snapshotAt(40n, 'valid');
    const reader = {
      block: async (tag: unknown) => ({ number: BigInt(tag as bigint), timestamp: snap.takenAt }),
      listIdentities: async () => (reads++, [alice, issuer, 'did:qiao:bob'].map((did) => ({ didHash: didHash(did), controller: new Wallet(h(did)).address, documentHash: h(`doc ${did}`), active: true }))),
      listAccreditations: async () => [{ issuerDidHash: didHash(issuer), schemaId: SCHEMA, status: 'active' as const, expiresAt: 0n }],
      listAttestations: async () => [...snap.attestations],
    };
    const row = (setId: string, sig: string) => ({ batchNo: '5', rootType: 2, setId, attestor: `0x${'11'.repeat(20)}`, signature: sig as Hex, createdAt: new Date() });
    const deps = registryProofDeps({
      log: { latest: async () => ({ snapshotNo: 5n, treeRoot: snap.treeRoot, takenAt: snap.takenAt, sourceBlock: 40n, blockNumber: 41n }) },
      registries: reader,
      index: { attestations: async (no, type) => (no === 5n && type === 2 ? [row('1', '0x01'), row('2', '0x02'), row('2', '0x03')] : []) },
      audit: async () => undefined,
    });
    const latest = (await deps.latestSnapshot())!;
    expect(latest.attestation).toEqual({ setId: 2n, signatures: ['0x02', '0x03'] });
    expect((await deps.snapshotAt(40n)).treeRoot).toBe(snap.treeRoot);
    await deps.snapshotAt(40n);
    expect(reads).toBe(1);
  });
});
