import type { ChainRegistration } from '../src/domain/chain.ts';
import type { SourceProof } from '../src/domain/adapter.ts';
import type { Hex } from '../src/domain/hex.ts';
import { commitmentSlot, verifyEvmCommitments, verifyEvmStateCommitments } from '../proofs/evm/commitments.ts';
import { COMMITMENTS_SLOT } from '../adapters/evm/artifacts.ts';
import { verifySubstrateRemarks } from './verify-substrate.ts';
import type { SubstrateRuntime } from '../proofs/substrate/remarks.ts';

export type SourceVerdict = { ok: true; lightClient: string } | { ok: false; reason: string; detail: string };

/** What the chain's light client vouches for at the proof's height. */
export type TrustedAnchor =
  /** local-dev: the primary RPC's block hash (the header is checked against it). */
  | { kind: 'block-hash'; hash: Hex }
  /** A header light client (QBFT/IBFT 2.0) that verified the block and its state root. */
  | { kind: 'state-root'; hash: Hex; stateRoot: Hex };

/**
 * The relayer's verify step, dispatched by family and light-client type: the
 * light client decides what is trusted at the height, the state proof is then
 * checked against it.
 */
export function verifySourceProof(
  reg: ChainRegistration,
  proof: SourceProof,
  /** `runtime`: a Substrate chain's pinned runtime (its light client loads it), which decodes the block's events. */
  expect: { height: bigint; ids: readonly Hex[]; anchor: TrustedAnchor | null; runtime?: SubstrateRuntime },
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
        case 'ibft2': {
          if (expect.anchor?.kind !== 'state-root') return { ok: false, reason: 'untrusted_header', detail: 'the BFT light client has not verified this height' };
          const r = verifyEvmStateCommitments(proof, { port, height: expect.height, trustedStateRoot: expect.anchor.stateRoot, slots });
          return r.ok ? { ok: true, lightClient: reg.lightClient } : { ok: false, reason: r.reason, detail: r.detail };
        }
        case 'eth-sync-committee':
        case 'tendermint':
        case 'grandpa':
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
    case 'cosmos':
    case 'fabric':
      return { ok: false, reason: 'unsupported_family', detail: `no ${reg.family} source adapter is wired yet` };
  }
  return { ok: false, reason: 'unsupported_light_client', detail: `light client ${reg.lightClient}` };
}
