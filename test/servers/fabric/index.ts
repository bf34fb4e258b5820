/**
 * A Hyperledger Fabric test network in one process: N peer organisations with
 * one peer each, a solo orderer, one channel with a real genesis config block,
 * over plaintext gRPC — enough for fabric-network 2.2 (discovery off) to submit,
 * evaluate and listen, and for a verifier to check real blocks and signed
 * qscc answers. See README.md for what is modelled and what is simplified.
 */
import { p256 } from '@noble/curves/nist.js';
import type { Logger } from 'pino';
import { silentLogger } from '../../../src/logging.ts';
import { createOrgCrypto, type FabricIdentity, type OrgCrypto } from './ca.ts';
import { genesisBlock } from './config.ts';
import { cloneBlock, signBlock } from './block.ts';
import { ChannelMsps } from './identity.ts';
import { Orderer } from './orderer.ts';
import { Peer } from './peer.ts';
import { buildProposal, buildTransaction } from './client.ts';
import { LIFECYCLE, commitArgs, sequenceKey } from './lifecycle.ts';
import type { Chaincode } from './stub.ts';
import { peer as pb } from '@hyperledger/fabric-protos';
import { Gateway, Wallets, type Network, type Wallet, type X509Identity } from 'fabric-network';

export { contractChaincode } from './contract.ts';
export type { Chaincode, ChaincodeResponse, SimStub } from './stub.ts';
export type { FabricIdentity, OrgCrypto } from './ca.ts';

export interface FabricTestNetworkOptions {
  /** Network name in the chain id `fabric:<network>_<channel>`. */
  network?: string;
  channel?: string;
  /** Number of peer organisations (Org1MSP … OrgNMSP), one peer each. */
  orgs?: number;
  chaincodes?: Record<string, Chaincode>;
  /** Block cutting: at most this many envelopes per block … */
  maxMessageCount?: number;
  /** … or this long after the first pending envelope. */
  batchTimeoutMs?: number;
  host?: string;
  log?: Logger;
}

/** fabric-network's X509Identity shape, ready for `wallet.put(label, identity)`. */
export interface X509WalletIdentity {
  credentials: { certificate: string; privateKey: string };
  mspId: string;
  type: 'X.509';
}

export interface FabricOrgInfo {
  name: string;
  mspId: string;
  peerName: string;
  peerUrl: string;
  caCertPem: string;
  crypto: OrgCrypto;
}

export interface FabricTestNetwork {
  network: string;
  channel: string;
  /** CAIP-2 `fabric:<network>_<channel>`. */
  chainId: string;
  orgs: FabricOrgInfo[];
  orderer: { name: string; url: string; mspId: string; caCertPem: string; crypto: OrgCrypto };
  peers: Peer[];
  ordererNode: Orderer;
  /** A connection profile for fabric-network's Gateway as `org`'s client (default the first org); discovery must be off. */
  connectionProfile(mspId?: string): Record<string, unknown>;
  /** The client identity of an org (`role: 'admin'` for its admin). */
  identity(mspId: string, role?: 'client' | 'admin'): X509WalletIdentity;
  /** An in-memory fabric-network wallet holding every org's client and admin as `<mspId>-client` / `<mspId>-admin`. */
  wallet(): Promise<Wallet>;
  /** A Gateway connected as `mspId`'s client (discovery off), and the channel's Network. Disconnect it when done. */
  connect(mspId?: string, role?: 'client' | 'admin'): Promise<{ gateway: Gateway; network: Network }>;
  /**
   * Every peer's signed answer to qscc GetTransactionByID(channel, txId), asked in process as
   * `asMspId`'s client: serialized peer.ProposalResponse bytes (faults applied).
   */
  validationAnswers(txId: string, asMspId?: string): Promise<Array<{ peer: string; mspId: string; proposalResponse: Uint8Array }>>;
  /** The genesis config block (serialized common.Block). */
  configBlock(): Uint8Array;
  /** Every block as a peer committed it (TRANSACTIONS_FILTER set); default the first peer. */
  blocks(peerName?: string): Uint8Array[];
  height(peerName?: string): number;
  /** Resolves when every block cut so far is committed on every peer. */
  settled(): Promise<void>;
  faults: {
    /** `peer` reports `code` (default VALID) for `txId` in qscc answers and served blocks, whatever it committed. */
    flipValidation(peer: string, txId: string, code?: number): void;
    /** Orderer and peers serve block `n` with SIGNATURES/LAST_CONFIG signed by a key that is not the orderer's. */
    forgeOrdererSignature(n: number): void;
    /** `peer` signs its endorsements with a foreign key from now on (on=false to stop). */
    forgeEndorsement(peer: string, on?: boolean): void;
  };
  stop(): Promise<void>;
}

