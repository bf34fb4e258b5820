import { AbiCoder, keccak256, type TransactionReceipt } from 'ethers';
import type { Hex } from '../domain/hex.ts';
import type { TxSender } from '../evm/signer.ts';
import { decoderOf, sendChecked } from './checked-send.ts';
import type { GovernanceClient } from './client.ts';

/** A registry snapshot committed to the MessageLog. */
export interface CommittedSnapshot {
  snapshotNo: bigint;
  treeRoot: Hex;
  takenAt: bigint;
  /** The governance block the registries were read at. */
  sourceBlock: bigint;
  /** The block the commit was mined in. */
  blockNumber: bigint;
}

/** The root type 2 root attestors sign (batchNo = snapshot number). */
export function registrySnapshotRoot(treeRoot: Hex, takenAt: bigint): Hex {
  return keccak256(AbiCoder.defaultAbiCoder().encode(['bytes32', 'uint64'], [treeRoot, takenAt])) as Hex;
}

type Tag = { blockTag?: bigint | 'latest' };

/** The MessageLog's numbered registry snapshots. */
export class SnapshotLogClient {
  constructor(private readonly gov: GovernanceClient) {}

  private fn(name: string) {
    return this.gov.messageLog.getFunction(name);
  }

  async nextSnapshotNo({ blockTag = 'latest' }: Tag = {}): Promise<bigint> {
    return (await this.fn('nextSnapshotNo')({ blockTag })) as bigint;
  }

  async snapshot(snapshotNo: bigint, { blockTag = 'latest' }: Tag = {}): Promise<CommittedSnapshot | null> {
    const s = (await this.fn('snapshot')(snapshotNo, { blockTag })) as { treeRoot: string; takenAt: bigint; sourceBlock: bigint; blockNumber: bigint };
    if (s.blockNumber === 0n) return null;
    return { snapshotNo, treeRoot: s.treeRoot.toLowerCase() as Hex, takenAt: s.takenAt, sourceBlock: s.sourceBlock, blockNumber: s.blockNumber };
  }

  async latest(opts: Tag = {}): Promise<CommittedSnapshot | null> {
    const next = await this.nextSnapshotNo(opts);
    return next > 1n ? this.snapshot(next - 1n, opts) : null;
  }

  async commit(sender: TxSender, s: { snapshotNo: bigint; treeRoot: Hex; takenAt: bigint; sourceBlock: bigint }): Promise<TransactionReceipt> {
    const iface = this.gov.interfaces.messageLog;
    const data = iface.encodeFunctionData('commitSnapshot', [s.snapshotNo, s.treeRoot, s.takenAt, s.sourceBlock]);
    return sendChecked(this.gov.provider, sender, this.gov.addresses.messageLog, data, 'commitSnapshot', decoderOf([iface]));
  }
}
