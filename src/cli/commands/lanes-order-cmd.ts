import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { parseChainId, parseEvmChainId } from '../../domain/caip.ts';
import { asHex, type Hex } from '../../domain/hex.ts';
import { ConfigError, ValidationError } from '../../errors.ts';
import { printJson } from '../output.ts';
import { httpUrl } from '../url-option.ts';

interface OrderOptions {
  srcChain: string;
  srcPort?: string;
  off?: boolean;
  next?: string;
  rpc?: string;
  dataDir?: string;
  governanceRpc?: string;
  json?: boolean;
}

const MAX_UINT64 = 2n ** 64n - 1n;

function nonce(v: string): bigint {
  if (!/^\d{1,20}$/.test(v) || BigInt(v) < 1n || BigInt(v) > MAX_UINT64) throw new ValidationError('next', 'must be a whole number from 1 to 2^64-1');
  return BigInt(v);
}

/** QIAO_PORT_ADMIN_KEY, or the hub's governor key (read, never created: a new key is admin of nothing). */
async function adminKey(dataDir: string): Promise<Hex> {
  if (process.env.QIAO_PORT_ADMIN_KEY) return asHex(process.env.QIAO_PORT_ADMIN_KEY, 'QIAO_PORT_ADMIN_KEY', 32);
  const file = join(dataDir, 'keys.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    throw new ConfigError('dataDir', `${dataDir} holds no hub keys: set QIAO_PORT_ADMIN_KEY or give the hub's --data-dir`, { cause });
  }
  const governor = (JSON.parse(text) as { governor?: unknown }).governor;
  return asHex(governor, `${file} governor`, 32);
}

/** The `lanes` command, shared with the other lane settings (fees): created by whichever registers first. */
function lanesCommand(program: Command): Command {
  return program.commands.find((c) => c.name() === 'lanes') ?? program.command('lanes').description('lanes between member chains: order (and fees)');
}

/**
 * `qiao lanes order <dstChain> --src-chain C [--src-port P] [--off] [--next N]`: makes the lane from a source port
 * to a destination chain ordered (the destination port delivers its messages only in nonce order) or unordered again.
 * It is the destination port's admin act (`setOrderedLane`): signed with QIAO_PORT_ADMIN_KEY, or the hub's governor
 * key, which deployed the ports the hub runs (the demo chains).
 */
export function registerLanesOrder(program: Command): void {
  lanesCommand(program)
    .command('order <dstChain>')
    .description('deliver a lane to <dstChain> only in nonce order (enforced by the destination port), or --off again')
    .requiredOption('--src-chain <caip2>', 'the source chain of the lane')
    .option('--src-port <hex>', 'the source port (default: the port the source chain is registered with)')
    .option('--off', 'make the lane unordered again')
    .option('--next <nonce>', 'the nonce the lane takes next (default 1: a lane without traffic yet; after traffic, the nonce after the last one delivered)')
    .option('--rpc <url>', "the destination chain's RPC (default: its first registered endpoint)")
    .option('--data-dir <dir>', 'data folder of the hub')
    .option('--governance-rpc <url>', 'governance chain RPC (default: the one the hub wrote to its data folder)')
    .option('--json', 'print JSON')
    .action(async (dstChain: string, o: OrderOptions) => {
      const dst = parseChainId(dstChain, 'dstChain').id;
      const src = parseChainId(o.srcChain, 'src-chain').id;
      const ordered = !o.off;
      if (o.off && o.next !== undefined) throw new ValidationError('next', 'is only for making a lane ordered');
      const next = ordered ? nonce(o.next ?? '1') : 0n;
      const explicitPort = o.srcPort === undefined ? undefined : asHex(o.srcPort.toLowerCase(), 'src-port');
      const rpc = o.rpc === undefined ? undefined : httpUrl(o.rpc, 'rpc');

      const { governance } = await import('../governance.ts');
      const gov = await governance(o.dataDir, o.governanceRpc);
      let registrations;
      try {
        registrations = await gov.client.chains();
      } finally {
        gov.close();
      }
      const dstReg = registrations.find((c) => c.chainId === dst);
      if (!dstReg) throw new ValidationError('dstChain', `${dst} is not registered`);
      if (dstReg.family !== 'evm') throw new ValidationError('dstChain', `${dst} is a ${dstReg.family} chain: ordered lanes are enforced by the EVM port only for now`);
      const srcPort: Hex = explicitPort ?? (() => {
        const srcReg = registrations.find((c) => c.chainId === src);
        if (!srcReg) throw new ValidationError('src-chain', `${src} is not registered: give --src-port`);
        return srcReg.port.toLowerCase() as Hex;
      })();
      const url = rpc ?? dstReg.endpoints[0];
      if (!url) throw new ConfigError(`chains.${dst}.endpoints`, 'the destination has no registered endpoint: give --rpc');

      const [{ Contract, Interface }, { makeProvider }, { TxSender }, { portArtifacts }, { laneKey }] = await Promise.all([
        import('ethers'),
        import('../../evm/provider.ts'),
        import('../../evm/signer.ts'),
        import('../../../adapters/evm/artifacts.ts'),
        import('../../../adapters/evm/adapter.ts'),
      ]);
      const dataDir = resolve(o.dataDir ?? process.env.QIAO_DATA_DIR ?? '.qiao');
      const key = await adminKey(dataDir);
      const iface = new Interface((await portArtifacts()).QiaoPort.abi as never);
      const provider = makeProvider(url, parseEvmChainId(dst, 'dstChain'), { pollingMs: 250 });
      try {
        const admin = new TxSender(key, provider);
        const decode = (data: string) => {
          const e = iface.parseError(data);
          return e ? { name: e.name, args: [...e.args] } : null;
        };
        const receipt = await admin.send({ to: dstReg.port, data: iface.encodeFunctionData('setOrderedLane', [src, srcPort, ordered, next]) }, decode);
        const [isOrdered, nextNonce] = (await new Contract(dstReg.port, iface, provider).getFunction('lanes')(laneKey(src, srcPort))) as [boolean, bigint];
        const out = { dstChain: dst, srcChain: src, srcPort, ordered: isOrdered, next: nextNonce.toString(), txHash: receipt.hash.toLowerCase() };
        if (o.json) return printJson(out);
        console.log(isOrdered ? `lane ${src}/${srcPort} → ${dst}: ordered, next nonce ${nextNonce} (tx ${out.txHash})` : `lane ${src}/${srcPort} → ${dst}: unordered (tx ${out.txHash})`);
      } finally {
        provider.destroy();
      }
    });
}
