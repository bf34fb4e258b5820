/** Shared set-up of the chaincode tests: one channel, the three chaincodes, attestor keys and batches made here. */
import { createHash } from 'node:crypto';
import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import { Wallet, hexlify, keccak256, toUtf8Bytes } from 'ethers';
import { QiaoEscrowContract } from '../../adapters/fabric/chaincode/escrow/contract.ts';
import { QiaoPortContract } from '../../adapters/fabric/chaincode/port/contract.ts';
import { QiaoReceiverContract } from '../../adapters/fabric/chaincode/receiver/contract.ts';
import { encodeMessage, type QiaoMessage } from '../../src/domain/message.ts';
import type { ChainId } from '../../src/domain/caip.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { createOrgCrypto } from '../servers/fabric/ca.ts';
import { FabricChannel, type TestIdentity } from './fabric-stub.ts';

export const CHANNEL = 'payments';
export const FABRIC = 'fabric:qiaonet_payments' as ChainId;
export const GOV_CHAIN_ID = 4242n;
export const GOV = `eip155:${GOV_CHAIN_ID}` as ChainId;
export const EVM = 'eip155:7' as ChainId;
export const utf8 = (s: string): Hex => hexlify(toUtf8Bytes(s)) as Hex;
export const PORT = utf8(`${CHANNEL}/qiaoport`);
export const RECEIVER = utf8('qiaoreceiver');
export const EVM_PORT = '0x' + '11'.repeat(20) as Hex;
export const TIMEOUT_AUTHORITY = '0x' + '7a'.repeat(20) as Hex;
/** The governance chain's QiaoPort: the srcPort of cancel orders. */
export const GOV_PORT = '0x' + '6b'.repeat(20) as Hex;

/** The Qiao sender of a Fabric client, computed here independently of the chaincode. */
export function senderHash(mspId: string, der: Uint8Array): Hex {
  const h = createHash('sha256').update(Buffer.from(mspId, 'utf8')).update(Buffer.from([0])).update(der).digest('hex');
  return `0x${h}` as Hex;
}

export interface Harness {
  net: FabricChannel;
  admin: TestIdentity;
  client: TestIdentity & { der: Uint8Array };
  other: TestIdentity & { der: Uint8Array };
  attestors: Wallet[];
  messageLog: string;
  threshold: number;
}

export async function makeHarness({ members = 1, threshold = 1 }: { members?: number; threshold?: number } = {}): Promise<Harness> {
  const org1 = await createOrgCrypto({ mspId: 'Org1MSP', domain: 'org1.example.com', node: 'peer' });
  const org2 = await createOrgCrypto({ mspId: 'Org2MSP', domain: 'org2.example.com', node: 'peer' });
  const net = new FabricChannel(CHANNEL);
  net.install('qiaoport', new QiaoPortContract());
  net.install('qiaoreceiver', new QiaoReceiverContract());
  net.install('qiaoescrow', new QiaoEscrowContract());
  const attestors = Array.from({ length: members }, () => new Wallet(Wallet.createRandom().privateKey));
  const messageLog = Wallet.createRandom().address;
  const admin = { mspId: 'Org1MSP', certPem: org1.admin.certPem };
  await net.submit(
    admin,
    'qiaoport',
    'init',
    JSON.stringify({
      chainId: FABRIC,
      port: PORT,
      govChainId: GOV_CHAIN_ID.toString(),
      messageLog,
      attestorSet: { setId: '1', threshold, members: attestors.map((w) => w.address) },
      timeoutAuthority: TIMEOUT_AUTHORITY,
      govPort: GOV_PORT,
    }),
  );
  return {
    net,
    admin,
    client: { mspId: 'Org1MSP', certPem: org1.client.certPem, der: org1.client.certDer },
    other: { mspId: 'Org2MSP', certPem: org2.client.certPem, der: org2.client.certDer },
    attestors,
    messageLog,
    threshold,
  };
}

export function inbound(over: Partial<QiaoMessage> = {}): QiaoMessage {
  return {
    version: 1,
    srcChain: EVM,
    srcPort: EVM_PORT,
    sender: ('0x' + '22'.repeat(20)) as Hex,
    dstChain: FABRIC,
    dstPort: PORT,
    receiver: RECEIVER,
    nonce: 1n,
    gasLimit: 100_000n,
    timeoutHeight: 0n,
    timeoutUnixSeconds: 0n,
    payload: utf8('hello'),
    ...over,
  };
}

export interface BatchOptions {
  signers?: Wallet[];
  batchNo?: bigint;
  setId?: bigint;
  /** Extra ids in the tree (other messages of the batch). */
  others?: Hex[];
  originals?: (Hex | undefined)[];
}

/** A batch as the hub's attestors would sign it: StandardMerkleTree over [bytes32 id], EIP-712 signatures. */
export async function batchOf(h: Harness, encoded: Hex[], o: BatchOptions = {}): Promise<string> {
  const ids = encoded.map((e) => keccak256(e));
  const uniq = [...new Set([...ids, ...(o.others ?? [])])];
  const tree = StandardMerkleTree.of(uniq.map((id) => [id]), ['bytes32']);
  const setId = o.setId ?? 1n;
  const batchNo = o.batchNo ?? 1n;
  const signers = o.signers ?? h.attestors.slice(0, h.threshold);
  const domain = { name: 'Qiao', version: '1', chainId: GOV_CHAIN_ID, verifyingContract: h.messageLog };
  const types = { Attestation: [{ name: 'rootType', type: 'uint8' }, { name: 'setId', type: 'uint64' }, { name: 'batchNo', type: 'uint64' }, { name: 'root', type: 'bytes32' }] };
  const signatures = await Promise.all(signers.map((w) => w.signTypedData(domain, types, { rootType: 1, setId, batchNo, root: tree.root })));
  return JSON.stringify({
    setId: setId.toString(),
    batchNo: batchNo.toString(),
    root: tree.root,
    signatures,
    items: encoded.map((e, i) => ({ encoded: e, proof: tree.getProof([keccak256(e)]), ...(o.originals?.[i] ? { original: o.originals[i] } : {}) })),
  });
}

export function enc(m: QiaoMessage): Hex {
  return encodeMessage(m);
}
