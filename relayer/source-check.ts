import type { Logger } from 'pino';
import type { SourceProof } from '../src/domain/adapter.ts';
import type { Hex } from '../src/domain/hex.ts';
import { NotReadyError, RpcError, findCause } from '../src/errors.ts';
import type { SubstrateRuntime } from '../proofs/substrate/remarks.ts';
import type { ConnectedChain } from './context.ts';
import { RUNTIME_NOT_APPROVED } from './light/grandpa-client.ts';
import { COMET_NOT_FINAL } from './light/cometbft-client.ts';
import { FABRIC_NOT_FINAL } from './light/fabric-client.ts';
import { BEACON_NOT_FINAL } from './light/beacon-client.ts';
import { verifySourceProof, type FabricVerifyContext, type TrustedAnchor } from './verify-source.ts';

export interface EndpointFailure {
  endpoint: number;
  reason: string;
  detail: string;
}

/**
 * The verdict on "did this chain's port commit these ids at this height":
 * - ok: a proof from `endpoint` verified against the light client's anchor;
 * - wait: nothing can be decided now (not final, runtime not pinned, every
 *   endpoint down) — `error` is what a retrying caller throws;
 * - refused: the light client refused the header, or every endpoint that
 *   answered served a proof that does not verify — never retried into success.
 */
export type SourceCheck =
  | { ok: true; proof: SourceProof; endpoint: number; lightClient: string; anchor: TrustedAnchor | null; failures: EndpointFailure[] }
  | { ok: false; kind: 'wait'; error: unknown }
  | { ok: false; kind: 'refused'; reason: string; detail: string; proof: Record<string, unknown> };

/**
 * Anchor + prove + verify, shared by the relayer's verify stage and the
 * attestor processes (which must re-check every id themselves, never trusting
 * the relayer's verdict): the chain's light client decides what is trusted at
 * the height, then each endpoint's proof is checked against it in turn, so one
 * bad endpoint cannot censor a message. Errors other than an endpoint being
 * down (RpcError) are thrown.
 */
