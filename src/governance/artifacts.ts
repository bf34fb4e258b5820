import { join } from 'node:path';
import { compileSolidity, CONTRACT_DIRS, type CompiledContract } from './solc.ts';

export interface GovernanceArtifacts {
  ChainRegistry: CompiledContract;
  AttestorSet: CompiledContract;
  MessageLog: CompiledContract;
}

export async function governanceArtifacts(opts: { cacheDir?: string } = {}): Promise<GovernanceArtifacts> {
  const out = await compileSolidity(
    ['ChainRegistry', 'AttestorSet', 'MessageLog'].map((n) => join(CONTRACT_DIRS.governance, `${n}.sol`)),
    opts,
  );
  return { ChainRegistry: out.ChainRegistry!, AttestorSet: out.AttestorSet!, MessageLog: out.MessageLog! };
}