function rogueSigner(of: FabricIdentity): FabricIdentity {
  const sk = p256.utils.randomSecretKey();
  return { ...of, sign: (m) => p256.sign(m, sk, { lowS: true, format: 'der' }) };
}

/** Commits a `_lifecycle` definition (sequence 1) per chaincode, endorsed by every peer, in block 1. */
async function defineChaincodes({ channel, admin, peers, orderer, chaincodes, appOrgs }: { channel: string; admin: FabricIdentity; peers: Peer[]; orderer: Orderer; chaincodes: Record<string, Chaincode>; appOrgs: string[] }): Promise<void> {
  const names = Object.keys(chaincodes).sort();
  if (names.length === 0) return;
  const envelopes = [];
  for (const name of names) {
    const p = buildProposal(admin, channel, LIFECYCLE, ['CommitChaincodeDefinition', commitArgs(name, 1, chaincodes[name]!.endorsementPolicy, appOrgs)]);
    const responses = await Promise.all(peers.map((peer) => peer.processProposal(p.signed)));
    envelopes.push({ name, env: buildTransaction(admin, p, responses) });
  }
  // Admitted in one synchronous run so the batch timer cannot split them: block 1 holds every definition.
  for (const { name, env } of envelopes) {
    const admitted = orderer.admit(env);
    if (admitted.status !== 200) throw new Error(`chaincode definition for ${name} refused by the orderer: ${admitted.info}`);
  }
  const deadline = Date.now() + 30_000;
  while (!peers.every((peer) => names.every((n) => peer.state.get(LIFECYCLE)?.has(sequenceKey(n))))) {
    if (Date.now() > deadline) throw new Error('chaincode definitions were not committed');
    await new Promise((r) => setTimeout(r, 10));
  }
}

