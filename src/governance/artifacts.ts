import { join } from 'node:path';
import { compileSolidity, CONTRACT_DIRS, type CompiledContract } from './solc.ts';

export interface GovernanceArtifacts {
  Council: CompiledContract;
  ChainRegistry: CompiledContract;
  AttestorSet: CompiledContract;
  MessageLog: CompiledContract;
  LaneFeeRegistry: CompiledContract;
}

const NAMES = ['Council', 'ChainRegistry', 'AttestorSet', 'MessageLog', 'LaneFeeRegistry'] as const;

export async function governanceArtifacts(opts: { cacheDir?: string } = {}): Promise<GovernanceArtifacts> {
  const out = await compileSolidity(
    NAMES.map((n) => join(CONTRACT_DIRS.governance, `${n}.sol`)),
    opts,
  );
  return { Council: out.Council!, ChainRegistry: out.ChainRegistry!, AttestorSet: out.AttestorSet!, MessageLog: out.MessageLog!, LaneFeeRegistry: out.LaneFeeRegistry! };
}
