/**
 * The `_lifecycle` system chaincode, reduced to CommitChaincodeDefinition:
 * it writes the definition keys Fabric 2.x writes (namespaces/metadata/<name>,
 * namespaces/fields/<name>/{Sequence,EndorsementInfo,ValidationInfo,Collections}),
 * so a verifier can learn each chaincode's endorsement policy from the ledger.
 * Approval by each org (ApproveChaincodeDefinitionForMyOrg) and install are not modelled.
 */
import { common, peer as pb } from '@hyperledger/fabric-protos';
import { signedByAnyRole } from './config.ts';
import type { Chaincode, ChaincodeResponse, SimStub } from './stub.ts';

export const LIFECYCLE = '_lifecycle';

export function sequenceKey(name: string): string {
  return `namespaces/fields/${name}/Sequence`;
}

function stateBytes(b: Uint8Array): Uint8Array {
  const d = new pb.lifecycle.StateData();
  d.setBytes(b);
  return d.serializeBinary();
}

/** The validation parameter Fabric stores for a policy rule: MAJORITY refers to the channel's Endorsement policy. */
export function validationParameter(rule: Chaincode['endorsementPolicy'], appOrgs: string[]): Uint8Array {
  const ap = new common.ApplicationPolicy();
  if (rule === 'ANY' || rule === 'ALL') ap.setSignaturePolicy(signedByAnyRole(appOrgs, ['PEER'], rule === 'ANY' ? 1 : appOrgs.length));
  else ap.setChannelConfigPolicyReference('/Channel/Application/Endorsement');
  return ap.serializeBinary();
}

export function commitArgs(name: string, sequence: number, rule: Chaincode['endorsementPolicy'], appOrgs: string[]): Uint8Array {
  const a = new pb.lifecycle.CommitChaincodeDefinitionArgs();
  a.setSequence(sequence);
  a.setName(name);
  a.setVersion('1.0');
  a.setEndorsementPlugin('escc');
  a.setValidationPlugin('vscc');
  a.setValidationParameter(validationParameter(rule, appOrgs));
  a.setInitRequired(false);
  return a.serializeBinary();
}

/** Runs against the `_lifecycle` namespace of the simulation; only channel admins may commit definitions here. */
export async function lifecycleInvoke(stub: SimStub, fn: string, arg: Uint8Array | undefined, creatorRole: string | undefined): Promise<ChaincodeResponse> {
  if (fn !== 'CommitChaincodeDefinition') return { status: 500, message: `unknown lifecycle function ${fn}` };
  if (creatorRole !== 'admin') return { status: 500, message: 'access denied: CommitChaincodeDefinition requires an admin' };
  let a: pb.lifecycle.CommitChaincodeDefinitionArgs;
  try {
    a = pb.lifecycle.CommitChaincodeDefinitionArgs.deserializeBinary(arg ?? new Uint8Array(0));
  } catch (e) {
    return { status: 500, message: `bad CommitChaincodeDefinitionArgs: ${(e as Error).message}` };
  }
  const name = a.getName();
  const prev = await stub.getState(`namespaces/metadata/${name}`);
  const current = prev.length ? pb.lifecycle.StateData.deserializeBinary(await stub.getState(sequenceKey(name))).getInt64() : 0;
  if (a.getSequence() !== current + 1) return { status: 500, message: `requested sequence is ${a.getSequence()}, but new definition must be sequence ${current + 1}` };
  const meta = new pb.lifecycle.StateMetadata();
  meta.setDatatype('ChaincodeDefinition');
  meta.setFieldsList(['EndorsementInfo', 'ValidationInfo', 'Collections', 'Sequence']);
  const seq = new pb.lifecycle.StateData();
  seq.setInt64(a.getSequence());
  const ei = new pb.lifecycle.ChaincodeEndorsementInfo();
  ei.setVersion(a.getVersion());
  ei.setInitRequired(a.getInitRequired());
  ei.setEndorsementPlugin(a.getEndorsementPlugin());
  const vi = new pb.lifecycle.ChaincodeValidationInfo();
  vi.setValidationPlugin(a.getValidationPlugin());
  vi.setValidationParameter(a.getValidationParameter_asU8());
  await stub.putState(`namespaces/metadata/${name}`, meta.serializeBinary());
  await stub.putState(sequenceKey(name), seq.serializeBinary());
  await stub.putState(`namespaces/fields/${name}/EndorsementInfo`, stateBytes(ei.serializeBinary()));
  await stub.putState(`namespaces/fields/${name}/ValidationInfo`, stateBytes(vi.serializeBinary()));
  await stub.putState(`namespaces/fields/${name}/Collections`, stateBytes(new pb.CollectionConfigPackage().serializeBinary()));
  return { status: 200, payload: new Uint8Array(0) };
}
