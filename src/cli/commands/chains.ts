import type { Command } from 'commander';
import { listChains } from '../../api/client.ts';
import { parseChainId } from '../../domain/caip.ts';
import { CHAIN_ACTIONS, CHAIN_FAMILIES, LIGHT_CLIENT_TYPES, type ChainFamily, type LightClientType } from '../../domain/chain.ts';
import { asHex } from '../../domain/hex.ts';
import { ValidationError } from '../../errors.ts';
import type { GovernResult } from '../../governance/govern.ts';
import { resolveApiUrl } from '../api-url.ts';
import type { GovernanceConnection } from '../governance.ts';
import { printJson, printTable } from '../output.ts';

/**
 * Trust roots that are JSON (QBFT/IBFT 2.0, CometBFT) may be given as their JSON or as the hex of it;
 * every trust root with a known codec is decoded and checked before anything is sent.
 */
async function trustRootOf(lightClient: LightClientType, value: string, chainId: string): Promise<`0x${string}`> {
  const json = lightClient === 'qbft' || lightClient === 'ibft2' || lightClient === 'tendermint' || lightClient === 'eth-sync-committee' || lightClient === 'grandpa';
  const hex = json && value.trim().startsWith('{') ? (`0x${Buffer.from(value, 'utf8').toString('hex')}` as `0x${string}`) : asHex(value, 'trust-root');
  try {
    if (lightClient === 'qbft' || lightClient === 'ibft2') {
      const { decodeBftTrustRoot, encodeBftTrustRoot } = await import('../../../relayer/light/bft-trust.ts');
      return encodeBftTrustRoot(decodeBftTrustRoot(hex, chainId));
    }
    if (lightClient === 'tendermint') {
      const { decodeCometTrustRoot } = await import('../../../relayer/light/cometbft-trust.ts');
      decodeCometTrustRoot(hex, chainId);
    }
    if (lightClient === 'eth-sync-committee') {
      const { decodeBeaconTrustRoot, encodeBeaconTrustRoot } = await import('../../../relayer/light/beacon-trust.ts');
      return encodeBeaconTrustRoot(decodeBeaconTrustRoot(hex, chainId));
    }
    if (lightClient === 'grandpa') {
      // A solo chain's {height, hash, setId, authorities, runtime} or a parachain's {relay, paraId, runtime}.
      const { decodeSubstrateTrustRoot } = await import('../../../relayer/light/grandpa-trust.ts');
      decodeSubstrateTrustRoot(hex, chainId);
    }
    return hex;
  } catch (cause) {
    throw new ValidationError('trust-root', cause instanceof Error ? cause.message : `is not a valid ${lightClient} trust root`, { cause });
  }
}

/** The governance connection (ethers, artifacts) loads only when a command needs it. */
async function governance(dataDir: string | undefined, rpc: string | undefined): Promise<GovernanceConnection> {
  return (await import('../governance.ts')).governance(dataDir, rpc);
}

