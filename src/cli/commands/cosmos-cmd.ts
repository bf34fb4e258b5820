import { httpUrl } from '../url-option.ts';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import type { Hex } from '../../domain/hex.ts';
import { ConfigError, ValidationError } from '../../errors.ts';
import type { HubKeys } from '../../governance/keys.ts';

interface ConnectOptions {
  rpc: string;
  contract: string;
  ibcVersion: string;
  threshold?: string;
  trustingPeriod?: string;
  unbondingPeriod?: string;
  dataDir?: string;
}

function positiveInt(v: string, field: string, max = 100 * 365 * 86400): number {
  if (!/^[1-9]\d{0,9}$/.test(v) || Number(v) > max) throw new ValidationError(field, `must be a whole number from 1 to ${max}`);
  return Number(v);
}

/** The hub's keys, read (never created: connecting a chain needs the hub's existing attestor key). */
async function hubKeys(dataDir: string): Promise<HubKeys> {
  const file = join(dataDir, 'keys.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    throw new ConfigError('dataDir', `${dataDir} holds no hub keys (start the hub once with qiao start)`, { cause });
  }
  const keys = JSON.parse(text) as Partial<HubKeys>;
  const ok = (k: unknown): k is Hex => typeof k === 'string' && /^0x[0-9a-fA-F]{64}$/.test(k);
  if (!ok(keys.relayer) || !ok(keys.attestor)) throw new ConfigError('dataDir', `${file} lacks the relayer or attestor key`);
  return keys as HubKeys;
}

export function registerCosmos(program: Command): void {
  const cosmos = program.command('cosmos').description('Cosmos (CometBFT, ibc-go) member chains');
  cosmos
    .command('connect')
    .description('open the IBC link of a Cosmos chain to the hub (solo machine client, connection, channel) and print its registration')
    .requiredOption('--rpc <url>', 'CometBFT RPC endpoint of the chain (http://host:26657)')
    .requiredOption('--contract <bech32>', 'the Qiao contract on the chain (its IBC port is wasm.<contract>)')
    .option('--ibc-version <v>', "the chain's ibc-go major version: v8|v9", 'v8')
    .option('--threshold <k>', 'attestor signatures the solo machine needs (default: all of the hub attestor keys)')
    .option('--trusting-period <seconds>', 'light-client trusting period (default: 2/3 of the unbonding period)')
    .option('--unbonding-period <seconds>', "the chain's unbonding time (default: read from the chain)")
    .option('--data-dir <dir>', 'data folder of the hub')
    .action(async (o: ConnectOptions) => {
      const rpcUrl = httpUrl(o.rpc, 'rpc');
      if (o.ibcVersion !== 'v8' && o.ibcVersion !== 'v9') throw new ValidationError('ibc-version', 'must be v8 or v9');
      if (!/^[a-z][a-z0-9]*1[02-9ac-hj-np-z]{38,90}$/.test(o.contract)) throw new ValidationError('contract', 'must be a bech32 account address (e.g. cosmos1...)');
      const dataDir = resolve(o.dataDir ?? process.env.QIAO_DATA_DIR ?? '.qiao');
      const keys = await hubKeys(dataDir);
      const attestorKeys = [keys.attestor];
      const threshold = o.threshold === undefined ? attestorKeys.length : positiveInt(o.threshold, 'threshold', attestorKeys.length);
      const trustingPeriodSeconds = o.trustingPeriod === undefined ? undefined : positiveInt(o.trustingPeriod, 'trusting-period');
      const unbondingPeriodSeconds = o.unbondingPeriod === undefined ? undefined : positiveInt(o.unbondingPeriod, 'unbonding-period');
      if (trustingPeriodSeconds !== undefined && unbondingPeriodSeconds !== undefined && trustingPeriodSeconds >= unbondingPeriodSeconds) {
        throw new ValidationError('trusting-period', 'must be shorter than the unbonding period');
      }
      const { createLogger } = await import('../../logging.ts');
      const { connectCosmosChain } = await import('../../../adapters/cosmos/connect.ts');
      const logger = createLogger({ level: 'info', name: 'qiao-cosmos-connect', file: join(dataDir, 'cosmos-connect.log') });
      const r = await connectCosmosChain({
        rpcUrl,
        signer: { key: keys.relayer },
        attestorKeys,
        threshold,
        contract: o.contract,
        ibcVersion: o.ibcVersion,
        // The same folder the hub gives its adapters: the deliverer finds the solo records and journal there.
        dataDir: join(dataDir, 'adapters'),
        logger,
        ...(trustingPeriodSeconds !== undefined ? { trustingPeriodSeconds } : {}),
        ...(unbondingPeriodSeconds !== undefined ? { unbondingPeriodSeconds } : {}),
      });
      const registration = {
        chainId: r.chainId,
        genesisHash: r.genesisHash,
        family: 'cosmos',
        lightClient: 'tendermint',
        finality: { kind: 'instant' },
        endpoints: [rpcUrl],
        port: r.port,
        trustRoot: r.trustRoot,
        link: r.link,
        register: `qiao chains register --chain-id ${r.chainId} --genesis-hash ${r.genesisHash} --port ${r.port} --rpc ${rpcUrl} --family cosmos --light-client tendermint --instant-finality --trust-root ${r.trustRoot}`,
      };
      console.log(JSON.stringify(registration, null, 2));
    });
}
