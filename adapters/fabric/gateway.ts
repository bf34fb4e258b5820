import { createHash, createPrivateKey, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import * as grpc from '@grpc/grpc-js';
import { common, msp, peer as pb } from '@hyperledger/fabric-protos';
import { p256 } from '@noble/curves/nist.js';
import { DefaultEventHandlerStrategies, DefaultQueryHandlerStrategies, Gateway, Wallets, type Network, type X509Identity } from 'fabric-network';
import { RpcError } from '../../src/errors.ts';
import type { FabricEndpoint, FabricEndpoints } from './endpoints.ts';
import type { FabricClientIdentity } from './identity.ts';

// google-protobuf ships no types; fabric-protos' ChannelHeader.setTimestamp takes this class.
const { Timestamp } = createRequire(import.meta.url)('google-protobuf/google/protobuf/timestamp_pb.js') as { Timestamp: { fromDate(d: Date): never } };

const WALLET_LABEL = 'qiao-hub';
/** Blocks can be large; peers send up to 100 MiB by default. */
const GRPC_OPTIONS: grpc.ClientOptions = { 'grpc.max_receive_message_length': 100 * 1024 * 1024, 'grpc.max_send_message_length': 100 * 1024 * 1024 };

/**
 * The connection profile fabric-network reads, built from the registration's endpoints: every listed peer is an
 * endorsing, querying and event-source peer of the channel (discovery is off: the hub talks only to the nodes it registered).
 * TLS CA certificates are not part of a registration yet: grpcs:// endpoints get none (the system roots apply, if any).
 */
export function connectionProfile(e: FabricEndpoints, channel: string, clientMspId: string, { timeoutSeconds = 60 } = {}): Record<string, unknown> {
  const peerRole = { endorsingPeer: true, chaincodeQuery: true, ledgerQuery: true, eventSource: true };
  const orgs = new Map<string, string[]>();
  for (const p of e.peers) orgs.set(p.mspId, [...(orgs.get(p.mspId) ?? []), p.name]);
  if (!orgs.has(clientMspId)) orgs.set(clientMspId, []);
  return {
    name: `qiao-${channel}`,
    version: '1.0.0',
    client: { organization: clientMspId, connection: { timeout: { peer: { endorser: String(timeoutSeconds) }, orderer: String(timeoutSeconds) } } },
    channels: { [channel]: { orderers: e.orderers.map((o) => o.name), peers: Object.fromEntries(e.peers.map((p) => [p.name, peerRole])) } },
    organizations: Object.fromEntries([...orgs].map(([mspid, peers]) => [mspid, { mspid, peers }])),
    orderers: Object.fromEntries(e.orderers.map((o) => [o.name, { url: o.address }])),
    peers: Object.fromEntries(e.peers.map((p) => [p.name, { url: p.address }])),
  };
}

export interface FabricGateway {
  gateway: Gateway;
  network: Network;
}

/** A fabric-network Gateway as the hub's identity, discovery off; the identity lives in an in-memory wallet only. */
export async function connectGateway(e: FabricEndpoints, channel: string, id: FabricClientIdentity, { commitTimeoutSeconds = 120 } = {}): Promise<FabricGateway> {
  const wallet = await Wallets.newInMemoryWallet();
  const x509: X509Identity = { type: 'X.509', mspId: id.mspId, credentials: { certificate: id.certificate, privateKey: id.privateKey } };
  await wallet.put(WALLET_LABEL, x509);
  const gateway = new Gateway();
  try {
    await gateway.connect(connectionProfile(e, channel, id.mspId), {
      wallet,
      identity: WALLET_LABEL,
      discovery: { enabled: false },
      // The hub's organisation may have no peer among the registered ones: fall back to any peer.
      queryHandlerOptions: { strategy: DefaultQueryHandlerStrategies.PREFER_MSPID_SCOPE_SINGLE },
      eventHandlerOptions: { strategy: DefaultEventHandlerStrategies.PREFER_MSPID_SCOPE_ANYFORTX, commitTimeout: commitTimeoutSeconds },
    });
    return { gateway, network: await gateway.getNetwork(channel) };
  } catch (cause) {
    gateway.disconnect();
    throw new RpcError(e.peers[0]!.url, `cannot open a Fabric gateway on channel ${channel}`, { cause });
  }
}

/** One peer's answer to a proposal, as its bytes came off the wire (signed: never re-encoded). */
export interface PeerAnswer {
  bytes: Uint8Array;
  response: pb.ProposalResponse;
}

/**
 * Direct proposals to one peer (qscc queries): fabric-network decodes and re-encodes answers, and a signed
 * validation answer must reach the verifier as the peer serialized it.
 */
export class PeerClient {
  private readonly client: grpc.Client;
  private readonly creator: Uint8Array;
  private readonly secret: Uint8Array;

  constructor(
    readonly endpoint: FabricEndpoint,
    id: FabricClientIdentity,
    private readonly timeoutMs = 30_000,
  ) {
    const creds = endpoint.tls ? grpc.credentials.createSsl() : grpc.credentials.createInsecure();
    this.client = new grpc.Client(`${endpoint.host}:${endpoint.port}`, creds, GRPC_OPTIONS);
    const sid = new msp.SerializedIdentity();
    sid.setMspid(id.mspId);
    sid.setIdBytes(Buffer.from(id.certificate, 'utf8'));
    this.creator = sid.serializeBinary();
    const jwk = createPrivateKey(id.privateKey).export({ format: 'jwk' });
    this.secret = new Uint8Array(Buffer.from(jwk.d!, 'base64url'));
  }

  /** A signed proposal invoking `chaincode` with `args` on `channel` (txid = hex sha256(nonce || creator), as Fabric checks). */
  signedProposal(channel: string, chaincode: string, args: string[]): Uint8Array {
    const nonce = randomBytes(24);
    const txId = createHash('sha256').update(nonce).update(this.creator).digest('hex');
    const ccid = new pb.ChaincodeID();
    ccid.setName(chaincode);
    const ext = new pb.ChaincodeHeaderExtension();
    ext.setChaincodeId(ccid);
    const ch = new common.ChannelHeader();
    ch.setType(common.HeaderType.ENDORSER_TRANSACTION);
    ch.setChannelId(channel);
    ch.setTxId(txId);
    ch.setExtension$(ext.serializeBinary());
    ch.setTimestamp(Timestamp.fromDate(new Date()));
    const sh = new common.SignatureHeader();
    sh.setCreator(this.creator);
    sh.setNonce(nonce);
    const header = new common.Header();
    header.setChannelHeader(ch.serializeBinary());
    header.setSignatureHeader(sh.serializeBinary());
    const input = new pb.ChaincodeInput();
    input.setArgsList(args.map((a) => Buffer.from(a, 'utf8')));
    const spec = new pb.ChaincodeSpec();
    spec.setType(pb.ChaincodeSpec.Type.NODE);
    spec.setChaincodeId(ccid);
    spec.setInput(input);
    const cis = new pb.ChaincodeInvocationSpec();
    cis.setChaincodeSpec(spec);
    const cpp = new pb.ChaincodeProposalPayload();
    cpp.setInput(cis.serializeBinary());
    const prop = new pb.Proposal();
    prop.setHeader(header.serializeBinary());
    prop.setPayload(cpp.serializeBinary());
    const bytes = prop.serializeBinary();
    const signed = new pb.SignedProposal();
    signed.setProposalBytes(bytes);
    // Fabric refuses high-S ECDSA signatures.
    signed.setSignature(p256.sign(bytes, this.secret, { lowS: true, format: 'der' }));
    return signed.serializeBinary();
  }

  /** Sends a proposal; the peer's answer whatever its status (the caller decides what a refusal means). */
  propose(channel: string, chaincode: string, args: string[]): Promise<PeerAnswer> {
    const req = this.signedProposal(channel, chaincode, args);
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        '/protos.Endorser/ProcessProposal',
        (b: Uint8Array) => Buffer.from(b),
        (b: Buffer) => new Uint8Array(b),
        req,
        new grpc.Metadata(),
        { deadline: Date.now() + this.timeoutMs },
        (err, bytes) => {
          if (err || !bytes) return reject(new RpcError(this.endpoint.url, `ProcessProposal ${chaincode} ${args[0] ?? ''} failed`, { cause: err }));
          try {
            resolve({ bytes, response: pb.ProposalResponse.deserializeBinary(bytes) });
          } catch (cause) {
            reject(new RpcError(this.endpoint.url, 'answered with bytes that are not a ProposalResponse', { cause }));
          }
        },
      );
    });
  }

  /** A qscc query's payload; a refusal (status >= 400) is an RpcError naming the peer. */
  async qscc(channel: string, fn: string, args: string[]): Promise<Uint8Array> {
    const a = await this.propose(channel, 'qscc', [fn, ...args]);
    const r = a.response.getResponse();
    if (!r || r.getStatus() >= 400) throw new RpcError(this.endpoint.url, `qscc ${fn}(${args.join(', ')}) refused: ${r?.getStatus() ?? 'no response'} ${r?.getMessage() ?? ''}`);
    return r.getPayload_asU8();
  }

  close(): void {
    this.client.close();
  }
}
