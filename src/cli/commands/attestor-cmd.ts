import { httpUrl } from '../url-option.ts';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import type { Hex } from '../../domain/hex.ts';
import { ValidationError } from '../../errors.ts';
import type { SnapshotSource } from '../../../relayer/attestor/attestor.ts';

// ethers, the logger and the registries load only when a command runs: `qiao --help` stays fast.
type Ethers = typeof import('ethers');

async function readKeyFile(file: string): Promise<Hex> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    throw new ValidationError('key-file', `cannot read ${file}`, { cause });
  }
  const k = text.trim();
  if (!/^0x[0-9a-fA-F]{64}$/.test(k)) throw new ValidationError('key-file', `${file} must hold one private key: 0x and 64 hex digits`);
  return k as Hex;
}

function address(ethers: Pick<Ethers, 'getAddress'>, v: string, field: string): string {
  try {
    return ethers.getAddress(v);
  } catch (cause) {
    throw new ValidationError(field, 'must be an EVM address (0x and 40 hex digits)', { cause });
  }
}

function int(v: string, field: string, max: number): number {
  if (!/^\d{1,7}$/.test(v) || Number(v) > max) throw new ValidationError(field, `must be a whole number up to ${max}`);
  return Number(v);
}

interface StartOptions {
  keyFile: string;
  hub: string;
  governanceRpc: string;
  attestorSet: string;
  dataDir: string;
  finalityDepth: string;
  pollMs: string;
  lookback: string;
  log: string;
  registries?: string;
  chainRegistry?: string;
  sourceRpc: string[];
  allowLocalDev: string[];
  dev?: boolean;
}

const collect = (v: string, prev: string[]): string[] => [...prev, v];

/** `CHAIN=URL[,URL…]` pairs: the operator's own RPC endpoints for a source chain, instead of the registration's. */
function sourceRpcs(pairs: readonly string[], chainId: (v: string, field: string) => string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const p of pairs) {
    const eq = p.indexOf('=');
    if (eq <= 0) throw new ValidationError('source-rpc', 'must be CHAIN=URL[,URL…], e.g. eip155:1337=http://127.0.0.1:8545');
    const id = chainId(p.slice(0, eq), 'source-rpc');
    const urls = p.slice(eq + 1).split(',').map((u) => httpUrl(u.trim(), 'source-rpc'));
    out.set(id, [...(out.get(id) ?? []), ...urls]);
  }
  return out;
}

function registryAddresses(ethers: Pick<Ethers, 'getAddress'>, v: string): { identityRegistry: string; issuerRegistry: string; creditRegistry: string; laneFeeRegistry?: string } {
  const parts = v.split(',').map((p) => p.trim());
  // The lane fee registry's leaves are in the same tree: an attestor without it recomputes another root once a fee is set.
  if (parts.length !== 3 && parts.length !== 4) throw new ValidationError('registries', 'must be three or four addresses: identity,issuer,credit[,laneFees]');
  const [identityRegistry, issuerRegistry, creditRegistry, laneFeeRegistry] = parts.map((p) => address(ethers, p, 'registries')) as [string, string, string, string | undefined];
  return { identityRegistry, issuerRegistry, creditRegistry, ...(laneFeeRegistry ? { laneFeeRegistry } : {}) };
}

