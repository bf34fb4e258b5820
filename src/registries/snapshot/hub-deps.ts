import type { Logger } from 'pino';
import type { AttestationDomain } from '../../domain/attestation.ts';
import type { Hex } from '../../domain/hex.ts';
import type { CommittedSnapshot as LoggedSnapshot } from '../../governance/snapshots.ts';
import type { AttestationRow } from '../../index/types.ts';
import { buildRegistrySnapshot, type SnapshotReader } from './builder.ts';
import { SnapshotCache, type CommittedSnapshot } from './committed.ts';
import type { RegistryProofRouteDeps } from './routes.ts';

const ROOT_TYPE_REGISTRY = 2;

/**
 * The proof routes' dependencies from what a hub already has: the MessageLog's
 * snapshots, the registries (rebuilt at a snapshot's source block, cached), the
 * index's collected signatures and the audit log.
 */
export function registryProofDeps(x: {
  log: { latest(): Promise<LoggedSnapshot | null> };
  registries: SnapshotReader;
  index: { attestations(batchNo: bigint, rootType?: number): Promise<AttestationRow[]> };
  audit: RegistryProofRouteDeps['audit'];
  /** Governance chain id and MessageLog address: the attestations' EIP-712 domain. */
  domain?: AttestationDomain;
  logger?: Logger;
  cacheSize?: number;
}): RegistryProofRouteDeps {
  const cache = new SnapshotCache((block) => buildRegistrySnapshot(x.registries, block), { size: x.cacheSize ?? 4 });
  return {
    async latestSnapshot(): Promise<CommittedSnapshot | null> {
      const s = await x.log.latest();
      if (!s) return null;
      return { ...s, attestation: newestSet(await x.index.attestations(s.snapshotNo, ROOT_TYPE_REGISTRY)) };
    },
    snapshotAt: (block) => cache.at(block),
    audit: x.audit,
    ...(x.domain ? { domain: x.domain } : {}),
    ...(x.logger ? { logger: x.logger } : {}),
  };
}

/** The signatures of the newest set that signed (after a hand-over, ports take that one). */
function newestSet(rows: readonly AttestationRow[]): CommittedSnapshot['attestation'] {
  if (rows.length === 0) return null;
  const setId = rows.map((r) => BigInt(r.setId)).reduce((m, v) => (v > m ? v : m));
  return { setId, signatures: rows.filter((r) => BigInt(r.setId) === setId).map((r) => r.signature as Hex) };
}
