import { join } from 'node:path';
import { Wallet, computeAddress, hexlify, toUtf8Bytes } from 'ethers';
import type { Gateway, Network } from 'fabric-network';
import { QiaoPortContract } from '../../adapters/fabric/chaincode/port/contract.ts';
import { QiaoReceiverContract } from '../../adapters/fabric/chaincode/receiver/contract.ts';
import { writeFabricIdentity } from '../../adapters/fabric/identity.ts';
import { decodeBlock } from '../../adapters/fabric/watch.ts';
import { encodeFabricTrustRoot } from '../../relayer/light/fabric-trust.ts';
import type { ChainId } from '../../src/domain/caip.ts';
import type { ChainRegistration } from '../../src/domain/chain.ts';
import type { Hex } from '../../src/domain/hex.ts';
import type { HubKeys } from '../../src/governance/keys.ts';
import { contractChaincode, startFabricTestNetwork, type FabricTestNetwork } from '../servers/fabric/index.ts';
import type { TestHub } from './hub.ts';

export const FABRIC_PORT = hexlify(toUtf8Bytes('payments/qiaoport')) as Hex;
export const FABRIC_RECEIVER = hexlify(toUtf8Bytes('qiaoreceiver')) as Hex;

/**
 * The Fabric model network with the port and receiver chaincode, the port configured with the hub's attestor set and the
 * attestations' EIP-712 domain (and, when the hub's governance chain is a member, its port for cancel orders), the hub's
 * client identity written where its adapter looks, and the registration (genesis config block as trust root, k = 2).
 */
export async function startFabricMember(
  t: TestHub,
  keys: HubKeys,
): Promise<{ net: FabricTestNetwork; client: { gateway: Gateway; network: Network }; chainId: ChainId; registration: Omit<ChainRegistration, 'status'> }> {
  const net = await startFabricTestNetwork({ chaincodes: { qiaoport: contractChaincode(new QiaoPortContract()), qiaoreceiver: contractChaincode(new QiaoReceiverContract()) } });
  const chainId = net.chainId as ChainId;
  const client = await net.connect('Org2MSP');
  const govPort = t.hub.governanceMember?.port;
  await client.network.getContract('qiaoport').submitTransaction(
    'init',
    JSON.stringify({
      chainId,
      port: FABRIC_PORT,
      govChainId: t.hub.governance.chainId.toString(),
      messageLog: t.hub.governance.contracts.messageLog,
      attestorSet: { setId: '1', threshold: 1, members: [computeAddress(new Wallet(keys.attestor).signingKey.publicKey)] },
      timeoutAuthority: computeAddress(new Wallet(keys.timeoutAuthority ?? keys.governor).signingKey.publicKey),
      ...(govPort ? { govPort } : {}),
    }),
  );
  const id = net.identity('Org1MSP', 'client');
  await writeFabricIdentity(join(t.dataDir, 'adapters'), chainId, { mspId: id.mspId, certificate: id.credentials.certificate, privateKey: id.credentials.privateKey });
  return {
    net,
    client,
    chainId,
    registration: {
      chainId,
      family: 'fabric',
      genesisHash: decodeBlock(net.configBlock(), 'qiaoport').hash,
      port: FABRIC_PORT,
      lightClient: 'fabric',
      trustRoot: encodeFabricTrustRoot({ channel: net.channel, chaincode: 'qiaoport', organisations: 2, configBlock: net.configBlock(), height: 0n }),
      finality: { kind: 'fabric-validated', organisations: 2 },
      endpoints: [...net.orgs.map((o) => `${o.peerUrl}?msp=${o.mspId}`), `${net.orderer.url}?msp=OrdererMSP&role=orderer`],
    },
  };
}