export async function startFabricTestNetwork({
  network = 'qiaonet',
  channel = 'payments',
  orgs = 2,
  chaincodes = {},
  maxMessageCount = 10,
  batchTimeoutMs = 100,
  host = '127.0.0.1',
  log = silentLogger(),
}: FabricTestNetworkOptions = {}): Promise<FabricTestNetwork> {
  const peerOrgs: OrgCrypto[] = [];
  for (let i = 1; i <= orgs; i++) peerOrgs.push(await createOrgCrypto({ mspId: `Org${i}MSP`, domain: `org${i}.example.com`, node: 'peer' }));
  const ordererOrg = await createOrgCrypto({ mspId: 'OrdererMSP', domain: 'example.com', node: 'orderer' });
  const ordererId = ordererOrg.orderer!;
  const msps = new ChannelMsps([...peerOrgs, ordererOrg]);
  const appOrgs = peerOrgs.map((o) => o.mspId);

  const peers = peerOrgs.map((org) => new Peer({ name: `peer0.${org.domain}`, org, channel, msps, appOrgs, chaincodes, log }));
  for (const p of peers) await p.start(host);

  const orderer = new Orderer({
    channel,
    identity: ordererId,
    msps,
    maxMessageCount,
    batchTimeoutMs,
    onBlock: async (b) => {
      await Promise.all(peers.map((p) => p.receive(b)));
    },
    log,
  });
  const ordererPort = await orderer.start(host);
  const genesis = genesisBlock({ channel, peerOrgs, ordererOrg, ordererAddress: `${host}:${ordererPort}`, maxMessageCount, batchTimeoutMs }, ordererId);
  orderer.bootstrap(genesis);
  for (const p of peers) await p.receive(genesis);
  await defineChaincodes({ channel, admin: peerOrgs[0]!.admin, peers, orderer, chaincodes, appOrgs });

  const orgInfos: FabricOrgInfo[] = peerOrgs.map((o, i) => ({
    name: o.mspId.replace(/MSP$/, ''),
    mspId: o.mspId,
    peerName: peers[i]!.name,
    peerUrl: `grpc://${host}:${peers[i]!.port}`,
    caCertPem: o.caCertPem,
    crypto: o,
  }));
  const ordererInfo = { name: 'orderer.example.com', url: `grpc://${host}:${ordererPort}`, mspId: ordererOrg.mspId, caCertPem: ordererOrg.caCertPem, crypto: ordererOrg };
  const peerByName = (name?: string): Peer => {
    const p = name === undefined ? peers[0] : peers.find((x) => x.name === name || x.mspId === name);
    if (!p) throw new Error(`no peer ${name}`);
    return p;
  };

  const o = orderer;
  const api: FabricTestNetwork = {
    network,
    channel,
    chainId: `fabric:${network}_${channel}`,
    orgs: orgInfos,
    orderer: ordererInfo,
    peers,
    ordererNode: o,
    connectionProfile(mspId = orgInfos[0]!.mspId) {
      const me = orgInfos.find((x) => x.mspId === mspId);
      if (!me) throw new Error(`no organisation ${mspId}`);
      const peerRole = { endorsingPeer: true, chaincodeQuery: true, ledgerQuery: true, eventSource: true };
      return {
        name: `${network}-${me.name.toLowerCase()}`,
        version: '1.0.0',
        client: { organization: me.name, connection: { timeout: { peer: { endorser: '30' }, orderer: '30' } } },
        channels: { [channel]: { orderers: [ordererInfo.name], peers: Object.fromEntries(orgInfos.map((x) => [x.peerName, peerRole])) } },
        organizations: Object.fromEntries(orgInfos.map((x) => [x.name, { mspid: x.mspId, peers: [x.peerName] }])),
        orderers: { [ordererInfo.name]: { url: ordererInfo.url, mspid: ordererInfo.mspId } },
        peers: Object.fromEntries(orgInfos.map((x) => [x.peerName, { url: x.peerUrl }])),
      };
    },
    identity(mspId, role = 'client') {
      const org = peerOrgs.find((x) => x.mspId === mspId);
      if (!org) throw new Error(`no organisation ${mspId}`);
      const id = role === 'admin' ? org.admin : org.client;
      return { credentials: { certificate: id.certPem, privateKey: id.privateKeyPem }, mspId, type: 'X.509' };
    },
    async wallet() {
      const w = await Wallets.newInMemoryWallet();
      for (const org of peerOrgs) {
        for (const role of ['client', 'admin'] as const) {
          const id = role === 'admin' ? org.admin : org.client;
          const x509: X509Identity = { credentials: { certificate: id.certPem, privateKey: id.privateKeyPem }, mspId: org.mspId, type: 'X.509' };
          await w.put(`${org.mspId}-${role}`, x509);
        }
      }
      return w;
    },
    async connect(mspId = orgInfos[0]!.mspId, role = 'client') {
      const gateway = new Gateway();
      await gateway.connect(api.connectionProfile(mspId), { wallet: await api.wallet(), identity: `${mspId}-${role}`, discovery: { enabled: false } });
      return { gateway, network: await gateway.getNetwork(channel) };
    },
    async validationAnswers(txId, asMspId = orgInfos[0]!.mspId) {
      const org = peerOrgs.find((x) => x.mspId === asMspId);
      if (!org) throw new Error(`no organisation ${asMspId}`);
      const p = buildProposal(org.client, channel, 'qscc', ['GetTransactionByID', channel, txId]);
      return Promise.all(peers.map(async (x) => ({ peer: x.name, mspId: x.mspId, proposalResponse: (await x.processProposal(p.signed)).serializeBinary() })));
    },
    configBlock: () => genesis.serializeBinary(),
    blocks: (peerName) => peerByName(peerName).store.all().map((_, n) => peerByName(peerName).servedBlock(n).serializeBinary()),
    height: (peerName) => peerByName(peerName).store.height,
    settled: () => o.settled(),
    faults: {
      flipValidation(peer, txId, code = pb.TxValidationCode.VALID) {
        peerByName(peer).faults.flipped.set(txId, code);
      },
      forgeOrdererSignature(n) {
        const rogue = rogueSigner(ordererId);
        const forge = (b: ReturnType<Orderer['served']>) => {
          const c = cloneBlock(b);
          signBlock(c, ordererId, 0n, { forgeWith: rogue });
          return c;
        };
        const ob = o.store.get(n);
        if (!ob) throw new Error(`block ${n} does not exist yet`);
        o.forgedBlocks.set(n, forge(ob));
        for (const p of peers) {
          const pbk = p.store.get(n);
          if (pbk) p.faults.forgedBlocks.set(n, forge(pbk));
        }
      },
      forgeEndorsement(peer, on = true) {
        const p = peerByName(peer);
        p.faults.endorseWith = on ? rogueSigner(p.identity) : null;
      },
    },
    async stop() {
      await o.stop();
      for (const p of peers) await p.stop();
    },
  };
  return api;
}
