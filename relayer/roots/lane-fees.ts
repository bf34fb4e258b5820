import { keccak256, toUtf8Bytes } from 'ethers';
import type { PortTx } from '../../src/domain/adapter.ts';
import type { Hex } from '../../src/domain/hex.ts';
import { ContractRevertError, findCause } from '../../src/errors.ts';
import type { CommittedSnapshot } from '../../src/governance/snapshots.ts';
import type { RegistrySnapshot } from '../../src/registries/snapshot/builder.ts';
import { LEAF_KIND, laneFeeOfLeaf, type RegistryLeaf } from '../../src/registries/snapshot/leaves.ts';
import type { SnapshotSource } from '../attestor/attestor.ts';
import type { ConnectedChain, StageContext } from '../context.ts';

/** What a port that takes lane fees offers (QiaoPort on EVM chains; see LaneFeeRegistry.sol). */
export interface LaneFeePort {
  registryRoot(): Promise<{ snapshotNo: bigint }>;
  /** The fee the port charges on a lane (keyed by keccak256(dstChain)) and the snapshot it came from. */
  laneFee(lane: Hex): Promise<{ fee: bigint; snapshotNo: bigint }>;
  setLaneFee(leaf: RegistryLeaf, proof: Hex[]): Promise<PortTx>;
}

type FullSnapshot = Pick<RegistrySnapshot, 'treeRoot' | 'leaves' | 'proofFor'>;

const isFull = (s: unknown): s is FullSnapshot => typeof s === 'object' && s !== null && Array.isArray((s as FullSnapshot).leaves) && typeof (s as FullSnapshot).proofFor === 'function';

/**
 * Carries lane fees to the source ports: once a port holds the latest registry
 * snapshot, every lane fee leaf of that chain as source whose fee differs from
 * what the port charges is handed to its `setLaneFee` (permissionless: the leaf
 * and the attested root are the authority, not the relayer key).
 */
export class LaneFeePusher {
  private readonly pushed = new WeakMap<ConnectedChain, bigint>();
  private built: { snapshotNo: bigint; snap: Promise<unknown> } | null = null;
  private warnedNoLeaves = false;

  constructor(
    private readonly ctx: Pick<StageContext, 'chains' | 'logger'>,
    private readonly source: SnapshotSource | ((block: bigint) => Promise<FullSnapshot>),
    private readonly portOf: (chain: ConnectedChain) => LaneFeePort | null = defaultPortOf,
  ) {}

  /** One pass over the connected chains for the latest committed snapshot; idempotent. */
  async push(latest: CommittedSnapshot): Promise<void> {
    await Promise.all([...this.ctx.chains.values()].map((c) => this.pushTo(c, latest)));
  }

  private async pushTo(chain: ConnectedChain, latest: CommittedSnapshot): Promise<void> {
    const port = this.portOf(chain);
    if (!port || (this.pushed.get(chain) ?? 0n) >= latest.snapshotNo) return;
    const chainId = chain.registration.chainId;
    try {
      // A leaf proves only against the root the port holds: wait until the snapshot pipeline delivered it.
      if ((await port.registryRoot()).snapshotNo !== latest.snapshotNo) return;
      const snap = await this.snapshot(latest);
      if (!snap) return;
      const src = keccak256(toUtf8Bytes(chainId)).toLowerCase();
      for (const leaf of snap.leaves) {
        if (leaf.kind !== LEAF_KIND.laneFee || leaf.a.toLowerCase() !== src) continue;
        const { fee } = laneFeeOfLeaf(leaf);
        if ((await port.laneFee(leaf.b)).fee === fee) continue;
        const tx = await port.setLaneFee(leaf, snap.proofFor(LEAF_KIND.laneFee, leaf.key)!.proof);
        this.ctx.logger.info({ chain: chainId, lane: leaf.b, fee: fee.toString(), snapshotNo: latest.snapshotNo.toString(), txHash: tx.txHash }, 'lane fee set at the source port');
      }
      this.pushed.set(chain, latest.snapshotNo);
    } catch (err) {
      // A newer snapshot reached the port meanwhile (or this one aged out): the next snapshot carries the fees.
      if (findCause(err, ContractRevertError)?.errorName === 'LeafNotAccepted') return;
      this.ctx.logger.warn({ err, chain: chainId, snapshotNo: latest.snapshotNo.toString() }, 'could not set lane fees at the port; retrying');
    }
  }

  /** The snapshot's tree, built once per snapshot number and checked against the committed root. */
  private async snapshot(latest: CommittedSnapshot): Promise<FullSnapshot | null> {
    if (this.built?.snapshotNo !== latest.snapshotNo) {
      const snap = this.source(latest.sourceBlock);
      snap.catch(() => {
        if (this.built?.snap === snap) this.built = null;
      });
      this.built = { snapshotNo: latest.snapshotNo, snap };
    }
    const s = await this.built.snap;
    if (!isFull(s)) {
      if (!this.warnedNoLeaves) this.ctx.logger.warn('the registry snapshot source gives no leaves: lane fees are not carried to the ports');
      this.warnedNoLeaves = true;
      return null;
    }
    if (s.treeRoot.toLowerCase() !== latest.treeRoot.toLowerCase()) {
      this.ctx.logger.warn({ snapshotNo: latest.snapshotNo.toString(), committed: latest.treeRoot, rebuilt: s.treeRoot }, 'the rebuilt registry tree differs from the committed snapshot: lane fees not pushed');
      return null;
    }
    return s;
  }
}

/** The port's lane fee calls, where its adapter has them (EVM ports deployed since lane fees exist). */
function defaultPortOf(chain: ConnectedChain): LaneFeePort | null {
  const d = chain.adapter.deliverer as Partial<LaneFeePort>;
  return d.registryRoot && d.laneFee && d.setLaneFee ? (d as LaneFeePort) : null;
}
