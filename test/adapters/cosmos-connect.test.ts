import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DirectSecp256k1Wallet } from '@cosmjs/proto-signing';
import { Comet38Client } from '@cosmjs/tendermint-rpc';
import { Channel, Order, State as ChannelState } from 'cosmjs-types/ibc/core/channel/v1/channel';
import { QueryChannelRequest, QueryChannelResponse } from 'cosmjs-types/ibc/core/channel/v1/query';
import { QueryClientStateRequest, QueryClientStateResponse } from 'cosmjs-types/ibc/core/client/v1/query';
import { State as ConnectionState } from 'cosmjs-types/ibc/core/connection/v1/connection';
import { QueryConnectionRequest, QueryConnectionResponse } from 'cosmjs-types/ibc/core/connection/v1/query';
import { ClientState as SoloClientState } from 'cosmjs-types/ibc/lightclients/solomachine/v3/solomachine';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectCosmosChain } from '../../adapters/cosmos/connect.ts';
import { soloPublicKey } from '../../adapters/cosmos/solo/keys.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { silentLogger } from '../../src/logging.ts';
import { runCliInProcess } from '../helpers/cli.ts';
import { DEFAULT_CONTRACT_ADDRESS, startCometTestServer, type CometTestServer } from '../servers/cometbft/index.ts';

const key = (): Hex => `0x${randomBytes(32).toString('hex')}`;

async function query<T>(url: string, path: string, req: Uint8Array, decode: (b: Uint8Array) => T): Promise<T> {
  const c = await Comet38Client.connect(url);
  try {
    const r = await c.abciQuery({ path, data: req });
    if (r.code) throw new Error(`${path}: code ${r.code} ${r.log ?? ''}`);
    return decode(r.value);
  } finally {
    c.disconnect();
  }
}

