/**
 * A channel configuration (common.Config from a config block): its MSPs and
 * its policies, resolved into evaluable trees by path
 * (`/Channel/Orderer/BlockValidation`, `/Channel/Application/Endorsement`, ...).
 */
import { bytesField, decode, intField, mapField, numField, type PbFields } from './pb.ts';
import { parseMspConfig, type Msp, type MspSet } from './msp.ts';
import { parseImplicitMeta, parseSignaturePolicyEnvelope, type Policy } from './policy.ts';
import { decodeEnvelope, HEADER_TYPE_CONFIG } from './tx.ts';
import type { FabricBlock } from './block.ts';

interface Group {
  groups: Map<string, Group>;
  values: Map<string, Uint8Array>;
  policies: Map<string, Uint8Array>;
}

export interface ChannelConfig {
  channelId: string;
  sequence: bigint;
  msps: MspSet;
  /** Application org group name → its MSP id. */
  applicationOrgs: Map<string, string>;
  ordererOrgs: Map<string, string>;
  /** Looks a policy up by absolute path; a missing one is a rejecting policy, as in Fabric. */
  policy(path: string): Policy;
  hasPolicy(path: string): boolean;
}

function parseGroup(bytes: Uint8Array, depth = 0): Group {
  if (depth > 16) throw new Error('config groups nested too deeply');
  const m: PbFields = decode(bytes);
  const groups = new Map<string, Group>();
  for (const [k, v] of mapField(m, 2)) groups.set(k, parseGroup(v, depth + 1));
  const values = new Map<string, Uint8Array>();
  for (const [k, v] of mapField(m, 3)) values.set(k, bytesField(decode(v), 2));
  const policies = new Map<string, Uint8Array>();
  for (const [k, v] of mapField(m, 4)) policies.set(k, bytesField(decode(v), 2));
  return { groups, values, policies };
}

function resolve(group: Group, name: string, depth: number): Policy {
  const raw = group.policies.get(name);
  if (!raw) return { type: 'reject', why: `no policy ${name}` };
  const p = decode(raw);
  const type = numField(p, 1);
  const value = bytesField(p, 2);
  if (type === 1) return parseSignaturePolicyEnvelope(value);
  if (type === 3) {
    if (depth > 16) return { type: 'reject', why: 'implicit meta nested too deeply' };
    const { subPolicy, rule } = parseImplicitMeta(value);
    const subs = [...group.groups.values()].map((g) => resolve(g, subPolicy, depth + 1));
    return { type: 'implicit', rule, subPolicy, subs };
  }
  return { type: 'reject', why: `unsupported policy type ${type}` };
}

function collectMsps(g: Group, msps: MspSet, names: Map<string, string>): void {
  for (const [name, org] of g.groups) {
    const raw = org.values.get('MSP');
    if (!raw) continue;
    const msp: Msp | null = parseMspConfig(raw);
    if (!msp) continue;
    msps.set(msp.id, msp);
    names.set(name, msp.id);
  }
}

/** Parses a common.Config. Throws on malformed bytes. */
export function parseConfig(configBytes: Uint8Array, channelId: string): ChannelConfig {
  const c = decode(configBytes);
  const root = parseGroup(bytesField(c, 2));
  const msps: MspSet = new Map();
  const applicationOrgs = new Map<string, string>();
  const ordererOrgs = new Map<string, string>();
  const app = root.groups.get('Application');
  const ord = root.groups.get('Orderer');
  if (app) collectMsps(app, msps, applicationOrgs);
  if (ord) collectMsps(ord, msps, ordererOrgs);
  const consortiums = root.groups.get('Consortiums');
  for (const cons of consortiums?.groups.values() ?? []) collectMsps(cons, msps, new Map());
  const cache = new Map<string, Policy>();
  const lookup = (path: string): { group: Group; name: string } | null => {
    const parts = path.split('/').filter(Boolean);
    if (parts[0] !== 'Channel' || parts.length < 2) return null;
    let g: Group | undefined = root;
    for (const p of parts.slice(1, -1)) g = g?.groups.get(p);
    return g ? { group: g, name: parts[parts.length - 1]! } : null;
  };
  return {
    channelId,
    sequence: intField(c, 1),
    msps,
    applicationOrgs,
    ordererOrgs,
    hasPolicy: (path) => {
      const l = lookup(path);
      return !!l && l.group.policies.has(l.name);
    },
    policy: (path) => {
      const hit = cache.get(path);
      if (hit) return hit;
      const l = lookup(path);
      const p: Policy = l ? resolve(l.group, l.name, 0) : { type: 'reject', why: `no group for ${path}` };
      cache.set(path, p);
      return p;
    },
  };
}

/** The channel config a config block carries (the block's single CONFIG envelope). */
export function configFromBlock(block: FabricBlock): ChannelConfig {
  if (block.data.length !== 1) throw new Error('a config block holds exactly one envelope');
  const env = decodeEnvelope(block.data[0]!);
  if (env.headerType !== HEADER_TYPE_CONFIG) throw new Error(`envelope type ${env.headerType} is not CONFIG`);
  return parseConfig(bytesField(decode(env.data), 1), env.channelId);
}
