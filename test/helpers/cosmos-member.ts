import { join } from 'node:path';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { connectCosmosChain, type ConnectResult } from '../../adapters/cosmos/connect.ts';
import type { ChainId } from '../../src/domain/caip.ts';
import type { ChainRegistration } from '../../src/domain/chain.ts';
import type { Hex } from '../../src/domain/hex.ts';
import type { HubKeys } from '../../src/governance/keys.ts';
import { silentLogger } from '../../src/logging.ts';
import { secp256k1Address, startCometTestServer, type CometTestServer } from '../servers/cometbft/index.ts';
import type { TestHub } from './hub.ts';

/** The bech32 account of a secp256k1 hex key on the model chain. */
export const bech32Of = (key: Hex): string => secp256k1Address(secp256k1.getPublicKey(Buffer.from(key.slice(2), 'hex'), true));

/**
 * A CometBFT model chain whose accounts (the hub's relayer, which pays for deliveries, and the test's users) are funded at
 * genesis, connected to the hub with `connectCosmosChain` (the solo machine's records in the hub's own adapter folder), and
 * the registration that goes with it (`endpoints` defaults to the chain's RPC).
 */
export async function startCosmosMember(
  t: TestHub,
  keys: HubKeys,
  { chainId, users, coins, blockTimeMs = 300 }: { chainId: string; users: Hex[]; coins: { denom: string; amount: string }[]; blockTimeMs?: number },
): Promise<{ srv: CometTestServer; link: ConnectResult; registration: (endpoints?: string[]) => Omit<ChainRegistration, 'status'> }> {
  const srv = await startCometTestServer({ chainId, blockTimeMs, ibcVersion: 'v8', accounts: [keys.relayer, ...users].map((k) => ({ address: bech32Of(k), coins })) });
  const link = await connectCosmosChain({ rpcUrl: srv.url, signer: { key: keys.relayer }, attestorKeys: [keys.attestor], threshold: 1, contract: srv.contractAddress, ibcVersion: 'v8', dataDir: join(t.dataDir, 'adapters'), logger: silentLogger() });
  return {
    srv,
    link,
    registration: (endpoints = [srv.url]) => ({
      chainId: link.chainId as ChainId,
      family: 'cosmos',
      genesisHash: link.genesisHash,
      port: link.port,
      lightClient: 'tendermint',
      trustRoot: link.trustRoot,
      finality: { kind: 'instant' },
      endpoints,
    }),
  };
}