describe.each(['v8', 'v9'] as const)('qiao cosmos connect against the model chain (ibc-go %s)', (ibcVersion) => {
  let server: CometTestServer;
  const relayerKey = key();
  const attestorKeys = [key(), key(), key()];
  const dataDir = mkdtempSync(join(tmpdir(), 'qiao-connect-'));

  beforeAll(async () => {
    const wallet = await DirectSecp256k1Wallet.fromKey(Uint8Array.from(Buffer.from(relayerKey.slice(2), 'hex')), 'cosmos');
    const [acc] = await wallet.getAccounts();
    server = await startCometTestServer({ ibcVersion, blockTimeMs: 100, accounts: [{ address: acc!.address, coins: [{ denom: 'stake', amount: '1000000000' }] }] });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('opens client, connection and channel, and returns a registration the light client can anchor on', async () => {
    const r = await connectCosmosChain({ rpcUrl: server.url, signer: { key: relayerKey }, attestorKeys, threshold: 2, contract: server.contractAddress, ibcVersion, dataDir, logger: silentLogger() });
    expect(r.chainId).toBe(`cosmos:${server.chainId}`);
    expect(r.genesisHash).toBe(server.genesisBlockHash());
    const portText = Buffer.from(r.port.slice(2), 'hex').toString('utf8');
    expect(portText).toBe(`wasm.${server.contractAddress}/${r.channelId}`);
    expect(r.link).toEqual({ soloClientId: r.link.soloClientId, connectionId: r.link.connectionId, counterpartyConnectionId: 'connection-0', hubPort: 'qiao', hubChannel: 'channel-0' });
    expect(r.link.soloClientId).toMatch(/^06-solomachine-\d+$/);

    // The chain's view, read over RPC.
    const cs = await query(server.url, '/ibc.core.client.v1.Query/ClientState', QueryClientStateRequest.encode({ clientId: r.link.soloClientId }).finish(), QueryClientStateResponse.decode);
    const solo = SoloClientState.decode(cs.clientState!.value);
    // create at 1; ConnOpenAck consumes 3 proofs on v8 (try, client, consensus), 1 on v9; ChanOpenAck 1.
    expect(solo.sequence).toBe(ibcVersion === 'v8' ? 5n : 3n);
    expect(solo.isFrozen).toBe(false);
    expect(solo.consensusState!.publicKey).toEqual(soloPublicKey(attestorKeys, 2));
    expect(solo.consensusState!.diversifier).toBe('qiao');
    const conn = await query(server.url, '/ibc.core.connection.v1.Query/Connection', QueryConnectionRequest.encode({ connectionId: r.link.connectionId }).finish(), QueryConnectionResponse.decode);
    expect(conn.connection!.state).toBe(ConnectionState.STATE_OPEN);
    expect(conn.connection!.counterparty.connectionId).toBe('connection-0');
    const ch = await query(server.url, '/ibc.core.channel.v1.Query/Channel', QueryChannelRequest.encode({ portId: `wasm.${server.contractAddress}`, channelId: r.channelId }).finish(), QueryChannelResponse.decode);
    const channel: Channel = ch.channel!;
    expect(channel.state).toBe(ChannelState.STATE_OPEN);
    expect(channel.ordering).toBe(Order.ORDER_UNORDERED);
    expect(channel.counterparty).toEqual({ portId: 'qiao', channelId: 'channel-0' });
    expect(channel.version).toBe('qiao-1');

    const root = JSON.parse(Buffer.from(r.trustRoot.slice(2), 'hex').toString('utf8')) as Record<string, unknown>;
    expect(root.chainId).toBe(server.chainId);
    expect(root.hash).toBe(server.blockHash(root.height as number));
    expect(root.validators).toEqual(server.validatorsJson());
    expect(root.trustLevel).toEqual({ numerator: 1, denominator: 3 });
    expect(root.link).toEqual(r.link);

    // A second run resumes: the same link, no second client or channel.
    const again = await connectCosmosChain({ rpcUrl: server.url, signer: { key: relayerKey }, attestorKeys, threshold: 2, contract: server.contractAddress, ibcVersion, dataDir, logger: silentLogger() });
    expect(again.link).toEqual(r.link);
    expect(again.channelId).toBe(r.channelId);
  });
});

describe('qiao cosmos connect (the CLI) against the model chain', () => {
  let server: CometTestServer;
  const relayerKey = key();

  beforeAll(async () => {
    const wallet = await DirectSecp256k1Wallet.fromKey(Uint8Array.from(Buffer.from(relayerKey.slice(2), 'hex')), 'cosmos');
    const [acc] = await wallet.getAccounts();
    server = await startCometTestServer({ ibcVersion: 'v9', blockTimeMs: 100, accounts: [{ address: acc!.address, coins: [{ denom: 'stake', amount: '1000000000' }] }] });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('prints the registration for qiao chains register', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'qiao-connect-cli-'));
    writeFileSync(join(dir, 'keys.json'), JSON.stringify({ governor: key(), relayer: relayerKey, attestor: key() }), { mode: 0o600 });
    const r = await runCliInProcess(['cosmos', 'connect', '--rpc', server.url, '--contract', server.contractAddress, '--ibc-version', 'v9', '--data-dir', dir]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const reg = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(reg.chainId).toBe(`cosmos:${server.chainId}`);
    expect(reg.family).toBe('cosmos');
    expect(reg.lightClient).toBe('tendermint');
    expect(reg.endpoints).toEqual([server.url]);
    expect(reg.genesisHash).toBe(server.genesisBlockHash());
    expect(String(reg.register)).toContain(`--port ${String(reg.port)}`);
  });
});

describe('qiao cosmos connect option checks', () => {
  const dir = mkdtempSync(join(tmpdir(), 'qiao-connect-opts-'));
  writeFileSync(join(dir, 'keys.json'), JSON.stringify({ governor: key(), relayer: key(), attestor: key() }));
  const base = ['cosmos', 'connect', '--data-dir', dir];
  it.each([
    ['rpc', ['--rpc', 'ftp://x', '--contract', DEFAULT_CONTRACT_ADDRESS]],
    ['contract', ['--rpc', 'http://127.0.0.1:1', '--contract', '0x1234']],
    ['ibc-version', ['--rpc', 'http://127.0.0.1:1', '--contract', DEFAULT_CONTRACT_ADDRESS, '--ibc-version', 'v7']],
    ['threshold', ['--rpc', 'http://127.0.0.1:1', '--contract', DEFAULT_CONTRACT_ADDRESS, '--threshold', '2']],
    ['trusting-period', ['--rpc', 'http://127.0.0.1:1', '--contract', DEFAULT_CONTRACT_ADDRESS, '--trusting-period', 'soon']],
    ['trusting-period', ['--rpc', 'http://127.0.0.1:1', '--contract', DEFAULT_CONTRACT_ADDRESS, '--trusting-period', '100', '--unbonding-period', '50']],
  ])('refuses a bad --%s with a clear error', async (field, args) => {
    const r = await runCliInProcess([...base, ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`error [${field}]:`);
  });

  it('refuses a data folder without hub keys', async () => {
    const r = await runCliInProcess(['cosmos', 'connect', '--rpc', 'http://127.0.0.1:1', '--contract', DEFAULT_CONTRACT_ADDRESS, '--data-dir', mkdtempSync(join(tmpdir(), 'qiao-empty-'))]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('error [dataDir]:');
  });
});
