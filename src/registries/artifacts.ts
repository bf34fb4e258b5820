import { join } from 'node:path';
import { compileSolidity, CONTRACT_DIRS, type CompiledContract } from '../governance/solc.ts';

export interface RegistryArtifacts {
  IdentityRegistry: CompiledContract;
  IssuerRegistry: CompiledContract;
  CreditRegistry: CompiledContract;
}

export const REGISTRY_CONTRACTS = ['IdentityRegistry', 'IssuerRegistry', 'CreditRegistry'] as const;

export async function registryArtifacts(opts: { cacheDir?: string } = {}): Promise<RegistryArtifacts> {
  const out = await compileSolidity(
    REGISTRY_CONTRACTS.map((n) => join(CONTRACT_DIRS.governance, `${n}.sol`)),
    opts,
  );
  return { IdentityRegistry: out.IdentityRegistry!, IssuerRegistry: out.IssuerRegistry!, CreditRegistry: out.CreditRegistry! };
}
