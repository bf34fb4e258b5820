/**
 * A minimal Fabric client (what fabric-common does): build and sign a proposal,
 * and assemble the endorsed transaction envelope for the orderer. The network
 * uses it to commit `_lifecycle` chaincode definitions at start; tests may use it
 * to talk to peers without fabric-network.
 */
import { randomBytes } from 'node:crypto';
import { common, peer as pb } from '@hyperledger/fabric-protos';
import type { FabricIdentity } from './ca.ts';
import { channelHeader } from './config.ts';
import { sha256 } from './block.ts';

export interface BuiltProposal {
  txId: string;
  signed: pb.SignedProposal;
  header: common.Header;
  /** ChaincodeProposalPayload bytes without the transient map (what the transaction carries). */
  payloadNoTransient: Uint8Array;
}

export function buildProposal(creator: FabricIdentity, channel: string, chaincode: string, args: Array<string | Uint8Array>): BuiltProposal {
  const nonce = randomBytes(24);
  const txId = Buffer.from(sha256(nonce, creator.serialized)).toString('hex');
  const ccid = new pb.ChaincodeID();
  ccid.setName(chaincode);
  const ext = new pb.ChaincodeHeaderExtension();
  ext.setChaincodeId(ccid);
  const sh = new common.SignatureHeader();
  sh.setCreator(creator.serialized);
  sh.setNonce(nonce);
  const header = new common.Header();
  header.setChannelHeader(channelHeader(common.HeaderType.ENDORSER_TRANSACTION, channel, txId, ext.serializeBinary()).serializeBinary());
  header.setSignatureHeader(sh.serializeBinary());
  const input = new pb.ChaincodeInput();
  input.setArgsList(args.map((a) => (typeof a === 'string' ? Buffer.from(a) : a)));
  const spec = new pb.ChaincodeSpec();
  spec.setType(pb.ChaincodeSpec.Type.NODE);
  spec.setChaincodeId(ccid);
  spec.setInput(input);
  const cis = new pb.ChaincodeInvocationSpec();
  cis.setChaincodeSpec(spec);
  const cpp = new pb.ChaincodeProposalPayload();
  cpp.setInput(cis.serializeBinary());
  const payloadNoTransient = cpp.serializeBinary();
  const prop = new pb.Proposal();
  prop.setHeader(header.serializeBinary());
  prop.setPayload(payloadNoTransient);
  const signed = new pb.SignedProposal();
  const bytes = prop.serializeBinary();
  signed.setProposalBytes(bytes);
  signed.setSignature(creator.sign(bytes));
  return { txId, signed, header, payloadNoTransient };
}

/** The envelope fabric-common's Commit.build makes: one action, every endorsement, the first response's payload. */
export function buildTransaction(creator: FabricIdentity, p: BuiltProposal, responses: pb.ProposalResponse[]): common.Envelope {
  const good = responses.filter((r) => r.getResponse() && r.getResponse()!.getStatus() < 400 && r.getEndorsement());
  if (good.length === 0) throw new Error(`no successful endorsements: ${responses.map((r) => r.getResponse()?.getMessage()).join('; ')}`);
  const ea = new pb.ChaincodeEndorsedAction();
  ea.setProposalResponsePayload(good[0]!.getPayload_asU8());
  ea.setEndorsementsList(good.map((r) => r.getEndorsement()!));
  const cap = new pb.ChaincodeActionPayload();
  cap.setAction(ea);
  cap.setChaincodeProposalPayload(p.payloadNoTransient);
  const ta = new pb.TransactionAction();
  ta.setHeader(p.header.getSignatureHeader_asU8());
  ta.setPayload(cap.serializeBinary());
  const tx = new pb.Transaction();
  tx.setActionsList([ta]);
  const payload = new common.Payload();
  payload.setHeader(p.header);
  payload.setData(tx.serializeBinary());
  const bytes = payload.serializeBinary();
  const env = new common.Envelope();
  env.setPayload(bytes);
  env.setSignature(creator.sign(bytes));
  return env;
}
