import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import type { JsonRpcProvider } from 'ethers';
import { asHex, type Hex } from '../../domain/hex.ts';
import { ConfigError, QiaoError, ValidationError } from '../../errors.ts';
import type { TxSender } from '../../evm/signer.ts';
import type { GovernPath } from '../../governance/govern.ts';
import type { Registries } from '../../registries/index.ts';
import type { ServiceEndpoint, VerificationKey } from '../../registries/types.ts';
import { printJson, printTable } from '../output.ts';

/*
 * `qiao identity create|resolve|rotate|deactivate`, and the connection to the
 * registries shared by the issuers and credit commands. Writes are signed by
 * the caller's key (--key-file or QIAO_KEY); governance actions default to the
 * hub's governor key and go through the council when the council governs.
 */

export interface RegistryCliOptions {
  dataDir?: string;
  governanceRpc?: string;
  keyFile?: string;
  json?: boolean;
}

export interface RegistryCli {
  registries: Registries;
  provider: JsonRpcProvider;
  govChainId: bigint;
  /** The caller's key; throws naming --key-file when none is given. */
  signer(): Promise<TxSender>;
  /** The governance path for the caller's key (default: the hub's governor key). */
  governance(): Promise<GovernPath>;
  close(): void;
}

/** Adds the options every registry command takes. */
export function registryOptions(cmd: Command, { key = true }: { key?: boolean } = {}): Command {
  cmd.option('--governance-rpc <url>', 'governance chain RPC (default: the running hub of --data-dir)').option('--data-dir <dir>', 'data folder of the hub');
  if (key) cmd.option('--key-file <file>', 'file holding the signing key (0x + 64 hex); default: env QIAO_KEY');
  return cmd.option('--json', 'print JSON');
}

async function readKey(o: RegistryCliOptions): Promise<Hex | undefined> {
  if (o.keyFile !== undefined) {
    let text: string;
    try {
      text = await readFile(o.keyFile, 'utf8');
    } catch (cause) {
      throw new ValidationError('key-file', `cannot read ${o.keyFile}`, { cause });
    }
    const k = text.trim();
    if (!/^0x[0-9a-fA-F]{64}$/.test(k)) throw new ValidationError('key-file', `${o.keyFile} must hold one private key: 0x and 64 hex digits`);
    return k as Hex;
  }
  const env = process.env.QIAO_KEY;
  if (env !== undefined) {
    if (!/^0x[0-9a-fA-F]{64}$/.test(env.trim())) throw new ValidationError('QIAO_KEY', 'must be a private key: 0x and 64 hex digits');
    return env.trim() as Hex;
  }
  return undefined;
}

/** Connects to the registries of the hub that owns --data-dir. */
export async function connectRegistryCli(o: RegistryCliOptions): Promise<RegistryCli> {
  const [{ loadState }, { makeProvider }, { TxSender }, { directGovernance }, { loadOrCreateKeys }, { connectRegistries, registryArtifacts }] = await Promise.all([
    import('../../main/state.ts'),
    import('../../evm/provider.ts'),
    import('../../evm/signer.ts'),
    import('../../governance/govern.ts'),
    import('../../governance/keys.ts'),
    import('../../registries/index.ts'),
  ]);
  const dir = resolve(o.dataDir ?? process.env.QIAO_DATA_DIR ?? '.qiao');
  const state = await loadState(join(dir, 'hub.json'));
  const c = state.governance?.contracts;
  if (!state.governance || !c) throw new ConfigError('dataDir', `${dir} holds no hub (start one with qiao start)`);
  if (!c.identityRegistry || !c.issuerRegistry || !c.creditRegistry) throw new ConfigError('dataDir', `${dir} holds no registry addresses: start the hub once (qiao start) to deploy them`);
  const url = o.governanceRpc ?? state.governanceUrl;
  if (!url) throw new ConfigError('governance.rpc', 'no governance RPC known: pass --governance-rpc');
  const govChainId = BigInt(state.governance.chainId);
  const provider = makeProvider(url, govChainId);
  const registries = connectRegistries(provider, { identityRegistry: c.identityRegistry, issuerRegistry: c.issuerRegistry, creditRegistry: c.creditRegistry }, await registryArtifacts());
  const key = await readKey(o);
  return {
    registries,
    provider,
    govChainId,
    async signer() {
      if (key === undefined) throw new ValidationError('key-file', 'this write is signed by your key: pass --key-file <file> or set QIAO_KEY');
      return new TxSender(key, provider);
    },
    async governance() {
      const gkey = key ?? (process.env.QIAO_GOVERNANCE_KEY as Hex | undefined) ?? (await loadOrCreateKeys(join(dir, 'keys.json'))).keys.governor;
      const sender = new TxSender(gkey, provider);
      const governor = ((await registries.identity.contract.getFunction('governor')()) as string).toLowerCase();
      if (governor === sender.address.toLowerCase()) return directGovernance(sender);
      if (c.council && governor === c.council.toLowerCase()) {
        const [{ CouncilClient, councilGovernance }, { governanceArtifacts }] = await Promise.all([import('../../governance/council.ts'), import('../../governance/artifacts.ts')]);
        return councilGovernance(new CouncilClient(provider, c.council, (await governanceArtifacts()).Council), sender);
      }
      throw new ValidationError('key-file', `the registries are governed by ${governor}; key ${sender.address} is neither that key nor acting through the hub's council`);
    },
    close: () => provider.destroy(),
  };
}

