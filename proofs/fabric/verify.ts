/**
 * Fabric block and ledger verification from a trusted config block: header
 * hash chain, data hash, orderer signatures under /Channel/Orderer/BlockValidation,
 * envelope creators, and the endorsements of every transaction flagged valid
 * under the policy that governs its writes. Config blocks met on the way
 * replace the channel config once their orderer signatures verify.
 */
import { fail, ok, type Failure, type VerifyResult } from '../result.ts';
import {
  METADATA_SIGNATURES,
  METADATA_TRANSACTIONS_FILTER,
  blockDataHash,
  blockHeaderBytes,
  blockHeaderHash,
  decodeBlock,
  sha256,
  type FabricBlock,
} from './block.ts';
import { configFromBlock, type ChannelConfig } from './config.ts';
import { learnChaincodes, policyFor, type ChaincodeRegistry } from './chaincodes.ts';
import { checkEndorsementSignatures, checkSigned, concat, type IdentityOptions } from './endorsement.ts';
import { bytesField, decode, repeatedBytes } from './pb.ts';
import { evaluatePolicy, type Policy, type SignedIdentity } from './policy.ts';
import {
  HEADER_TYPE_CONFIG,
  HEADER_TYPE_ENDORSER_TRANSACTION,
  decodeEndorserTransaction,
  decodeEnvelope,
  decodeIdentity,
  type NsRWSet,
  type ParsedEnvelope,
} from './tx.ts';

export interface FabricVerifyOptions extends IdentityOptions {
  /** Endorsement policies the caller knows (chaincodes defined before the trusted block); they override what the ledger tells. */
  chaincodePolicies?: Record<string, Policy>;
  /** Key-level (state-based) policies in force for existing keys: the ledger alone cannot tell them. */
  keyPolicy?: (namespace: string, key: string) => Policy | undefined;
  /**
   * Check certificate validity at each transaction's own timestamp (creator
   * and endorsers; orderer signers at the latest timestamp in the block), as
   * the committing peers did. Replayed history is then judged by its own
   * time, not by `at`. Default false.
   */
  atTransactionTime?: boolean;
  /** Fail (`fabric_policy_unknown`) instead of recording a transaction whose policy is unknown. Default false. */
  requireKnownPolicies?: boolean;
}

export interface VerifiedTx {
  index: number;
  txId: string;
  headerType: number;
  /** TRANSACTIONS_FILTER code (0 = VALID); this is outside the block hash, see acceptValidation. */
  validationCode: number;
  chaincode: string | null;
  endorsers: string[];
  /** `checked`: every write's policy was evaluated; `unknown`: signatures checked, some policy unknown; `not_checked`: tx flagged invalid or not an endorser tx. */
  policy: 'checked' | 'unknown' | 'not_checked';
  unknownPolicies: string[];
  rwsets: NsRWSet[];
}

export interface VerifiedBlock {
  number: bigint;
  hash: Uint8Array;
  txs: VerifiedTx[];
  /** The channel config in force after this block (a new one when it is a config block). */
  config: ChannelConfig;
  chaincodes: ChaincodeRegistry;
}

export interface BlockContext {
  config: ChannelConfig;
  /** The verified block before this one; absent only for the trusted config block itself. */
  previous?: { number: bigint; hash: Uint8Array };
  chaincodes?: ChaincodeRegistry;
}

function toBlock(b: FabricBlock | Uint8Array): FabricBlock | Failure {
  if (!(b instanceof Uint8Array)) return b;
  try {
    return decodeBlock(b);
  } catch (e) {
    return fail('proof_malformed', `block does not decode: ${(e as Error).message}`);
  }
}

