import { ROOT_TYPE } from '../../src/domain/attestation.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { ContractRevertError, findCause, NotReadyError } from '../../src/errors.ts';
import type { CommittedSnapshot, SnapshotLogClient } from '../../src/governance/snapshots.ts';
import type { AttestationRow } from '../../src/index/types.ts';
import type { SnapshotSource } from '../attestor/attestor.ts';
import type { ConnectedChain, StageContext } from '../context.ts';
import { isMissingFunction } from './missing-function.ts';
import { LaneFeePusher } from './lane-fees.ts';
import { signaturesForPort } from './signatures.ts';

export interface SnapshotSettings {
  /** Builds the registry tree at a governance block (the hub's registry reader). */
  source: SnapshotSource;
  /** How often the registries are checked for a change (config `registry.snapshotIntervalMs`). */
  intervalMs: number;
  /**
   * An unchanged tree is committed again once the latest snapshot is this much
   * older than the governance chain's final block, so ports never let it pass
   * their maximum age while nothing changes; 0 never refreshes.
   */
  refreshSeconds?: number;
}

const isZero = (h: Hex) => /^0x0*$/.test(h);

/**
 * Registry snapshots (root type 2): commits a new snapshot to the MessageLog
 * when the registry tree changed, has the local attestors of the current set
 * sign the latest one after recomputing it, and delivers it to every connected
 * port that holds registry roots.
 */
export class SnapshotPipeline {
  private lastCheck = 0;
  private lastBuilt = -1n;
  private unsupported = false;
  private probed = false;
  /** The snapshot number each connected port was last brought to (per connection). */
  private readonly delivered = new WeakMap<ConnectedChain, bigint>();
  /** Lane fees ride on the snapshots: set at each source port once the port holds the snapshot. */
  private readonly laneFees: LaneFeePusher;

  constructor(
    private readonly ctx: StageContext,
    private readonly log: SnapshotLogClient,
    private readonly settings: SnapshotSettings,
  ) {
    this.laneFees = new LaneFeePusher(ctx, settings.source);
  }

  /** The highest final governance block whose registries were compared with the latest snapshot (-1 before the first). */
  get checkedThrough(): bigint {
    return this.lastBuilt;
  }

  async step(now = Date.now()): Promise<void> {
    if (this.unsupported) return;
    if (!this.probed) {
      try {
        await this.log.nextSnapshotNo();
        this.probed = true;
      } catch (err) {
        if (!isMissingFunction(err)) throw err;
        this.unsupported = true;
        this.ctx.logger.warn({ messageLog: this.ctx.gov.addresses.messageLog }, 'the MessageLog predates registry snapshots: snapshots are off for this governance chain');
        return;
      }
    }
    if (now - this.lastCheck >= this.settings.intervalMs) {
      this.lastCheck = now;
      await this.commitIfChanged();
    }
    const latest = await this.log.latest();
    if (!latest) return;
    const rows = await this.attest(latest);
    await this.deliver(latest, rows);
    await this.laneFees.push(latest);
  }

  private async commitIfChanged(): Promise<void> {
    const { ctx } = this;
    const final = BigInt(await ctx.gov.provider.getBlockNumber()) - BigInt(ctx.settings.govFinalityDepth);
    // No new final block: the registries cannot have changed.
    if (final <= this.lastBuilt) return;
    const latest = await this.log.latest();
    if (latest && final <= latest.sourceBlock) {
      this.lastBuilt = latest.sourceBlock;
      return;
    }
    const built = await this.settings.source(final);
    if (isZero(built.treeRoot)) {
      this.lastBuilt = final;
      return;
    }
    const refresh = BigInt(this.settings.refreshSeconds ?? 0);
    const aged = latest !== null && refresh > 0n && built.takenAt - latest.takenAt >= refresh;
    if (latest && latest.treeRoot === built.treeRoot.toLowerCase() && !aged) {
      this.lastBuilt = final;
      return;
    }
    const snapshotNo = await this.log.nextSnapshotNo();
    try {
      const r = await this.log.commit(ctx.committer, { snapshotNo, treeRoot: built.treeRoot, takenAt: built.takenAt, sourceBlock: built.blockNumber });
      this.lastBuilt = final;
      ctx.logger.info({ snapshotNo: snapshotNo.toString(), treeRoot: built.treeRoot, takenAt: built.takenAt.toString(), sourceBlock: built.blockNumber.toString(), txHash: r.hash }, 'registry snapshot committed');
    } catch (err) {
      // Another relayer committed this number first: the next check compares against it.
      if (findCause(err, ContractRevertError)?.errorName === 'WrongSnapshotNo') return;
      throw err;
    }
  }

  /** The local attestors of the current set sign the latest snapshot (each recomputes it first). */
  private async attest(latest: CommittedSnapshot): Promise<AttestationRow[]> {
    const { ctx } = this;
    const rows = () => ctx.index.attestations(latest.snapshotNo, ROOT_TYPE.registrySnapshot);
    const set = await ctx.gov.attestors();
    const members = new Set(set.members.map((m) => m.toLowerCase()));
    const have = new Set((await rows()).filter((r) => r.setId === set.setId.toString()).map((r) => r.attestor.toLowerCase()));
    for (const a of ctx.attestors) {
      const addr = a.address.toLowerCase();
      if (have.has(addr) || !members.has(addr) || !a.attestsSnapshots) continue;
      try {
        const sig = await a.attestSnapshot(latest.snapshotNo);
        await ctx.index.addAttestation({ batchNo: latest.snapshotNo, rootType: ROOT_TYPE.registrySnapshot, setId: sig.setId, attestor: sig.attestor, signature: sig.signature });
      } catch (err) {
        if (findCause(err, NotReadyError)) break;
        ctx.logger.warn({ err, attestor: a.address, snapshotNo: latest.snapshotNo.toString() }, 'attestor did not sign the registry snapshot');
      }
    }
    return rows();
  }

  private async deliver(latest: CommittedSnapshot, rows: AttestationRow[]): Promise<void> {
    const { ctx } = this;
    // Ports on different chains are independent: one slow chain does not hold up the others.
    const one = async (chain: ConnectedChain): Promise<void> => {
      const d = chain.adapter.deliverer;
      if (!d.registryRoot || !d.acceptRegistryRoot || !d.attestorState) return;
      if ((this.delivered.get(chain) ?? 0n) >= latest.snapshotNo) return;
      try {
        const held = await d.registryRoot();
        if (held.snapshotNo >= latest.snapshotNo) {
          this.delivered.set(chain, held.snapshotNo);
          return;
        }
        const signed = signaturesForPort(rows, await d.attestorState());
        // Not enough signatures of a set this port takes yet (or it waits for a hand-over).
        if (!signed) return;
        const tx = await d.acceptRegistryRoot({ setId: signed.setId, snapshotNo: latest.snapshotNo, treeRoot: latest.treeRoot, takenAt: latest.takenAt, signatures: signed.signatures });
        this.delivered.set(chain, latest.snapshotNo);
        ctx.logger.info({ chain: chain.registration.chainId, snapshotNo: latest.snapshotNo.toString(), txHash: tx.txHash }, 'registry snapshot delivered to the port');
      } catch (err) {
        const name = findCause(err, ContractRevertError)?.errorName;
        // StaleSnapshot: another relayer delivered it first; WrongSetId: a hand-over landed meanwhile.
        if (name === 'StaleSnapshot' || name === 'WrongSetId') return;
        ctx.logger.warn({ err, chain: chain.registration.chainId }, 'could not deliver the registry snapshot to the port; retrying');
      }
    };
    await Promise.all([...ctx.chains.values()].map(one));
  }
}
