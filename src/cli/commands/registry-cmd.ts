import { readFile, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { ConfigError, ValidationError } from '../../errors.ts';
import { resolveApiUrl } from '../api-url.ts';
import { printJson, printTable, short } from '../output.ts';
import type { Hex } from '../../domain/hex.ts';
import type { RegistryProof } from '../../registries/snapshot/proofs.ts';

interface ProveOpts {
  schema?: string;
  api?: string;
  dataDir?: string;
  governanceRpc?: string;
  snapshot?: string;
  purpose?: string;
  out?: string;
  json?: boolean;
}

// The chain-side builder (ethers contracts, solc artifacts) loads only when asked for.
const snapshotModules = async () => ({
  ...(await import('../../registries/snapshot/proofs.ts')),
  ...(await import('../../registries/snapshot/api-client.ts')),
});

/**
 * Builds the proof from the governance chain itself: the registries as they stood at
 * the committed snapshot's source block, so its root is the one MessageLog holds.
 */
async function proveFromChain(did: string, o: ProveOpts, schemaId: Hex | undefined): Promise<RegistryProof> {
  const [{ governance }, { SnapshotLogClient }, { Registries, registryArtifacts }, { assertMatchesCommitted }, { buildRegistrySnapshot }, { registryProof }] = await Promise.all([
    import('../governance.ts'),
    import('../../governance/snapshots.ts'),
    import('../../registries/index.ts'),
    import('../../registries/snapshot/committed.ts'),
    import('../../registries/snapshot/builder.ts'),
    import('../../registries/snapshot/proofs.ts'),
  ]);
  const g = await governance(o.dataDir, o.governanceRpc);
  try {
    const c = g.state.governance!.contracts;
    if (!c.identityRegistry || !c.issuerRegistry || !c.creditRegistry) throw new ConfigError('dataDir', 'the hub of this data folder has no registry addresses yet (start it once to deploy them)');
    const log = new SnapshotLogClient(g.client);
    const no = o.snapshot === undefined ? undefined : snapshotNumber(o.snapshot);
    const s = no === undefined ? await log.latest() : await log.snapshot(no);
    if (!s) throw new ValidationError('snapshot', no === undefined ? 'no registry snapshot has been committed yet' : `snapshot ${no} is not committed`);
    const registries = new Registries(
      g.client.provider,
      { identityRegistry: c.identityRegistry, issuerRegistry: c.issuerRegistry, creditRegistry: c.creditRegistry, ...(c.laneFeeRegistry ? { laneFeeRegistry: c.laneFeeRegistry } : {}) },
      await registryArtifacts(),
    );
    const snap = await buildRegistrySnapshot(registries, s.sourceBlock);
    assertMatchesCommitted(s, snap);
    return registryProof(snap, did, { snapshotNo: s.snapshotNo, ...(schemaId ? { schemaId } : {}) });
  } finally {
    g.close();
  }
}

/** A schema given by its 0x id or by its name (schemaId = keccak256(name)). */
async function schemaOf(v: string): Promise<Hex> {
  if (/^0x[0-9a-fA-F]{64}$/.test(v)) return v.toLowerCase() as Hex;
  if (v.startsWith('0x') || v.length === 0) throw new ValidationError('schema', 'must be a schema name or 0x followed by 64 hex digits');
  return (await import('../../registries/credit.ts')).schemaIdOf(v);
}

function trustedSet(list: string, threshold: string | undefined): { members: Set<string>; threshold: number } {
  const members = list.split(',').map((x) => x.trim());
  for (const a of members) if (!/^0x[0-9a-fA-F]{40}$/.test(a)) throw new ValidationError('attestors', `${a} is not a 20-byte 0x address`);
  const set = new Set(members.map((x) => x.toLowerCase()));
  const k = threshold === undefined ? set.size : Number(threshold);
  if (!Number.isInteger(k) || k < 1 || k > set.size) throw new ValidationError('threshold', `must be an integer in 1..${set.size}`);
  return { members: set, threshold: k };
}

function snapshotNumber(v: string): bigint {
  if (!/^[1-9][0-9]{0,19}$/.test(v)) throw new ValidationError('snapshot', 'must be a snapshot number (1, 2, ...)');
  return BigInt(v);
}

/** One screen a person can read: what the snapshot says about the DID, and whether it all verifies. */
function printHuman(p: RegistryProof, check: { ok: boolean; reason?: string }, signers: string[], names: { status(kind: number, s: number): string | undefined }): void {
  const s = p.snapshot;
  console.log(`did:        ${p.did}`);
  console.log(`didHash:    ${p.didHash}`);
  console.log(`snapshot:   ${s.snapshotNo ?? '(not committed)'} taken at ${new Date(Number(s.takenAt) * 1000).toISOString()} (governance block ${s.blockNumber})`);
  console.log(`tree root:  ${s.treeRoot}`);
  console.log(`identity:   ${names.status(1, p.identity.leaf.status) ?? p.identity.leaf.status}, controller 0x${p.identity.leaf.a.slice(26)}`);
  console.log(`proof:      ${check.ok ? 'verifies against the tree root' : `DOES NOT VERIFY: ${check.reason}`}`);
  console.log(`signed by:  ${signers.length ? signers.join(', ') : '(no attestor signatures at hand)'}`);
  console.log('attestations:');
  printTable(
    p.attestations.map((a) => ({
      uid: short(a.uid, 14),
      schema: short(a.schemaId, 14),
      issuer: short(a.issuerDidHash, 14),
      status: names.status(3, a.leaf.status) ?? String(a.leaf.status),
      validUntil: a.leaf.validUntil === 0n ? '-' : new Date(Number(a.leaf.validUntil) * 1000).toISOString(),
      accreditation: a.accreditation ? (names.status(2, a.accreditation.leaf.status) ?? String(a.accreditation.leaf.status)) : 'none',
      publicData: short(a.publicData, 18),
    })),
    ['uid', 'schema', 'issuer', 'status', 'validUntil', 'accreditation', 'publicData'],
  );
}

export function registerRegistry(program: Command): void {
  const registry = program.command('registry').description('registry snapshots: inclusion proofs other chains can check');
  registry
    .command('prove <did>')
    .description('the DID\'s identity, its credit attestations and their issuers\' accreditations, with Merkle proofs against the latest committed snapshot')
    .option('--purpose <text>', 'why you read the subject\'s credit records (written to the hub\'s audit log)')
    .option('--schema <id|name>', 'only attestations of this schema (its 0x id or its name): disclose no more than needed')
    .option('--api <url>', 'hub API (default: the hub of --data-dir)')
    .option('--data-dir <dir>', 'data folder of the hub')
    .option('--governance-rpc <url>', 'build the proof from the governance chain itself instead of asking the hub\'s API (addresses from --data-dir)')
    .option('--snapshot <no>', 'with --governance-rpc: a committed snapshot number (default: the latest)')
    .option('--out <file>', 'also write the proof JSON to this file')
    .option('--json', 'print the proof JSON')
    .action(async (did: string, o: ProveOpts) => {
      const m = await snapshotModules();
      const { parseDid } = await import('../../registries/did.ts');
      parseDid(did);
      if (o.snapshot !== undefined && !o.governanceRpc) throw new ValidationError('snapshot', 'needs --governance-rpc (the hub\'s API proves against its latest snapshot)');
      const schema = o.schema === undefined ? undefined : await schemaOf(o.schema);
      let proof: RegistryProof;
      if (o.governanceRpc) {
        proof = await proveFromChain(did, o, schema);
      } else {
        const api = await resolveApiUrl(o);
        proof = (await m.fetchRegistryProof(api, did, { ...(o.purpose === undefined ? {} : { purpose: o.purpose }), ...(schema === undefined ? {} : { schema }) })).proof;
      }
      // Never hand on a proof that does not verify, wherever it came from.
      const check = m.checkRegistryProof(proof);
      const json = m.registryProofToJson(proof);
      if (o.out) await writeFile(o.out, `${JSON.stringify(json, null, 2)}\n`);
      if (o.json) printJson(json);
      else printHuman(proof, check, m.snapshotSigners(proof), { status: (await import('../../registries/snapshot/leaves.ts')).statusName });
      if (!check.ok) {
        console.error(`error: the proof does not verify: ${check.reason}`);
        process.exitCode = 1;
      }
    });
  registry
    .command('verify <file>')
    .description('check a proof file offline (from registry prove --out or the API): every leaf against the tree root')
    .option('--attestors <addresses>', 'comma-separated attestor addresses you trust: require --threshold of them to have signed the snapshot')
    .option('--threshold <k>', 'signatures needed from --attestors (default: all of them)')
    .option('--json', 'print the result as JSON')
    .action(async (file: string, o: { attestors?: string; threshold?: string; json?: boolean }) => {
      const m = await snapshotModules();
      let raw: unknown;
      try {
        raw = JSON.parse(await readFile(file, 'utf8'));
      } catch (cause) {
        throw new ValidationError('file', `cannot read ${file} as JSON`, { cause });
      }
      const proof = m.registryProofFromJson(raw);
      const trusted = o.attestors === undefined ? undefined : trustedSet(o.attestors, o.threshold);
      const signers = m.snapshotSigners(proof);
      let check = m.checkRegistryProof(proof);
      if (check.ok && trusted) {
        const valid = signers.filter((x) => trusted.members.has(x.toLowerCase())).length;
        if (valid < trusted.threshold) check = { ok: false, reason: `the snapshot carries ${valid} signature(s) of the given attestors, ${trusted.threshold} needed` };
      }
      if (o.json) printJson({ ...check, did: proof.did, snapshotNo: proof.snapshot.snapshotNo, treeRoot: proof.snapshot.treeRoot, attestedRoot: proof.snapshot.attestedRoot, signers });
      else {
        console.log(check.ok ? `ok: ${proof.did} in snapshot ${proof.snapshot.snapshotNo ?? '(not committed)'} (root ${proof.snapshot.treeRoot})` : `FAILED: ${check.reason}`);
        console.log(signers.length ? `signed by: ${signers.join(', ')}` : 'signed by: (no signatures in the file; check the root against a port\'s registryRootInfo or the MessageLog)');
      }
      if (!check.ok) process.exitCode = 1;
    });
  registry
    .command('snapshot')
    .description('the latest registry snapshot the hub committed, with its attestation')
    .option('--api <url>', 'hub API (default: the hub of --data-dir)')
    .option('--data-dir <dir>', 'data folder of the hub')
    .option('--json', 'print JSON')
    .action(async (o: { api?: string; dataDir?: string; json?: boolean }) => {
      const m = await snapshotModules();
      const s = await m.fetchLatestSnapshot(await resolveApiUrl(o));
      if (o.json) return printJson(s);
      console.log(`snapshot:     ${s.snapshotNo}\ntree root:    ${s.treeRoot}\nattested:     ${s.attestedRoot}\ntaken at:     ${new Date(Number(s.takenAt) * 1000).toISOString()} (governance block ${s.sourceBlock})`);
      console.log(`attestation:  ${s.attestation ? `set ${s.attestation.setId}, ${s.attestation.signatures.length} signature(s)` : 'not collected yet'}`);
    });
}