/** Runs `f` on a connection and always closes it. */
export async function withRegistries<T>(o: RegistryCliOptions, f: (r: RegistryCli) => Promise<T>): Promise<T> {
  const r = await connectRegistryCli(o);
  try {
    return await f(r);
  } finally {
    r.close();
  }
}

/** `<id>:<secp256k1|ed25519>:<public key>`; ed25519 keys as hex or z-multibase. */
export async function parseKeySpec(v: string, field = 'key'): Promise<VerificationKey> {
  const m = /^([^:]+):([^:]+):(.+)$/.exec(v);
  if (!m) throw new ValidationError(field, `"${v}" must be <id>:<secp256k1|ed25519>:<public key>`);
  const [, id, type, pk] = m as unknown as [string, string, string, string];
  if (type !== 'secp256k1' && type !== 'ed25519') throw new ValidationError(field, `key type "${type}" must be secp256k1 or ed25519`);
  let publicKey: Hex;
  if (type === 'ed25519' && pk.startsWith('z')) {
    const { ed25519FromMultibase } = await import('../../registries/did-document.ts');
    publicKey = ed25519FromMultibase(pk, field);
  } else {
    publicKey = asHex(pk, field);
  }
  const { validateKey } = await import('../../registries/validate.ts');
  return validateKey({ id, type, publicKey }, field);
}

