import type { ChainRegistration } from '../src/domain/chain.ts';
import type { SourceProof } from '../src/domain/adapter.ts';
import type { Hex } from '../src/domain/hex.ts';
import { commitmentSlot, verifyEvmCommitments } from '../proofs/evm/commitments.ts';
import { COMMITMENTS_SLOT } from '../adapters/evm/artifacts.ts';

export type SourceVerdict = { ok: true; lightClient: string } | { ok: false; reason: string; detail: string };

/**
 * The relayer's verify step, dispatched by family and light-client type. A chain
 * registered with `local-dev` trusts its primary RPC's header hash (the proof is
 * still checked against it); real light clients plug in here.
 */
export function verifySourceProof(
  reg: ChainRegistration,
  proof: SourceProof,
  expect: { height: bigint; ids: readonly Hex[]; trustedHeaderHash: Hex | null },
  { allowLocalDev }: { allowLocalDev: boolean },
): SourceVerdict {
  switch (reg.family) {
    case 'evm': {
      if (reg.lightClient !== 'local-dev') {
        return { ok: false, reason: 'unsupported_light_client', detail: `light client ${reg.lightClient} is not wired into the verify stage yet` };
      }
      if (!allowLocalDev) return { ok: false, reason: 'untrusted_header', detail: 'local-dev trust is accepted only for chains the hub started, or with --dev' };
      if (!expect.trustedHeaderHash) return { ok: false, reason: 'untrusted_header', detail: 'no trusted header hash for this height' };
      const r = verifyEvmCommitments(proof, {
        port: reg.port,
        height: expect.height,
        trustedBlockHash: expect.trustedHeaderHash,
        slots: expect.ids.map((id) => commitmentSlot(id, COMMITMENTS_SLOT)),
      });
      return r.ok ? { ok: true, lightClient: reg.lightClient } : { ok: false, reason: r.reason, detail: r.detail };
    }
    case 'cosmos':
    case 'substrate':
    case 'fabric':
      return { ok: false, reason: 'unsupported_family', detail: `no ${reg.family} verifier is wired yet` };
  }
}
