/**
 * Endorsement policies of chaincodes, as far as the ledger itself tells:
 * learned from `_lifecycle` definitions (Fabric 2.x) and `lscc` deployments
 * (Fabric 1.x) committed in verified blocks, and from the channel config.
 */
import { bytesField, decode, repeatedBytes, stringField } from './pb.ts';
import { parseSignaturePolicyEnvelope, signedByAny, type Policy } from './policy.ts';
import type { ChannelConfig } from './config.ts';
import type { NsRWSet } from './tx.ts';

export interface ChaincodePolicies {
  policy: Policy;
  /** Collection name → its endorsement policy (collections without one use the chaincode's). */
  collections: Map<string, Policy>;
}

export type ChaincodeRegistry = Map<string, ChaincodePolicies>;

/** peer.ApplicationPolicy: a signature policy or a reference to a channel config policy. */
export function parseApplicationPolicy(bytes: Uint8Array, config: ChannelConfig): Policy | null {
  const m = decode(bytes);
  if (m.has(1)) return parseSignaturePolicyEnvelope(bytesField(m, 1));
  if (m.has(2)) return config.policy(stringField(m, 2));
  return null;
}

function collectionPolicies(pkg: Uint8Array, config: ChannelConfig): Map<string, Policy> {
  const out = new Map<string, Policy>();
  for (const cc of repeatedBytes(decode(pkg), 1)) {
    const stat = decode(bytesField(decode(cc), 1));
    const ep = bytesField(stat, 8);
    if (ep.length === 0) continue;
    const p = parseApplicationPolicy(ep, config);
    if (p) out.set(stringField(stat, 1), p);
  }
  return out;
}

const LIFECYCLE_FIELD = /^namespaces\/fields\/([^/]+)\/(ValidationInfo|Collections)$/;

/** Records the chaincode definitions a valid transaction's writes commit. */
export function learnChaincodes(rwsets: NsRWSet[], config: ChannelConfig, registry: ChaincodeRegistry): void {
  for (const ns of rwsets) {
    if (ns.namespace === '_lifecycle') {
      for (const w of ns.writes) {
        const m = LIFECYCLE_FIELD.exec(w.key);
        if (!m || w.isDelete) continue;
        const name = m[1]!;
        const prev = registry.get(name);
        const entry: ChaincodePolicies = prev ? { ...prev } : { policy: { type: 'reject', why: `no validation info for ${name}` }, collections: new Map() };
        const data = bytesField(decode(w.value), 2);
        if (m[2] === 'ValidationInfo') {
          const p = parseApplicationPolicy(bytesField(decode(data), 2), config);
          if (p) entry.policy = p;
        } else {
          entry.collections = collectionPolicies(data, config);
        }
        registry.set(name, entry);
      }
    } else if (ns.namespace === 'lscc') {
      for (const w of ns.writes) {
        if (w.isDelete || w.value.length === 0) continue;
        if (w.key.endsWith('~collection')) {
          const name = w.key.slice(0, -'~collection'.length);
          const entry = registry.get(name);
          if (entry) registry.set(name, { ...entry, collections: collectionPolicies(w.value, config) });
          continue;
        }
        const cd = decode(w.value);
        const pol = bytesField(cd, 5);
        if (pol.length === 0) continue;
        const prev = registry.get(w.key);
        registry.set(w.key, { policy: parseSignaturePolicyEnvelope(pol), collections: prev?.collections ?? new Map() });
      }
    }
  }
}

const IMPLICIT_ORG = /^_implicit_org_(.+)$/;

/**
 * The policy of a namespace (and of one of its collections when given), or
 * null when neither the ledger nor the caller tells it.
 */
export function policyFor(namespace: string, collection: string | null, config: ChannelConfig, registry: ChaincodeRegistry): Policy | null {
  const implicit = collection ? IMPLICIT_ORG.exec(collection) : null;
  if (implicit) {
    // Implicit org collections are endorsed by their own org (its Endorsement policy, else any member).
    const mspId = implicit[1]!;
    const group = [...config.applicationOrgs].find(([, id]) => id === mspId)?.[0];
    const path = `/Channel/Application/${group}/Endorsement`;
    if (group && config.hasPolicy(path)) return config.policy(path);
    return signedByAny([mspId]);
  }
  if (namespace === '_lifecycle') return config.policy('/Channel/Application/LifecycleEndorsement');
  if (namespace === 'lscc') return signedByAny([...config.applicationOrgs.values()]);
  const entry = registry.get(namespace);
  if (!entry) return null;
  if (collection) return entry.collections.get(collection) ?? entry.policy;
  return entry.policy;
}
