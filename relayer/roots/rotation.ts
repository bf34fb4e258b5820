import { ROOT_TYPE } from '../../src/domain/attestation.ts';
import { ContractRevertError, findCause, NotReadyError } from '../../src/errors.ts';
import type { AttestorSetClient, AttestorSetInfo } from '../../src/governance/attestor-set.ts';
import type { ConnectedChain, StageContext } from '../context.ts';
import { isMissingFunction } from './missing-function.ts';
import { signaturesOf } from './signatures.ts';

/**
 * The attestor-set hand-over, carried by the relayer: the hub's attestors of the
 * current set sign the pending set (root type 3), the signatures activate it on
 * the governance chain, and every connected port is walked forward through each
 * activated hand-over it has not seen, in order.
 */
export class RotationCarrier {
  /** The governance set each connected port was last brought to (per connection). */
  private readonly synced = new WeakMap<ConnectedChain, bigint>();
  private readonly stuck = new WeakMap<ConnectedChain, bigint>();
  private unsupported = false;

  constructor(
    private readonly ctx: StageContext,
    private readonly sets: AttestorSetClient,
  ) {}

  async step(): Promise<void> {
    if (this.unsupported) return;
    let pending;
    try {
      pending = await this.sets.pending();
    } catch (err) {
      if (!isMissingFunction(err)) throw err;
      this.unsupported = true;
      this.ctx.logger.warn({ attestorSet: this.ctx.gov.addresses.attestorSet }, 'the AttestorSet predates signed hand-overs: attestor-set rotation is off for this governance chain');
      return;
    }
    if (pending) await this.activate(pending);
    await this.carryToPorts();
  }

  /** Collects the local attestors' signatures over the pending set and activates it at threshold. */
  private async activate(pending: AttestorSetInfo): Promise<void> {
    const { ctx } = this;
    const current = await this.sets.current();
    const members = new Set(current.members.map((m) => m.toLowerCase()));
    const rows = () => ctx.index.attestations(pending.setId, ROOT_TYPE.attestorSet);
    const have = new Set((await rows()).filter((r) => r.setId === current.setId.toString()).map((r) => r.attestor.toLowerCase()));
    for (const a of ctx.attestors) {
      const addr = a.address.toLowerCase();
      if (have.has(addr) || !members.has(addr)) continue;
      try {
        const sig = await a.attestAttestorSet(pending.setId);
        await ctx.index.addAttestation({ batchNo: pending.setId, rootType: ROOT_TYPE.attestorSet, setId: sig.setId, attestor: sig.attestor, signature: sig.signature });
      } catch (err) {
        if (findCause(err, NotReadyError)) return;
        ctx.logger.warn({ err, attestor: a.address, setId: pending.setId.toString() }, 'attestor did not sign the attestor-set hand-over');
      }
    }
    const signed = signaturesOf(await rows(), current);
    if (!signed) {
      ctx.logger.debug({ setId: pending.setId.toString(), threshold: current.threshold }, 'attestor-set hand-over waits for signatures');
      return;
    }
    try {
      const r = await this.sets.activate(ctx.committer, signed.signatures);
      ctx.logger.info({ setId: pending.setId.toString(), previousSetId: current.setId.toString(), txHash: r.hash }, 'attestor set activated on the governance chain');
    } catch (err) {
      // Another relayer activated it first, or governance replaced the proposal meanwhile.
      const revert = findCause(err, ContractRevertError);
      if (revert?.errorName === 'NoPendingSet' || revert?.errorName === 'NotEnoughSignatures') {
        ctx.logger.info({ setId: pending.setId.toString(), reason: revert.errorName }, 'attestor-set activation skipped');
        return;
      }
      throw err;
    }
  }

  /** Brings every connected port that follows hand-overs up to the governance chain's current set. */
  private async carryToPorts(): Promise<void> {
    const { ctx } = this;
    const current = await this.sets.current();
    // Ports on different chains are independent: one slow chain does not hold up the others.
    const one = async (chain: ConnectedChain): Promise<void> => {
      const d = chain.adapter.deliverer;
      if (!d.attestorState || !d.rotateAttestors || this.synced.get(chain) === current.setId) return;
      try {
        const state = await d.attestorState();
        if (state.setId >= current.setId) {
          this.synced.set(chain, current.setId);
          return;
        }
        const hops = await this.sets.handOversSince(state.setId);
        if (!hops) {
          if (this.stuck.get(chain) !== state.setId) {
            ctx.logger.error(
              { chain: chain.registration.chainId, portSetId: state.setId.toString(), setId: current.setId.toString() },
              'the port holds an attestor set that is no ancestor of the current one; its admin must set it (setAttestors)',
            );
            this.stuck.set(chain, state.setId);
          }
          return;
        }
        for (const h of hops) {
          const tx = await d.rotateAttestors({ newSetId: h.setId, members: h.members, threshold: h.threshold, signatures: h.signatures });
          ctx.logger.info({ chain: chain.registration.chainId, setId: h.setId.toString(), previousSetId: h.previousSetId.toString(), txHash: tx.txHash }, 'attestor set handed over on the port');
        }
        this.synced.set(chain, current.setId);
      } catch (err) {
        const revert = findCause(err, ContractRevertError);
        // StaleSetId: another relayer carried it first; read the port again next time.
        if (revert?.errorName === 'StaleSetId') return;
        ctx.logger.warn({ err, chain: chain.registration.chainId }, 'could not carry the attestor-set hand-over to the port; retrying');
      }
    };
    await Promise.all([...ctx.chains.values()].map(one));
  }
}
