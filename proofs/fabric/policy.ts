/**
 * Fabric policies: signature policies (cauthdsl NOutOf / SignedBy over MSP
 * principals) and ImplicitMeta policies (ANY / ALL / MAJORITY of a named
 * sub-policy of every sub-group), evaluated as Fabric evaluates them.
 */
import { bytesField, decode, numField, repeatedBytes, stringField } from './pb.ts';
import { hasRole, type MspSet, type ValidatedIdentity } from './msp.ts';
import { decodeIdentity, type SerializedIdentity } from './tx.ts';

export type Principal =
  | { kind: 'role'; mspId: string; role: number }
  | { kind: 'ou'; mspId: string; ou: string }
  | { kind: 'identity'; identity: SerializedIdentity }
  | { kind: 'combined'; all: Principal[] }
  | { kind: 'unsupported'; classification: number };

export type SignatureRule = { signedBy: number } | { n: number; rules: SignatureRule[] };

export type Policy =
  | { type: 'signature'; rule: SignatureRule; principals: Principal[] }
  | { type: 'implicit'; rule: 'ANY' | 'ALL' | 'MAJORITY'; subPolicy: string; subs: Policy[] }
  /** A policy Fabric cannot evaluate to true (unknown type, missing sub-policy). */
  | { type: 'reject'; why: string };

/** An identity whose signature has already been checked and whose certificate is valid under its MSP. */
export interface SignedIdentity {
  identity: SerializedIdentity;
  validated: ValidatedIdentity;
}

function parsePrincipal(bytes: Uint8Array): Principal {
  const m = decode(bytes);
  const cls = numField(m, 1);
  const p = bytesField(m, 2);
  switch (cls) {
    case 0: {
      const r = decode(p);
      return { kind: 'role', mspId: stringField(r, 1), role: numField(r, 2) };
    }
    case 1: {
      const r = decode(p);
      return { kind: 'ou', mspId: stringField(r, 1), ou: stringField(r, 2) };
    }
    case 2:
      return { kind: 'identity', identity: decodeIdentity(p) };
    case 4:
      return { kind: 'combined', all: repeatedBytes(decode(p), 1).map(parsePrincipal) };
    default:
      return { kind: 'unsupported', classification: cls };
  }
}

function parseRule(bytes: Uint8Array, depth = 0): SignatureRule {
  if (depth > 32) throw new Error('signature policy nested too deeply');
  const m = decode(bytes);
  if (m.has(2)) {
    const n = decode(bytesField(m, 2));
    return { n: numField(n, 1), rules: repeatedBytes(n, 2).map((r) => parseRule(r, depth + 1)) };
  }
  return { signedBy: numField(m, 1) };
}

/** common.SignaturePolicyEnvelope → Policy. Throws on malformed bytes. */
export function parseSignaturePolicyEnvelope(bytes: Uint8Array): Policy {
  const m = decode(bytes);
  return { type: 'signature', rule: parseRule(bytesField(m, 2)), principals: repeatedBytes(m, 3).map(parsePrincipal) };
}

const META_RULES = ['ANY', 'ALL', 'MAJORITY'] as const;

/** common.ImplicitMetaPolicy → its sub-policy name and rule. */
export function parseImplicitMeta(bytes: Uint8Array): { subPolicy: string; rule: 'ANY' | 'ALL' | 'MAJORITY' } {
  const m = decode(bytes);
  const rule = META_RULES[numField(m, 2)];
  if (!rule) throw new Error(`unknown ImplicitMeta rule ${numField(m, 2)}`);
  return { subPolicy: stringField(m, 1), rule };
}

function satisfies(msps: MspSet, s: SignedIdentity, p: Principal): boolean {
  switch (p.kind) {
    case 'role': {
      if (s.identity.mspId !== p.mspId) return false;
      const msp = msps.get(p.mspId);
      return !!msp && hasRole(msp, s.validated, p.role);
    }
    case 'ou':
      return s.identity.mspId === p.mspId && s.validated.ous.includes(p.ou);
    case 'identity':
      return p.identity.mspId === s.identity.mspId && Buffer.from(p.identity.idBytes).equals(Buffer.from(s.identity.idBytes));
    case 'combined':
      return p.all.length > 0 && p.all.every((q) => satisfies(msps, s, q));
    case 'unsupported':
      return false;
  }
}

function evalRule(msps: MspSet, rule: SignatureRule, principals: Principal[], signed: SignedIdentity[], used: boolean[]): boolean {
  if ('signedBy' in rule) {
    const p = principals[rule.signedBy];
    if (!p) return false;
    for (let i = 0; i < signed.length; i++) {
      if (used[i]) continue;
      if (satisfies(msps, signed[i]!, p)) {
        used[i] = true;
        return true;
      }
    }
    return false;
  }
  // cauthdsl: each sub-rule is tried on a copy of `used`, kept only when it succeeds.
  let verified = 0;
  for (const r of rule.rules) {
    const tmp = used.slice();
    if (evalRule(msps, r, principals, signed, tmp)) {
      verified++;
      for (let i = 0; i < used.length; i++) used[i] = tmp[i]!;
    }
  }
  return verified >= rule.n;
}

/** Deduplicates by identity (Fabric counts one signer once) and evaluates. */
export function evaluatePolicy(msps: MspSet, policy: Policy, signed: SignedIdentity[]): boolean {
  const seen = new Set<string>();
  const unique = signed.filter((s) => {
    const k = s.validated.id;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  return evalUnique(msps, policy, unique);
}

function evalUnique(msps: MspSet, policy: Policy, signed: SignedIdentity[]): boolean {
  switch (policy.type) {
    case 'reject':
      return false;
    case 'signature':
      return evalRule(msps, policy.rule, policy.principals, signed, new Array<boolean>(signed.length).fill(false));
    case 'implicit': {
      const n = policy.subs.length;
      const threshold = policy.rule === 'ANY' ? 1 : policy.rule === 'ALL' ? n : Math.floor(n / 2) + 1;
      if (threshold === 0) return true;
      let met = 0;
      for (const sub of policy.subs) {
        if (evalUnique(msps, sub, signed)) met++;
        if (met >= threshold) return true;
      }
      return false;
    }
  }
}

/** OR(mspId.role, ...) as `cauthdsl.SignedByAnyMember` and friends build it. */
export function signedByAny(mspIds: string[], role = 0): Policy {
  return {
    type: 'signature',
    principals: mspIds.map((mspId) => ({ kind: 'role', mspId, role })),
    rule: { n: 1, rules: mspIds.map((_, i) => ({ signedBy: i })) },
  };
}

/** n-of the given MSPs' members (for tests and callers composing policies). */
export function nOutOfMembers(n: number, mspIds: string[], role = 0): Policy {
  return {
    type: 'signature',
    principals: mspIds.map((mspId) => ({ kind: 'role', mspId, role })),
    rule: { n, rules: mspIds.map((_, i) => ({ signedBy: i })) },
  };
}