/** `<id>:<type>:<endpoint URL>`. */
export function parseServiceSpec(v: string, field = 'service'): ServiceEndpoint {
  const m = /^([^:]+):([^:]+):(.+)$/.exec(v);
  if (!m) throw new ValidationError(field, `"${v}" must be <id>:<type>:<endpoint URL>`);
  return { id: m[1]!, type: m[2]!, endpoint: m[3]! };
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

function parseDidArg(v: string): string {
  if (!/^did:qiao:[a-zA-Z0-9._-]{1,64}$/.test(v)) throw new ValidationError('did', `"${v}" must be did:qiao:<id> with id of 1-64 characters from [a-zA-Z0-9._-]`);
  return v;
}

type WriteOpts = RegistryCliOptions & { key?: string[]; service?: string[]; remove?: string[]; controller?: string; did?: string; documentHash?: string; yes?: boolean };

export function registerIdentity(program: Command): void {
  const identity = program.command('identity').description('DIDs (did:qiao:...) in the IdentityRegistry: controller, keys, services');

  registryOptions(
    identity
      .command('create')
      .description('create a DID controlled by your key (default id: 16 random bytes, a pairwise DID that identifies nobody)')
      .option('--did <did>', 'the DID to create (did:qiao:<id>)')
      .option('--controller <address>', 'controller address (default: your key)')
      .option('--key <id:type:publicKey>', 'a verification key, e.g. sig-1:secp256k1:0x02… or ed-1:ed25519:z6Mk… (repeatable)', collect)
      .option('--service <id:type:url>', 'a service endpoint, e.g. inbox:DIDCommMessaging:https://… (repeatable)', collect)
      .option('--document-hash <hex>', 'hash of the off-chain DID document (default: computed from the services)'),
  ).action(async (o: WriteOpts) => {
    const did = o.did === undefined ? undefined : parseDidArg(o.did);
    const keys = await Promise.all((o.key ?? []).map((k, i) => parseKeySpec(k, `key[${i}]`)));
    const services = (o.service ?? []).map((s, i) => parseServiceSpec(s, `service[${i}]`));
    const documentHash = o.documentHash === undefined ? undefined : asHex(o.documentHash, 'document-hash', 32);
    await withRegistries(o, async (r) => {
      const sender = await r.signer();
      const out = await r.registries.identity.create(sender, {
        ...(did === undefined ? {} : { did }),
        ...(o.controller === undefined ? {} : { controller: o.controller }),
        ...(documentHash === undefined ? {} : { documentHash }),
        keys,
        services,
      });
      const view = { did: out.did, didHash: out.didHash, controller: o.controller ?? sender.address, keys: keys.length, services: services.length, txHash: out.receipt.hash };
      if (o.json) return printJson(view);
      console.log(`created ${out.did} (controller ${view.controller}, tx ${out.receipt.hash})`);
    });
  });

  registryOptions(
    identity
      .command('resolve <did>')
      .description('the W3C DID document and resolution metadata, read from the governance chain'),
    { key: false },
  ).action(async (didArg: string, o: RegistryCliOptions) => {
    const did = parseDidArg(didArg);
    await withRegistries(o, async (r) => {
      const { resolutionResult } = await import('../../registries/did-document.ts');
      const identity = await r.registries.identity.resolve(did);
      if (!identity) throw new QiaoError('not_found', `did: no identity ${did}`, { data: { field: 'did' } });
      const result = resolutionResult(did, identity, r.govChainId);
      if (o.json) return printJson(result);
      const m = result.didDocumentMetadata;
      console.log(`did:         ${did}`);
      console.log(`controller:  ${result.didDocument?.controller ?? identity.controller}`);
      console.log(`status:      ${m.deactivated ? 'DEACTIVATED' : 'active'} (version ${m.versionId}, created ${m.created}, updated ${m.updated})`);
      printTable(
        (result.didDocument?.verificationMethod ?? []).map((v) => ({
          id: v.id.slice(did.length),
          type: v.type,
          key: 'publicKeyMultibase' in v ? v.publicKeyMultibase : 'publicKeyJwk' in v ? `jwk x=${v.publicKeyJwk.x}` : v.blockchainAccountId,
        })),
        ['id', 'type', 'key'],
      );
      for (const s of result.didDocument?.service ?? []) console.log(`service ${s.id.slice(did.length)}: ${s.type} ${s.serviceEndpoint}`);
    });
  });

  registryOptions(
    identity
      .command('rotate <did>')
      .description('add or replace keys (same id = rotation), remove keys, or hand the DID to a new controller; signed by the controller')
      .option('--key <id:type:publicKey>', 'key to add or replace (repeatable)', collect)
      .option('--remove <keyId>', 'key id to remove (repeatable)', collect)
      .option('--controller <address>', 'new controller address (last, after the key changes)'),
  ).action(async (didArg: string, o: WriteOpts) => {
    const did = parseDidArg(didArg);
    const keys = await Promise.all((o.key ?? []).map((k, i) => parseKeySpec(k, `key[${i}]`)));
    const removes = o.remove ?? [];
    if (keys.length === 0 && removes.length === 0 && o.controller === undefined) throw new ValidationError('key', 'nothing to change: pass --key, --remove or --controller');
    await withRegistries(o, async (r) => {
      const sender = await r.signer();
      const txs: Hex[] = [];
      for (const k of keys) txs.push((await r.registries.identity.setKey(sender, did, k)).hash as Hex);
      for (const id of removes) txs.push((await r.registries.identity.removeKey(sender, did, id)).hash as Hex);
      if (o.controller !== undefined) txs.push((await r.registries.identity.changeController(sender, did, o.controller)).hash as Hex);
      const after = await r.registries.identity.resolve(did);
      const view = { did, versionId: after?.versionId ?? null, controller: after?.controller ?? null, keys: after?.keys.map((k) => k.id) ?? [], txHashes: txs };
      if (o.json) return printJson(view);
      console.log(`${did}: version ${view.versionId}, keys ${view.keys.join(', ') || '(none)'}, controller ${view.controller} (${txs.length} transaction${txs.length === 1 ? '' : 's'})`);
    });
  });

  registryOptions(
    identity
      .command('deactivate <did>')
      .description('deactivate a DID for good (signed by the controller); nothing can be attested about it afterwards')
      .option('--yes', 'confirm: deactivation cannot be undone'),
  ).action(async (didArg: string, o: WriteOpts) => {
    const did = parseDidArg(didArg);
    if (!o.yes) throw new ValidationError('yes', `deactivating ${did} is final: pass --yes to confirm`);
    await withRegistries(o, async (r) => {
      const receipt = await r.registries.identity.deactivate(await r.signer(), did);
      if (o.json) return printJson({ did, deactivated: true, txHash: receipt.hash });
      console.log(`deactivated ${did} (tx ${receipt.hash})`);
    });
  });
}
