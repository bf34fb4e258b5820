/**
 * The channel's genesis config block, shaped like configtxgen's output for a
 * Fabric 2.x application channel: Channel group (hashing, orderer addresses,
 * capabilities, Readers/Writers/Admins implicit-meta), Orderer group (solo
 * consensus, batch size/timeout, BlockValidation = ANY Writers), Application
 * group (V2_0, Endorsement/LifecycleEndorsement = MAJORITY Endorsement), and
 * one group per organisation with its X.509 MSP (NodeOUs on) and signature policies.
 */
import { randomBytes } from 'node:crypto';
import { common, msp, orderer as ord } from '@hyperledger/fabric-protos';
import { createRequire } from 'node:module';

// google-protobuf ships no types; fabric-protos' own ChannelHeader.setTimestamp takes this class.
const { Timestamp } = createRequire(import.meta.url)('google-protobuf/google/protobuf/timestamp_pb.js') as {
  Timestamp: { fromDate(d: Date): never };
};
import type { FabricIdentity, OrgCrypto } from './ca.ts';
import { newBlock, signBlock, signatureHeader } from './block.ts';

const ADMINS = 'Admins';

function value(bytes: Uint8Array, modPolicy = ADMINS): common.ConfigValue {
  const v = new common.ConfigValue();
  v.setValue(bytes);
  v.setModPolicy(modPolicy);
  return v;
}

function policy(type: number, bytes: Uint8Array): common.ConfigPolicy {
  const p = new common.Policy();
  p.setType(type);
  p.setValue(bytes);
  const cp = new common.ConfigPolicy();
  cp.setPolicy(p);
  cp.setModPolicy(ADMINS);
  return cp;
}

function implicitMeta(rule: 'ANY' | 'ALL' | 'MAJORITY', sub: string): common.ConfigPolicy {
  const im = new common.ImplicitMetaPolicy();
  im.setSubPolicy(sub);
  im.setRule(common.ImplicitMetaPolicy.Rule[rule]);
  return policy(common.Policy.PolicyType.IMPLICIT_META, im.serializeBinary());
}

/** OR over `role` principals of the given MSPs (configtxgen's `OR('Org1MSP.peer', ...)`); `n` > 1 gives OutOf(n, ...). */
export function signedByAnyRole(mspIds: string[], roles: Array<'MEMBER' | 'ADMIN' | 'CLIENT' | 'PEER' | 'ORDERER'>, n = 1): common.SignaturePolicyEnvelope {
  const ids: msp.MSPPrincipal[] = [];
  const rules: common.SignaturePolicy[] = [];
  for (const mspId of mspIds) {
    for (const role of roles) {
      const r = new msp.MSPRole();
      r.setMspIdentifier(mspId);
      r.setRole(msp.MSPRole.MSPRoleType[role]);
      const p = new msp.MSPPrincipal();
      p.setPrincipalClassification(msp.MSPPrincipal.Classification.ROLE);
      p.setPrincipal(r.serializeBinary());
      const sp = new common.SignaturePolicy();
      sp.setSignedBy(ids.length);
      ids.push(p);
      rules.push(sp);
    }
  }
  const nOutOf = new common.SignaturePolicy.NOutOf();
  nOutOf.setN(n);
  nOutOf.setRulesList(rules);
  const rule = new common.SignaturePolicy();
  rule.setNOutOf(nOutOf);
  const env = new common.SignaturePolicyEnvelope();
  env.setVersion(0);
  env.setRule(rule);
  env.setIdentitiesList(ids);
  return env;
}

function signature(mspIds: string[], roles: Parameters<typeof signedByAnyRole>[1]): common.ConfigPolicy {
  return policy(common.Policy.PolicyType.SIGNATURE, signedByAnyRole(mspIds, roles).serializeBinary());
}

function ouId(caCertPem: string, ou: string): msp.FabricOUIdentifier {
  const o = new msp.FabricOUIdentifier();
  o.setCertificate(Buffer.from(caCertPem));
  o.setOrganizationalUnitIdentifier(ou);
  return o;
}

export function mspConfig(org: OrgCrypto): msp.MSPConfig {
  const f = new msp.FabricMSPConfig();
  f.setName(org.mspId);
  f.setRootCertsList([Buffer.from(org.caCertPem)]);
  const cc = new msp.FabricCryptoConfig();
  cc.setSignatureHashFamily('SHA2');
  cc.setIdentityIdentifierHashFunction('SHA256');
  f.setCryptoConfig(cc);
  const ous = new msp.FabricNodeOUs();
  ous.setEnable(true);
  ous.setClientOuIdentifier(ouId(org.caCertPem, 'client'));
  ous.setPeerOuIdentifier(ouId(org.caCertPem, 'peer'));
  ous.setAdminOuIdentifier(ouId(org.caCertPem, 'admin'));
  ous.setOrdererOuIdentifier(ouId(org.caCertPem, 'orderer'));
  f.setFabricNodeOus(ous);
  const m = new msp.MSPConfig();
  m.setType(0);
  m.setConfig(f.serializeBinary());
  return m;
}

function orgGroup(org: OrgCrypto, kind: 'peer' | 'orderer'): common.ConfigGroup {
  const g = new common.ConfigGroup();
  g.setModPolicy(ADMINS);
  g.getValuesMap().set('MSP', value(mspConfig(org).serializeBinary()));
  const p = g.getPoliciesMap();
  p.set('Readers', signature([org.mspId], kind === 'peer' ? ['ADMIN', 'PEER', 'CLIENT'] : ['MEMBER']));
  p.set('Writers', signature([org.mspId], kind === 'peer' ? ['ADMIN', 'CLIENT'] : ['MEMBER']));
  p.set('Admins', signature([org.mspId], ['ADMIN']));
  if (kind === 'peer') p.set('Endorsement', signature([org.mspId], ['PEER']));
  return g;
}

