import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { ConfigError, ValidationError } from '../../errors.ts';
import type { GovernPath } from '../../governance/govern.ts';
import type { LaneFeeClient } from '../../governance/lane-fees.ts';
import { printJson, printTable } from '../output.ts';
import { governLine, governView } from './issuers-cmd.ts';
import { registryOptions, type RegistryCliOptions } from './identity-cmd.ts';

interface LaneFeeCli {
  fees: LaneFeeClient;
  governance(): Promise<GovernPath>;
  close(): void;
}

/** The LaneFeeRegistry of the hub that owns --data-dir, and the caller's governance path (your key, or the hub's governor key through the council). */
async function connect(o: RegistryCliOptions): Promise<LaneFeeCli> {
  const [{ loadState }, { makeProvider }, { TxSender }, { directGovernance }, { loadOrCreateKeys }, { LaneFeeClient }, { readFile }] = await Promise.all([
    import('../../main/state.ts'),
    import('../../evm/provider.ts'),
    import('../../evm/signer.ts'),
    import('../../governance/govern.ts'),
    import('../../governance/keys.ts'),
    import('../../governance/lane-fees.ts'),
    import('node:fs/promises'),
  ]);
  const dir = resolve(o.dataDir ?? process.env.QIAO_DATA_DIR ?? '.qiao');
  const state = await loadState(join(dir, 'hub.json'));
  const c = state.governance?.contracts;
  if (!state.governance || !c) throw new ConfigError('dataDir', `${dir} holds no hub (start one with qiao start)`);
  if (!c.laneFeeRegistry) throw new ConfigError('dataDir', `${dir} holds no lane fee registry: start the hub once (qiao start) to deploy it`);
  const url = o.governanceRpc ?? state.governanceUrl;
  if (!url) throw new ConfigError('governance.rpc', 'no governance RPC known: pass --governance-rpc');
  const provider = makeProvider(url, BigInt(state.governance.chainId));
  const fees = new LaneFeeClient(provider, c.laneFeeRegistry);
  return {
    fees,
    async governance() {
      let key = process.env.QIAO_GOVERNANCE_KEY;
      if (o.keyFile !== undefined) {
        key = (await readFile(o.keyFile, 'utf8').catch((cause: unknown) => {
          throw new ValidationError('key-file', `cannot read ${o.keyFile}`, { cause });
        })).trim();
      }
      key ??= (await loadOrCreateKeys(join(dir, 'keys.json'))).keys.governor;
      if (!/^0x[0-9a-fA-F]{64}$/.test(key)) throw new ValidationError('key-file', 'must hold one private key: 0x and 64 hex digits');
      const sender = new TxSender(key, provider);
      const governor = ((await fees.contract.getFunction('governor')()) as string).toLowerCase();
      if (governor === sender.address.toLowerCase()) return directGovernance(sender);
      if (c.council && governor === c.council.toLowerCase()) {
        const [{ CouncilClient, councilGovernance }, { governanceArtifacts }] = await Promise.all([import('../../governance/council.ts'), import('../../governance/artifacts.ts')]);
        return councilGovernance(new CouncilClient(provider, c.council, (await governanceArtifacts()).Council), sender);
      }
      throw new ValidationError('key-file', `lane fees are governed by ${governor}; key ${sender.address} is neither that key nor acting through the hub's council`);
    },
    close: () => provider.destroy(),
  };
}

async function withLaneFees<T>(o: RegistryCliOptions, f: (c: LaneFeeCli) => Promise<T>): Promise<T> {
  const c = await connect(o);
  try {
    return await f(c);
  } finally {
    c.close();
  }
}

export function registerLanes(program: Command): void {
  const lanes = program.command('lanes').description('lanes between member chains: fees set through governance (issue 5)');
  const fee = lanes.command('fee').description('per-lane fees, paid at the source port; the relayer holds a lane whose destination gas price passes the bound');

  registryOptions(
    fee
      .command('set <srcChain> <dstChain>')
      .description('set a lane\'s fee (governance: QIAO_GOVERNANCE_KEY, --key-file, or the hub governor key through the council)')
      .requiredOption('--fee <amount>', 'per message, in the source chain\'s native token: wei, or e.g. "2 gwei", "0.001 ether"; 0 = free')
      .option('--max-dst-gas-price <amount>', 'the destination gas price (wei/gas, or e.g. "50 gwei") the fee covers; 0 = no bound', '0'),
  ).action(async (srcChain: string, dstChain: string, o: RegistryCliOptions & { fee: string; maxDstGasPrice: string }) => {
    const [{ chainId }, { parseWei }] = await Promise.all([import('../../domain/caip.ts'), import('../../governance/lane-fees.ts')]);
    // Checked before connecting: a typo never reaches the chain.
    const src = chainId(srcChain, 'srcChain');
    const dst = chainId(dstChain, 'dstChain');
    const amount = parseWei(o.fee, 'fee');
    const max = parseWei(o.maxDstGasPrice, 'max-dst-gas-price');
    await withLaneFees(o, async (c) => {
      const res = await c.fees.set(await c.governance(), { srcChain: src, dstChain: dst, fee: amount, maxDstGasPrice: max });
      if (o.json) return printJson({ srcChain: src, dstChain: dst, fee: amount, maxDstGasPrice: max, ...governView(res) });
      console.log(`lane ${src} > ${dst}: fee ${amount} wei, covers up to ${max === 0n ? 'any gas price' : `${max} wei/gas`} (${governLine(res)})`);
      console.log('The hub carries it to the source port with the next registry snapshot.');
    });
  });

  registryOptions(fee.command('list').description('every lane fee governance set'), { key: false }).action(async (o: RegistryCliOptions) => {
    await withLaneFees(o, async (c) => {
      const all = await c.fees.list();
      if (o.json) return printJson(all);
      printTable(
        all.map((f) => ({ lane: `${f.srcChain} > ${f.dstChain}`, fee: `${f.fee} wei`, maxDstGasPrice: f.maxDstGasPrice === 0n ? 'any' : `${f.maxDstGasPrice} wei/gas`, updated: new Date(Number(f.updatedAt) * 1000).toISOString() })),
        ['lane', 'fee', 'maxDstGasPrice', 'updated'],
      );
    });
  });
}