export function registerAttestor(program: Command): void {
  const attestor = program.command('attestor').description('an attestor of the hub\'s k-of-n set, run by one consortium member with its own key');

  attestor
    .command('start')
    .description('follow the governance chain, re-verify every batch and hand-over, sign each once (durable record in --data-dir) and post the signatures to the hub')
    .requiredOption('--key-file <file>', 'file holding this attestor\'s signing key (0x + 64 hex)')
    .requiredOption('--hub <url>', 'the hub\'s API (signatures go to POST /attestations)')
    .requiredOption('--governance-rpc <url>', 'this attestor\'s own RPC of the governance chain')
    .requiredOption('--attestor-set <address>', 'the AttestorSet contract on the governance chain (its MessageLog is read from it)')
    .requiredOption('--data-dir <dir>', 'this attestor\'s folder (its signed-root record)')
    .option('--finality-depth <blocks>', 'governance blocks behind the head that count as final', '2')
    .option('--poll-ms <ms>', 'how often the governance chain is read', '500')
    .option('--lookback <batches>', 'with no record yet, start this many batches back', '256')
    .option('--registries <addresses>', 'identity,issuer,credit registry addresses: also recompute and sign registry snapshots (root type 2)')
    .requiredOption('--chain-registry <address>', 'the ChainRegistry on the governance chain, from your own operator: every message of a batch is re-verified against its source chain before signing')
    .option('--source-rpc <chain=urls>', 'this attestor\'s own RPC for a source chain, instead of the registration\'s endpoints (repeatable)', collect, [])
    .option('--allow-local-dev <chain>', 'accept local-dev header trust (the RPC\'s word) for this source chain (repeatable; development only)', collect, [])
    .option('--dev', 'accept local-dev header trust for every source chain (development only)')
    .option('--log <where>', 'file (data folder/attestor.log) or stderr', 'stderr')
    .action(async (o: StartOptions) => {
      const ethers = await import('ethers');
      const privateKey = await readKeyFile(o.keyFile);
      const hub = httpUrl(o.hub, 'hub');
      const rpc = httpUrl(o.governanceRpc, 'governance-rpc');
      const set = address(ethers, o.attestorSet, 'attestor-set');
      const finalityDepth = int(o.finalityDepth, 'finality-depth', 64);
      const pollMs = int(o.pollMs, 'poll-ms', 600_000);
      const lookback = int(o.lookback, 'lookback', 1_000_000);
      if (o.log !== 'file' && o.log !== 'stderr') throw new ValidationError('log', 'must be file or stderr');
      const regs = o.registries === undefined ? null : registryAddresses(ethers, o.registries);
      const chainRegistry = o.chainRegistry === undefined ? undefined : address(ethers, o.chainRegistry, 'chain-registry');
      const { chainId } = await import('../../domain/caip.ts');
      const rpcOverrides = sourceRpcs(o.sourceRpc, chainId);
      const localDev = new Set(o.allowLocalDev.map((c) => chainId(c, 'allow-local-dev') as string));
      if (!chainRegistry && (rpcOverrides.size || localDev.size || o.dev)) {
        throw new ValidationError('chain-registry', '--source-rpc, --allow-local-dev and --dev apply to re-verification, which needs --chain-registry');
      }
      const dataDir = resolve(o.dataDir);
      const me = ethers.computeAddress(privateKey);
      const { createLogger } = await import('../../logging.ts');
      const logger = createLogger({ level: 'info', name: 'qiao-attestor', ...(o.log === 'file' ? { file: join(dataDir, 'attestor.log') } : {}) });
      const { AttestorProcess, attestorGovernance } = await import('../../../relayer/attestor/process.ts');
      await (await import('../../evm/keccak.ts')).installFastKeccak();
      const gov = await attestorGovernance(rpc, set, chainRegistry ? { chainRegistry } : {});
      let snapshots: SnapshotSource | undefined;
      if (regs) {
        // Its own registry reader on its own RPC: every snapshot is recomputed here before it is signed.
        const [{ registryArtifacts }, { connectRegistries }, { buildRegistrySnapshot }] = await Promise.all([
          import('../../registries/artifacts.ts'),
          import('../../registries/index.ts'),
          import('../../registries/snapshot/builder.ts'),
        ]);
        const registries = connectRegistries(gov.provider, regs, await registryArtifacts());
        snapshots = (b: bigint) => buildRegistrySnapshot(registries, b);
      }
      const proc = AttestorProcess.start({
        privateKey,
        gov,
        recordFile: join(dataDir, `attestor-${me.toLowerCase()}.jsonl`),
        hubUrl: hub,
        finalityDepth,
        pollMs,
        lookback,
        logger,
        ...(snapshots ? { snapshots } : {}),
        ...(chainRegistry ? { reverify: { allowLocalDev: (c: string) => o.dev === true || localDev.has(c), rpcOverrides } } : {}),
      });
      console.log(`Qiao attestor ${me} running (governance chain ${gov.chainId}, hub ${new URL(hub).origin}).`);
      if (!chainRegistry) console.error('WARNING: no --chain-registry: this attestor does not re-verify message sources (a compromised committer key could get it to sign ids never sent).');
      let stopping = false;
      const stop = async (signal: string) => {
        if (stopping) return;
        stopping = true;
        console.log(`${signal}: stopping the attestor…`);
        await proc.stop();
        gov.provider.destroy();
        logger.flush();
        process.exit(0);
      };
      process.on('SIGINT', () => void stop('SIGINT'));
      process.on('SIGTERM', () => void stop('SIGTERM'));
      await proc.done;
      if (proc.halted) {
        console.error(`attestor halted: ${proc.halted}`);
        await proc.stop();
        gov.provider.destroy();
        logger.flush();
        process.exit(2);
      }
    });

  attestor
    .command('pause')
    .description('pause delivery on a port with this attestor\'s key (any single attestor of the port\'s set may; only the port admin resumes)')
    .requiredOption('--key-file <file>', 'file holding this attestor\'s signing key (0x + 64 hex)')
    .requiredOption('--port <address>', 'the port contract on the member chain')
    .requiredOption('--rpc <url>', 'the member chain\'s RPC')
    .option('--json', 'print JSON')
    .action(async (o: { keyFile: string; port: string; rpc: string; json?: boolean }) => {
      const ethers = await import('ethers');
      const privateKey = await readKeyFile(o.keyFile);
      const port = address(ethers, o.port, 'port');
      const rpcUrl = httpUrl(o.rpc, 'rpc');
      const { pausePort } = await import('../../../relayer/attestor/pause.ts');
      const r = await pausePort({ privateKey, port, rpcUrl });
      if (o.json) console.log(JSON.stringify({ port, paused: r.paused, txHash: r.receipt.hash, by: ethers.computeAddress(privateKey) }));
      else console.log(`port ${port} paused by ${ethers.computeAddress(privateKey)} (tx ${r.receipt.hash})`);
    });
}