function capabilities(name: string): common.ConfigValue {
  const c = new common.Capabilities();
  c.getCapabilitiesMap().set(name, new common.Capability());
  return value(c.serializeBinary());
}

function standardPolicies(g: common.ConfigGroup): void {
  g.getPoliciesMap().set('Readers', implicitMeta('ANY', 'Readers'));
  g.getPoliciesMap().set('Writers', implicitMeta('ANY', 'Writers'));
  g.getPoliciesMap().set('Admins', implicitMeta('MAJORITY', 'Admins'));
}

export interface GenesisOptions {
  channel: string;
  peerOrgs: OrgCrypto[];
  ordererOrg: OrgCrypto;
  ordererAddress: string;
  maxMessageCount: number;
  batchTimeoutMs: number;
}

export function channelConfigGroup({ peerOrgs, ordererOrg, ordererAddress, maxMessageCount, batchTimeoutMs }: GenesisOptions): common.ConfigGroup {
  const ch = new common.ConfigGroup();
  ch.setModPolicy(ADMINS);
  standardPolicies(ch);
  const hashing = new common.HashingAlgorithm();
  hashing.setName('SHA256');
  const width = new common.BlockDataHashingStructure();
  width.setWidth(0xffffffff);
  const addrs = new common.OrdererAddresses();
  addrs.setAddressesList([ordererAddress]);
  ch.getValuesMap().set('HashingAlgorithm', value(hashing.serializeBinary()));
  ch.getValuesMap().set('BlockDataHashingStructure', value(width.serializeBinary()));
  ch.getValuesMap().set('OrdererAddresses', value(addrs.serializeBinary(), '/Channel/Orderer/Admins'));
  ch.getValuesMap().set('Capabilities', capabilities('V2_0'));

  const o = new common.ConfigGroup();
  o.setModPolicy(ADMINS);
  standardPolicies(o);
  o.getPoliciesMap().set('BlockValidation', implicitMeta('ANY', 'Writers'));
  const ct = new ord.ConsensusType();
  ct.setType('solo');
  const bs = new ord.BatchSize();
  bs.setMaxMessageCount(maxMessageCount);
  bs.setAbsoluteMaxBytes(99 * 1024 * 1024);
  bs.setPreferredMaxBytes(512 * 1024);
  const bt = new ord.BatchTimeout();
  bt.setTimeout(`${batchTimeoutMs}ms`);
  const cr = new ord.ChannelRestrictions();
  cr.setMaxCount(0);
  o.getValuesMap().set('ConsensusType', value(ct.serializeBinary()));
  o.getValuesMap().set('BatchSize', value(bs.serializeBinary()));
  o.getValuesMap().set('BatchTimeout', value(bt.serializeBinary()));
  o.getValuesMap().set('ChannelRestrictions', value(cr.serializeBinary()));
  o.getValuesMap().set('Capabilities', capabilities('V2_0'));
  o.getGroupsMap().set(ordererOrg.mspId.replace(/MSP$/, ''), orgGroup(ordererOrg, 'orderer'));

  const a = new common.ConfigGroup();
  a.setModPolicy(ADMINS);
  standardPolicies(a);
  a.getPoliciesMap().set('Endorsement', implicitMeta('MAJORITY', 'Endorsement'));
  a.getPoliciesMap().set('LifecycleEndorsement', implicitMeta('MAJORITY', 'Endorsement'));
  a.getValuesMap().set('Capabilities', capabilities('V2_0'));
  for (const org of peerOrgs) a.getGroupsMap().set(org.mspId.replace(/MSP$/, ''), orgGroup(org, 'peer'));

  ch.getGroupsMap().set('Orderer', o);
  ch.getGroupsMap().set('Application', a);
  return ch;
}

export function channelHeader(type: number, channel: string, txId: string, extension?: Uint8Array): common.ChannelHeader {
  const ch = new common.ChannelHeader();
  ch.setType(type);
  ch.setVersion(0);
  ch.setTimestamp(Timestamp.fromDate(new Date()));
  ch.setChannelId(channel);
  ch.setTxId(txId);
  ch.setEpoch(0);
  if (extension) ch.setExtension$(extension);
  return ch;
}

/** Block 0: one CONFIG envelope signed by the orderer (as `configtxgen -outputBlock` with an orderer-signed genesis). */
export function genesisBlock(opts: GenesisOptions, ordererId: FabricIdentity): common.Block {
  const config = new common.Config();
  config.setSequence(0);
  config.setChannelGroup(channelConfigGroup(opts));
  const ce = new common.ConfigEnvelope();
  ce.setConfig(config);
  const hdr = new common.Header();
  hdr.setChannelHeader(channelHeader(common.HeaderType.CONFIG, opts.channel, randomBytes(32).toString('hex')).serializeBinary());
  hdr.setSignatureHeader(signatureHeader(ordererId).serializeBinary());
  const payload = new common.Payload();
  payload.setHeader(hdr);
  payload.setData(ce.serializeBinary());
  const env = new common.Envelope();
  const pb = payload.serializeBinary();
  env.setPayload(pb);
  env.setSignature(ordererId.sign(pb));
  const block = newBlock(0n, new Uint8Array(0), [env.serializeBinary()]);
  signBlock(block, ordererId, 0n);
  return block;
}
