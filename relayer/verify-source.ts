import type { ChainRegistration } from '../src/domain/chain.ts';
import type { SourceProof } from '../src/domain/adapter.ts';
import type { Hex } from '../src/domain/hex.ts';
import { commitmentSlot, verifyEvmCommitments, verifyEvmStateCommitments } from '../proofs/evm/commitments.ts';
import { COMMITMENTS_SLOT } from '../adapters/evm/artifacts.ts';
import { verifySubstrateRemarks } from './verify-substrate.ts';
import { verifyFrontierCommitments } from './verify-frontier.ts';
import { verifyCosmosPackets } from './verify-cosmos.ts';
import { verifyFabricTxs } from './verify-fabric.ts';
import type { BlockContext } from '../proofs/fabric/index.ts';
import type { SubstrateRuntime } from '../proofs/substrate/remarks.ts';

export type SourceVerdict = { ok: true; lightClient: string } | { ok: false; reason: string; detail: string };

/** What the chain's light client vouches for at the proof's height. */
export type TrustedAnchor =
  /** local-dev: the primary RPC's block hash (the header is checked against it). */
  | { kind: 'block-hash'; hash: Hex }
  /** A header light client (QBFT/IBFT 2.0) that verified the block and its state root. */
  | { kind: 'state-root'; hash: Hex; stateRoot: Hex }
  /** CometBFT: header `height` (H+1 for a proof at H) verified by the light client; its app hash commits the state after block H. */
  | { kind: 'app-hash'; height: bigint; hash: Hex; appHash: Hex }
  /** Fabric: block `height` verified from the trust root by the light client (the BlockContext it was verified in is passed beside, never stored). */
  | { kind: 'fabric-block'; height: bigint; hash: Hex };

/** What the Fabric light client hands the verifier with a `fabric-block` anchor: the context in force for the block, and k. */
export interface FabricVerifyContext {
  context: BlockContext;
  /** Organisations whose peers must sign that a transaction is valid. */
  k: number;
}

/**
 * The relayer's verify step, dispatched by family and light-client type: the
 * light client decides what is trusted at the height, the state proof is then
 * checked against it.
 */
export function verifySourceProof(
  reg: ChainRegistration,
  proof: SourceProof,
  /**
   * `runtime`: a Substrate chain's pinned runtime (its light client loads it), which decodes the block's events.
   * `fabric`: a Fabric chain's block context from its light client.
   */
  expect: { height: bigint; ids: readonly Hex[]; anchor: TrustedAnchor | null; runtime?: SubstrateRuntime; fabric?: FabricVerifyContext },
  { allowLocalDev }: { allowLocalDev: boolean },
): SourceVerdict {
  switch (reg.family) {
    case 'evm': {
      const slots = expect.ids.map((id) => commitmentSlot(id, COMMITMENTS_SLOT));
      const port = reg.port;
      switch (reg.lightClient) {
        case 'local-dev': {
          if (!allowLocalDev) return { ok: false, reason: 'untrusted_header', detail: 'local-dev trust is accepted only for chains the hub started, or with --dev' };
          if (expect.anchor?.kind !== 'block-hash') return { ok: false, reason: 'untrusted_header', detail: 'no trusted header hash for this height' };
          const r = verifyEvmCommitments(proof, { port, height: expect.height, trustedBlockHash: expect.anchor.hash, slots });
          return r.ok ? { ok: true, lightClient: reg.lightClient } : { ok: false, reason: r.reason, detail: r.detail };
        }
        case 'qbft':
        case 'ibft2':
        case 'eth-sync-committee': {
          if (expect.anchor?.kind !== 'state-root') return { ok: false, reason: 'untrusted_header', detail: `the ${reg.lightClient} light client has not verified this height` };
          const r = verifyEvmStateCommitments(proof, { port, height: expect.height, trustedStateRoot: expect.anchor.stateRoot, slots });
          return r.ok ? { ok: true, lightClient: reg.lightClient } : { ok: false, reason: r.reason, detail: r.detail };
        }
        case 'grandpa': {
          // Frontier: GRANDPA vouches for the Substrate block; the port's storage is proven as EVM::AccountStorages.
          if (expect.anchor?.kind !== 'state-root') return { ok: false, reason: 'untrusted_header', detail: 'the GRANDPA light client has not verified this height' };
          const r = verifyFrontierCommitments(proof, { port, height: expect.height, ids: expect.ids, anchor: expect.anchor });
          return r.ok ? { ok: true, lightClient: reg.lightClient } : { ok: false, reason: r.reason, detail: r.detail };
        }
        case 'tendermint':
        case 'fabric':
          return { ok: false, reason: 'unsupported_light_client', detail: `light client ${reg.lightClient} is not wired into the EVM verify stage yet` };
      }
      break;
    }
    case 'substrate': {
      if (reg.lightClient !== 'grandpa') return { ok: false, reason: 'unsupported_light_client', detail: `Substrate sources are verified by their GRANDPA light client, not ${reg.lightClient}` };
      if (expect.anchor?.kind !== 'state-root') return { ok: false, reason: 'untrusted_header', detail: 'the GRANDPA light client has not verified this height' };
      if (!expect.runtime) return { ok: false, reason: 'expectation_invalid', detail: 'no pinned runtime to decode the events with' };
      const r = verifySubstrateRemarks(proof, { chainId: reg.chainId, port: reg.port, height: expect.height, ids: expect.ids, anchor: expect.anchor, runtime: expect.runtime });
      return r.ok ? { ok: true, lightClient: reg.lightClient } : { ok: false, reason: r.reason, detail: r.detail };
    }
    case 'cosmos': {
      if (reg.lightClient !== 'tendermint') return { ok: false, reason: 'unsupported_light_client', detail: `Cosmos sources are verified by their CometBFT light client, not ${reg.lightClient}` };
      if (expect.anchor?.kind !== 'app-hash') return { ok: false, reason: 'untrusted_header', detail: 'the CometBFT light client has not verified the header after this height' };
      const r = verifyCosmosPackets(proof, { chainId: reg.chainId, port: reg.port, height: expect.height, ids: expect.ids, anchor: expect.anchor });
      return r.ok ? { ok: true, lightClient: reg.lightClient } : { ok: false, reason: r.reason, detail: r.detail };
    }
    case 'fabric': {
      if (reg.lightClient !== 'fabric') return { ok: false, reason: 'unsupported_light_client', detail: `Fabric sources are verified by their Fabric light client, not ${reg.lightClient}` };
      if (expect.anchor?.kind !== 'fabric-block' || !expect.fabric) return { ok: false, reason: 'untrusted_header', detail: 'the Fabric light client has not verified this block' };
      const r = verifyFabricTxs(proof, { chainId: reg.chainId, port: reg.port, height: expect.height, ids: expect.ids, anchor: expect.anchor, context: expect.fabric.context, k: expect.fabric.k });
      return r.ok ? { ok: true, lightClient: reg.lightClient } : { ok: false, reason: r.reason, detail: r.detail };
    }
  }
  return { ok: false, reason: 'unsupported_light_client', detail: `light client ${reg.lightClient}` };
}
