import { QiaoError } from '../../errors.ts';
import type { Hex } from '../../domain/hex.ts';
import type { CommittedSnapshot as LoggedSnapshot } from '../../governance/snapshots.ts';
import type { RegistrySnapshot } from './builder.ts';

/**
 * A registry snapshot as MessageLog records it (src/governance/snapshots.ts reads
 * it), plus the attestation the attest stage collected, when it has.
 */
export interface CommittedSnapshot extends LoggedSnapshot {
  /** The attestor set and its signatures over the attested root (root type 2). */
  attestation?: { setId: bigint; signatures: Hex[] } | null;
}

/** The committed snapshot's tree, rebuilt from the registries, does not give the committed root. */
export class SnapshotMismatchError extends QiaoError {
  constructor(committed: CommittedSnapshot, rebuilt: RegistrySnapshot) {
    super(
      'snapshot_mismatch',
      `registry snapshot ${committed.snapshotNo}: the registries at block ${rebuilt.blockNumber} give root ${rebuilt.treeRoot} taken at ${rebuilt.takenAt}, MessageLog holds ${committed.treeRoot} taken at ${committed.takenAt}`,
      { data: { snapshotNo: committed.snapshotNo.toString(), committed: committed.treeRoot, rebuilt: rebuilt.treeRoot } },
    );
  }
}

/** Throws unless `built` is the tree the commit describes (same root and takenAt). */
export function assertMatchesCommitted(committed: CommittedSnapshot, built: RegistrySnapshot): void {
  if (built.treeRoot !== committed.treeRoot || built.takenAt !== committed.takenAt) {
    throw new SnapshotMismatchError(committed, built);
  }
}

/**
 * Remembers the last few snapshots built, by source block: the registries at a
 * past block never change, so a rebuild would only cost reads.
 */
export class SnapshotCache {
  readonly #build: (sourceBlock: bigint) => Promise<RegistrySnapshot>;
  readonly #size: number;
  readonly #entries = new Map<bigint, Promise<RegistrySnapshot>>();

  constructor(build: (sourceBlock: bigint) => Promise<RegistrySnapshot>, { size = 4 }: { size?: number } = {}) {
    this.#build = build;
    this.#size = size;
  }

  at(sourceBlock: bigint): Promise<RegistrySnapshot> {
    let p = this.#entries.get(sourceBlock);
    if (!p) {
      p = this.#build(sourceBlock);
      // A failed build must not stay cached.
      p.catch(() => this.#entries.delete(sourceBlock));
      this.#entries.set(sourceBlock, p);
      while (this.#entries.size > this.#size) this.#entries.delete(this.#entries.keys().next().value!);
    }
    return p;
  }
}