export function registerChains(program: Command): void {
  const chains = program.command('chains').description('member chains in the ChainRegistry');
  chains
    .command('list')
    .description('chains the hub knows, with their status')
    .option('--api <url>', 'hub API')
    .option('--data-dir <dir>', 'data folder of the hub')
    .option('--json', 'print JSON')
    .action(async (o: { api?: string; dataDir?: string; json?: boolean }) => {
      const list = await listChains(await resolveApiUrl(o));
      if (o.json) return printJson(list);
      printTable(
        list.map((c) => ({ chain: c.chainId, family: c.family, status: c.status, port: c.port, lightClient: c.lightClient, endpoints: c.endpoints.join(' ') })),
        ['chain', 'family', 'status', 'port', 'lightClient', 'endpoints'],
      );
    });
  chains
    .command('register')
    .description('submit a chain to the ChainRegistry (signed by the operator key: QIAO_GOVERNANCE_KEY or the hub governor key)')
    .requiredOption('--chain-id <caip2>', 'CAIP-2 id, e.g. eip155:10')
    .requiredOption('--genesis-hash <hex>', 'the chain genesis block hash (32 bytes)')
    .requiredOption('--port <address>', 'the Qiao port on that chain')
    .requiredOption('--rpc <url...>', 'RPC endpoints')
    .option('--family <family>', CHAIN_FAMILIES.join('|'), 'evm')
    .option('--light-client <type>', LIGHT_CLIENT_TYPES.join('|'), 'local-dev')
    .option('--trust-root <value>', 'light-client trust root: hex bytes, or for qbft/ibft2/tendermint/eth-sync-committee its JSON', '0x')
    .option('--finality-depth <n>', 'blocks below head that count as final', '2')
    .option('--instant-finality', 'a sealed block is final (QBFT/IBFT 2.0, CometBFT)')
    .option('--beacon-finality', 'blocks are final once the beacon chain finalizes them (proof-of-stake Ethereum, with --light-client eth-sync-committee)')
    .option('--governance-rpc <url>', 'governance chain RPC (default: the running hub of --data-dir)')
    .option('--data-dir <dir>', 'data folder of the hub')
    .option('--json', 'print JSON')
    .action(async (o: Record<string, string | string[] | boolean | undefined>) => {
      // Every field is validated before anything is sent.
      const chainId = parseChainId(o.chainId, 'chain-id').id;
      const family = o.family as ChainFamily;
      if (!CHAIN_FAMILIES.includes(family)) throw new ValidationError('family', `must be one of ${CHAIN_FAMILIES.join(', ')}`);
      const lightClient = o.lightClient as LightClientType;
      if (!LIGHT_CLIENT_TYPES.includes(lightClient)) throw new ValidationError('light-client', `must be one of ${LIGHT_CLIENT_TYPES.join(', ')}`);
      const depth = Number(o.finalityDepth);
      if (!Number.isInteger(depth) || depth < 0 || depth > 10_000) throw new ValidationError('finality-depth', 'must be an integer from 0 to 10000');
      const endpoints = o.rpc as string[];
      for (const e of endpoints) if (!/^(https?|wss?):\/\//.test(e)) throw new ValidationError('rpc', `"${e}" is not an http(s) or ws(s) URL`);
      if (o.port === '0x') throw new ValidationError('port', 'must not be empty');
      const reg = {
        chainId,
        family,
        genesisHash: asHex(o.genesisHash, 'genesis-hash', 32),
        port: asHex(o.port, 'port', family === 'evm' ? 20 : undefined),
        lightClient,
        trustRoot: await trustRootOf(lightClient, o.trustRoot as string, chainId),
        finality: o.beaconFinality ? ({ kind: 'beacon-finalized' } as const) : o.instantFinality ? ({ kind: 'instant' } as const) : ({ kind: 'depth', depth } as const),
        endpoints,
      };
      const g = await governance(o.dataDir as string | undefined, o.governanceRpc as string | undefined);
      try {
        const r = await g.client.submitChain(g.sender, reg);
        if (o.json) printJson({ chainId, status: 'pending', txHash: r.hash });
        else console.log(`submitted ${chainId} (tx ${r.hash}); governance must approve it: qiao chains approve ${chainId}`);
      } finally {
        g.close();
      }
    });
  const decided = (o: { json?: boolean }, chainId: string, action: string, r: GovernResult) => {
    const out = { chainId, action, executed: r.executed, proposalId: r.proposalId === 0n ? null : r.proposalId.toString(), txHash: r.txHash };
    if (o.json) return printJson(out);
    if (r.executed) console.log(`${action}: ${chainId} (tx ${r.txHash}${out.proposalId ? `, proposal ${out.proposalId}` : ''})`);
    else console.log(`${action} ${chainId}: proposal ${out.proposalId} is waiting for approvals or its timelock (qiao governance proposals; tx ${r.txHash})`);
  };
  for (const action of CHAIN_ACTIONS) {
    const emergencyAllowed = action === 'suspend' || action === 'freeze';
    const cmd = chains
      .command(`${action} <chainId>`)
      .description(`${action} a chain through the council (proposed by QIAO_GOVERNANCE_KEY or the hub governor key; executed at once when that suffices)`)
      .option('--governance-rpc <url>', 'governance chain RPC')
      .option('--data-dir <dir>', 'data folder of the hub')
      .option('--json', 'print JSON');
    if (emergencyAllowed) cmd.option('--emergency', 'the emergency path: smaller threshold, no timelock');
    cmd.action(async (id: string, o: { governanceRpc?: string; dataDir?: string; json?: boolean; emergency?: boolean }) => {
      const chainId = parseChainId(id, 'chainId').id;
      const g = await governance(o.dataDir, o.governanceRpc);
      try {
        decided(o, chainId, action, await g.client.setChainStatus(g.path, chainId, action, { emergency: !!o.emergency }));
      } finally {
        g.close();
      }
    });
  }
  chains
    .command('beacon-trust-root')
    .description('propose an eth-sync-committee trust root from a beacon node (its genesis, config and finalized block root; compare the root with another source before approving)')
    .requiredOption('--beacon <url>', 'Beacon API endpoint (also recorded as the chain\'s consensus data source)')
    .option('--json', 'print the trust root JSON instead of its hex')
    .action(async (o: { beacon: string; json?: boolean }) => {
      if (!/^https?:\/\//.test(o.beacon)) throw new ValidationError('beacon', `"${o.beacon}" is not an http(s) URL`);
      const { beaconTrustRootFromNode } = await import('../../../relayer/light/beacon-checkpoint.ts');
      const { encodeBeaconTrustRoot } = await import('../../../relayer/light/beacon-trust.ts');
      const trust = await beaconTrustRootFromNode(o.beacon);
      if (o.json) return printJson(trust);
      console.log(encodeBeaconTrustRoot(trust));
    });
  chains
    .command('reanchor <chainId>')
    .description('bring a suspended or frozen chain back to approved with a new light-client trust root (through the council)')
    .requiredOption('--trust-root <value>', 'the new trust root: hex bytes, or for qbft/ibft2 the JSON {"height","hash","validators"}')
    .option('--governance-rpc <url>', 'governance chain RPC')
    .option('--data-dir <dir>', 'data folder of the hub')
    .option('--json', 'print JSON')
    .action(async (id: string, o: { trustRoot: string; governanceRpc?: string; dataDir?: string; json?: boolean }) => {
      const chainId = parseChainId(id, 'chainId').id;
      const g = await governance(o.dataDir, o.governanceRpc);
      try {
        const reg = (await g.client.chains()).find((c) => c.chainId === chainId);
        if (!reg) throw new ValidationError('chainId', `${chainId} is not in the ChainRegistry`);
        const root = await trustRootOf(reg.lightClient, o.trustRoot, chainId);
        decided(o, chainId, 'reanchor', await g.client.reanchorChain(g.path, chainId, root));
      } finally {
        g.close();
      }
    });
}