export async function checkSourceCommitments(
  chain: ConnectedChain,
  height: bigint,
  ids: readonly Hex[],
  { allowLocalDev, logger }: { allowLocalDev: boolean; logger: Logger },
): Promise<SourceCheck> {
  const chainId = chain.registration.chainId;
  const h = height.toString();
  let anchor: TrustedAnchor | null = null;
  let runtime: SubstrateRuntime | undefined;
  let fabric: FabricVerifyContext | undefined;
  if (chain.grandpa) {
    const t = await chain.grandpa.trustedAt(height);
    if (!t.ok && (t.reason === 'not_final' || t.reason === RUNTIME_NOT_APPROVED)) {
      // Not refused: the lane waits (for finality, or for governance to re-anchor with the new runtime's pins).
      logger.warn({ chain: chainId, height: h, reason: t.reason, detail: t.detail }, 'Substrate lane waits: the light client does not vouch for this height yet');
      return { ok: false, kind: 'wait', error: new NotReadyError(`${t.reason}: ${t.detail}`, 2000) };
    }
    if (!t.ok) return headerRefused(chain, t.reason, t.detail);
    anchor = { kind: 'state-root', hash: t.hash, stateRoot: t.stateRoot };
    // A Frontier (EVM) chain's proof is storage of the Solidity port, not events: no runtime decodes it, none is pinned.
    if (chain.registration.family !== 'evm') {
      try {
        runtime = await chain.grandpa.runtime();
      } catch (err) {
        if (findCause(err, RpcError)) return { ok: false, kind: 'wait', error: err };
        // The endpoint's metadata is not the pinned one: nothing from this chain can be decoded until governance re-anchors.
        logger.error({ err, chain: chainId }, 'Substrate lane waits: the chain\'s metadata does not match the pinned runtime');
        return { ok: false, kind: 'wait', error: new NotReadyError('the chain\'s metadata does not match the pinned runtime', 5000, { cause: err }) };
      }
    }
  } else if (chain.comet) {
    // CometBFT commits the state after block H in the app hash of header H+1: that header anchors a proof at H.
    let t;
    try {
      t = await chain.comet.trustedAt(height + 1n);
    } catch (err) {
      if (findCause(err, RpcError)) return { ok: false, kind: 'wait', error: err };
      throw err;
    }
    if (!t.ok && t.reason === COMET_NOT_FINAL) {
      logger.debug({ chain: chainId, height: h, detail: t.detail }, 'Cosmos lane waits: the header after this height is not verified yet');
      return { ok: false, kind: 'wait', error: new NotReadyError(`${t.reason}: ${t.detail}`, 1000) };
    }
    if (!t.ok && t.reason === 'trust_expired') {
      // The messages are not at fault: they wait for governance to re-anchor the chain, then verify.
      logger.error({ chain: chainId, height: h, detail: t.detail }, 'Cosmos lane waits: the light client\'s trusting period expired; governance must re-anchor the chain');
      return { ok: false, kind: 'wait', error: new NotReadyError(`${t.reason}: ${t.detail}`, 30_000) };
    }
    if (!t.ok) return headerRefused(chain, t.reason, t.detail);
    anchor = { kind: 'app-hash', height: t.height, hash: t.hash, appHash: t.appHash };
  } else if (chain.registration.lightClient === 'tendermint') {
    // A caller that connected the chain without its light client: a wiring fault, never the messages' — they wait.
    logger.error({ chain: chainId, height: h }, 'Cosmos lane waits: no CometBFT light client is connected for this chain');
    return { ok: false, kind: 'wait', error: new NotReadyError('no CometBFT light client is connected for this chain', 5000) };
  } else if (chain.fabric) {
    let t;
    try {
      t = await chain.fabric.trustedAt(height);
    } catch (err) {
      // An endpoint down, or a chaincode definition on the way that peers of k organisations have not yet confirmed either way.
      if (findCause(err, RpcError) || findCause(err, NotReadyError)) return { ok: false, kind: 'wait', error: err };
      throw err;
    }
    if (!t.ok && t.reason === FABRIC_NOT_FINAL) {
      logger.debug({ chain: chainId, height: h, detail: t.detail }, 'Fabric lane waits: the ledger does not hold this block yet');
      return { ok: false, kind: 'wait', error: new NotReadyError(`${t.reason}: ${t.detail}`, 1000) };
    }
    if (!t.ok) return headerRefused(chain, t.reason, t.detail);
    anchor = { kind: 'fabric-block', height: t.height, hash: t.hash };
    fabric = { context: t.context, k: chain.fabric.organisations };
  } else if (chain.registration.lightClient === 'fabric') {
    // As for CometBFT: a wiring fault, never the messages'.
    logger.error({ chain: chainId, height: h }, 'Fabric lane waits: no Fabric light client is connected for this chain');
    return { ok: false, kind: 'wait', error: new NotReadyError('no Fabric light client is connected for this chain', 5000) };
  } else if (chain.beacon) {
    let t;
    try {
      t = await chain.beacon.trustedAt(height);
    } catch (err) {
      if (findCause(err, RpcError)) return { ok: false, kind: 'wait', error: err };
      throw err;
    }
    if (!t.ok && t.reason === BEACON_NOT_FINAL) {
      logger.debug({ chain: chainId, height: h, detail: t.detail }, 'Ethereum lane waits: the beacon chain has not finalized this height yet');
      return { ok: false, kind: 'wait', error: new NotReadyError(`${t.reason}: ${t.detail}`, 2000) };
    }
    if (!t.ok && t.reason === 'trust_expired') {
      // As for CometBFT: the messages are not at fault; they verify once governance re-anchors the chain.
      logger.error({ chain: chainId, height: h, detail: t.detail }, 'Ethereum lane waits: the sync-committee light client is a full sync period behind; governance must re-anchor the chain with a new checkpoint');
      return { ok: false, kind: 'wait', error: new NotReadyError(`${t.reason}: ${t.detail}`, 30_000) };
    }
    if (!t.ok) return headerRefused(chain, t.reason, t.detail);
    anchor = { kind: 'state-root', hash: t.hash, stateRoot: t.stateRoot };
  } else if (chain.registration.lightClient === 'eth-sync-committee') {
    logger.error({ chain: chainId, height: h }, 'Ethereum lane waits: no sync-committee light client is connected for this chain');
    return { ok: false, kind: 'wait', error: new NotReadyError('no sync-committee light client is connected for this chain', 5000) };
  } else if (chain.light) {
    const t = await chain.light.trustedAt(height);
    // The header chain itself failed: no endpoint's proof can be trusted at this height.
    if (!t.ok) return headerRefused(chain, t.reason, t.detail);
    anchor = { kind: 'state-root', hash: t.hash, stateRoot: t.stateRoot };
  } else if (chain.registration.lightClient === 'local-dev') {
    const hash = await chain.adapter.watcher.blockHashAt(height);
    if (hash) anchor = { kind: 'block-hash', hash };
  }
  const failures: EndpointFailure[] = [];
  let transient: unknown = null;
  for (let ep = 0; ep < chain.adapter.prover.endpointCount(); ep++) {
    let proof: SourceProof;
    try {
      proof = await chain.adapter.prover.proveCommitments(height, ids, ep);
    } catch (err) {
      if (!findCause(err, RpcError)) throw err;
      transient = err;
      continue;
    }
    const verdict = verifySourceProof(chain.registration, proof, { height, ids, anchor, ...(runtime ? { runtime } : {}), ...(fabric ? { fabric } : {}) }, { allowLocalDev });
    if (verdict.ok) return { ok: true, proof, endpoint: ep, lightClient: verdict.lightClient, anchor, failures };
    if (verdict.reason === RUNTIME_NOT_APPROVED) {
      // The proven LastRuntimeUpgrade names another spec version: the lane waits for a re-anchor, nothing is refused.
      logger.warn({ chain: chainId, height: h, detail: verdict.detail }, 'Substrate lane waits: the block ran a runtime governance has not pinned');
      return { ok: false, kind: 'wait', error: new NotReadyError(`${verdict.reason}: ${verdict.detail}`, 2000) };
    }
    failures.push({ endpoint: ep, reason: verdict.reason, detail: verdict.detail });
    logger.warn({ chain: chainId, height: h, endpoint: ep, reason: verdict.reason, detail: verdict.detail }, 'proof rejected; endpoint flagged');
  }
  if (failures.length === 0) return { ok: false, kind: 'wait', error: transient ?? new NotReadyError('no endpoint answered', 1000) };
  return { ok: false, kind: 'refused', reason: `proof_invalid:${failures[0]!.reason}`, detail: failures.map((f) => `endpoint ${f.endpoint}: ${f.reason}: ${f.detail}`).join('; '), proof: { failures } };
}

function headerRefused(chain: ConnectedChain, reason: string, detail: string): SourceCheck {
  return { ok: false, kind: 'refused', reason: `header_invalid:${reason}`, detail, proof: { lightClient: chain.registration.lightClient, detail } };
}