function eq(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

function checkOrdererSignatures(block: FabricBlock, config: ChannelConfig, required: boolean, opts: IdentityOptions): Failure | null {
  const raw = block.metadata[METADATA_SIGNATURES];
  let value: Uint8Array = new Uint8Array(0);
  let sigs: Uint8Array[] = [];
  try {
    if (raw) {
      const m = decode(raw);
      value = bytesField(m, 1);
      sigs = repeatedBytes(m, 2);
    }
  } catch (e) {
    return fail('proof_malformed', `signatures metadata does not decode: ${(e as Error).message}`);
  }
  if (sigs.length === 0 && !required) return null;
  const header = blockHeaderBytes(block.number, block.previousHash, block.dataHash);
  const signed: SignedIdentity[] = [];
  for (const [i, s] of sigs.entries()) {
    let sigHeader: Uint8Array;
    let signature: Uint8Array;
    let creator;
    try {
      const m = decode(s);
      sigHeader = bytesField(m, 1);
      signature = bytesField(m, 2);
      if (sigHeader.length === 0) return fail('fabric_unsupported', `orderer signature ${i} has no signature header (BFT identifier headers are not supported)`);
      creator = decodeIdentity(bytesField(decode(sigHeader), 1));
    } catch (e) {
      return fail('proof_malformed', `orderer signature ${i} does not decode: ${(e as Error).message}`);
    }
    const r = checkSigned(config.msps, creator, concat(value, sigHeader, header), signature, `orderer signature ${i}`, opts);
    if ('ok' in r) return r;
    signed.push(r);
  }
  if (!evaluatePolicy(config.msps, config.policy('/Channel/Orderer/BlockValidation'), signed)) {
    return fail('insufficient_signatures', `orderer signatures by ${signed.map((s) => s.identity.mspId).join(', ') || 'nobody'} do not satisfy /Channel/Orderer/BlockValidation`);
  }
  return null;
}

function checkCreator(env: ParsedEnvelope, config: ChannelConfig, writers: string | null, opts: IdentityOptions): Failure | null {
  if (!env.creator) return fail('proof_malformed', 'envelope has no creator');
  const r = checkSigned(config.msps, env.creator, env.payload, env.signature, 'envelope creator', opts);
  if ('ok' in r) return r;
  if (writers && !evaluatePolicy(config.msps, config.policy(writers), [r])) {
    return fail('fabric_creator_unauthorized', `creator of ${env.creator.mspId} does not satisfy ${writers}`);
  }
  return null;
}

interface EndorserOutcome {
  chaincode: string | null;
  endorsers: string[];
  unknown: string[];
  rwsets: NsRWSet[];
}

function checkEndorserTx(env: ParsedEnvelope, config: ChannelConfig, registry: ChaincodeRegistry, opts: FabricVerifyOptions): EndorserOutcome | Failure {
  const creatorFail = checkCreator(env, config, '/Channel/Application/Writers', opts);
  if (creatorFail) return creatorFail;
  if (hex(sha256(env.nonce, env.creator!.raw)) !== env.txId) return fail('fabric_txid_mismatch', `tx id ${env.txId} is not SHA-256(nonce || creator)`);
  let actions;
  try {
    actions = decodeEndorserTransaction(env.data);
  } catch (e) {
    return fail('proof_malformed', `transaction does not decode: ${(e as Error).message}`);
  }
  if (actions.length === 0) return fail('proof_malformed', 'endorser transaction without actions');
  const out: EndorserOutcome = { chaincode: null, endorsers: [], unknown: [], rwsets: [] };
  for (const [ai, action] of actions.entries()) {
    const what = `action ${ai}`;
    if (!eq(sha256(env.channelHeaderBytes, env.signatureHeaderBytes, action.chaincodeProposalPayload), action.proposalHash)) {
      return fail('fabric_proposal_hash_mismatch', `${what}: endorsed proposal hash does not match the transaction header`);
    }
    const signed = checkEndorsementSignatures(action, config.msps, opts);
    if ('ok' in signed) return { ...signed, detail: `${what}: ${signed.detail}` };
    const checks: { policy: Policy | null; label: string }[] = [];
    const nsPolicy = (ns: string, coll: string | null): Policy | null => {
      if (!coll && opts.chaincodePolicies?.[ns]) return opts.chaincodePolicies[ns]!;
      return policyFor(ns, coll, config, registry) ?? (opts.chaincodePolicies?.[ns] ?? null);
    };
    for (const ns of action.rwsets) {
      let needNs = ns.metadataWrites.length > 0;
      for (const w of ns.writes) {
        const kp = opts.keyPolicy?.(ns.namespace, w.key);
        if (kp) checks.push({ policy: kp, label: `${ns.namespace}/${w.key}` });
        else needNs = true;
      }
      if (needNs) checks.push({ policy: nsPolicy(ns.namespace, null), label: ns.namespace });
      for (const c of ns.collections) {
        if (c.hashedWrites.length > 0) checks.push({ policy: nsPolicy(ns.namespace, c.collection), label: `${ns.namespace}~${c.collection}` });
      }
    }
    // A transaction that writes nothing is still checked against its chaincode's policy, as Fabric does.
    if (checks.length === 0) checks.push({ policy: nsPolicy(action.chaincode.name, null), label: action.chaincode.name });
    for (const c of checks) {
      if (!c.policy) {
        if (opts.requireKnownPolicies) return fail('fabric_policy_unknown', `${what}: no endorsement policy known for ${c.label}`);
        out.unknown.push(c.label);
        continue;
      }
      if (!evaluatePolicy(config.msps, c.policy, signed)) {
        return fail('fabric_endorsement_policy_unsatisfied', `${what}: endorsements by ${signed.map((s) => s.identity.mspId).join(', ') || 'nobody'} do not satisfy the policy of ${c.label}`);
      }
    }
    out.chaincode ??= action.chaincode.name;
    out.endorsers.push(...signed.map((s) => s.identity.mspId));
    out.rwsets.push(...action.rwsets);
  }
  return out;
}

/**
 * Verifies one block in context: data hash, link to the previous block,
 * orderer signatures (required unless this is the trusted config block),
 * and every transaction flagged valid. Returns the config and chaincode
 * policies in force after the block.
 */
export function verifyBlock(input: FabricBlock | Uint8Array, ctx: BlockContext, opts: FabricVerifyOptions = {}): VerifyResult<{ block: VerifiedBlock }> {
  const block = toBlock(input);
  if ('ok' in block) return block;
  const at = `block ${block.number}`;
  const withAt = (f: Failure): Failure => ({ ...f, detail: `${at}: ${f.detail}` });
  if (!eq(blockDataHash(block.data), block.dataHash)) return fail('fabric_data_hash_mismatch', `${at}: data_hash is not SHA-256 of the envelopes`);
  if (ctx.previous) {
    if (block.number !== ctx.previous.number + 1n) return fail('fabric_hash_chain_broken', `${at}: expected block ${ctx.previous.number + 1n}`);
    if (!eq(block.previousHash, ctx.previous.hash)) return fail('fabric_hash_chain_broken', `${at}: previous_hash ${hex(block.previousHash)} is not ${hex(ctx.previous.hash)}`);
  }
  let config = ctx.config;
  let envs: ParsedEnvelope[];
  try {
    envs = block.data.map(decodeEnvelope);
  } catch (e) {
    return fail('proof_malformed', `${at}: envelope does not decode: ${(e as Error).message}`);
  }
  const timeOf = (seconds: number): IdentityOptions => (opts.atTransactionTime && seconds > 0 ? { at: new Date(seconds * 1000) } : { at: opts.at });
  const blockTime = Math.max(0, ...envs.map((e) => e.timestamp));
  const sigFail = checkOrdererSignatures(block, config, !!ctx.previous, timeOf(blockTime));
  if (sigFail) return withAt(sigFail);
  const filter = block.metadata[METADATA_TRANSACTIONS_FILTER] ?? new Uint8Array(0);
  if (filter.length < block.data.length) return fail('proof_malformed', `${at}: TRANSACTIONS_FILTER has ${filter.length} codes for ${block.data.length} transactions`);
  const registry: ChaincodeRegistry = new Map(ctx.chaincodes ?? []);
  const txs: VerifiedTx[] = [];
  for (const [i, env] of envs.entries()) {
    const txOpts = { ...opts, ...timeOf(env.timestamp) };
    if (env.channelId !== config.channelId) return fail('fabric_wrong_channel', `${at} tx ${i}: channel ${env.channelId}, trusted config is for ${config.channelId}`);
    const code = filter[i]!;
    const tx: VerifiedTx = { index: i, txId: env.txId, headerType: env.headerType, validationCode: code, chaincode: null, endorsers: [], policy: 'not_checked', unknownPolicies: [], rwsets: [] };
    txs.push(tx);
    if (code !== 0) continue;
    if (env.headerType === HEADER_TYPE_CONFIG) {
      if (!ctx.previous) continue;
      if (block.data.length !== 1) return fail('fabric_config_invalid', `${at}: a config block holds exactly one envelope`);
      const cf = checkCreator(env, config, null, txOpts);
      if (cf) return withAt(cf);
      try {
        const next = configFromBlock(block);
        if (next.channelId !== config.channelId) return fail('fabric_config_invalid', `${at}: config for channel ${next.channelId}`);
        config = next;
      } catch (e) {
        return fail('fabric_config_invalid', `${at}: config does not parse: ${(e as Error).message}`);
      }
    } else if (env.headerType === HEADER_TYPE_ENDORSER_TRANSACTION) {
      const r = checkEndorserTx(env, config, registry, txOpts);
      if ('ok' in r) return { ...r, detail: `${at} tx ${i}: ${r.detail}` };
      tx.chaincode = r.chaincode;
      tx.endorsers = r.endorsers;
      tx.unknownPolicies = r.unknown;
      tx.policy = r.unknown.length ? 'unknown' : 'checked';
      tx.rwsets = r.rwsets;
      try {
        learnChaincodes(r.rwsets, config, registry);
      } catch (e) {
        return fail('proof_malformed', `${at} tx ${i}: chaincode definition does not decode: ${(e as Error).message}`);
      }
    }
  }
  return ok({ block: { number: block.number, hash: blockHeaderHash(block), txs, config, chaincodes: registry } });
}

/**
 * Verifies a run of blocks from a trusted config block (whose hash the
 * caller trusts, e.g. from the chain registry: pass it as `trustedHash`).
 * `blocks` may start with the trusted block itself; it is then skipped.
 */
export function verifyBlockChain(
  trustedConfigBlock: FabricBlock | Uint8Array,
  blocks: (FabricBlock | Uint8Array)[],
  opts: FabricVerifyOptions & { trustedHash?: Uint8Array } = {},
): VerifyResult<{ head: { number: bigint; hash: Uint8Array }; blocks: VerifiedBlock[]; config: ChannelConfig }> {
  const trusted = toBlock(trustedConfigBlock);
  if ('ok' in trusted) return trusted;
  const trustedHash = blockHeaderHash(trusted);
  if (opts.trustedHash && !eq(opts.trustedHash, trustedHash)) return fail('untrusted_header', `trusted block hashes to ${hex(trustedHash)}, expected ${hex(opts.trustedHash)}`);
  let config: ChannelConfig;
  try {
    config = configFromBlock(trusted);
  } catch (e) {
    return fail('fabric_config_invalid', `trusted block ${trusted.number}: ${(e as Error).message}`);
  }
  const first = verifyBlock(trusted, { config }, opts);
  if (!first.ok) return first;
  let state = first.block;
  const out: VerifiedBlock[] = [state];
  for (const [i, input] of blocks.entries()) {
    const b = toBlock(input);
    if ('ok' in b) return { ...b, detail: `block index ${i}: ${b.detail}` };
    if (i === 0 && b.number === trusted.number && eq(blockHeaderHash(b), trustedHash)) continue;
    const r = verifyBlock(b, { config: state.config, previous: { number: state.number, hash: state.hash }, chaincodes: state.chaincodes }, opts);
    if (!r.ok) return r;
    state = r.block;
    out.push(state);
  }
  return ok({ head: { number: state.number, hash: state.hash }, blocks: out, config: state.config });
}
