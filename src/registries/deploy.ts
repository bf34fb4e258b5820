import { ContractFactory } from 'ethers';
import type { TxSender } from '../evm/signer.ts';
import type { RegistryArtifacts } from './artifacts.ts';
import type { RegistryAddresses } from './types.ts';
import { validateAddress } from './validate.ts';

/**
 * Deploys IdentityRegistry, IssuerRegistry and CreditRegistry with `governor`
 * (the council, or a plain key in tests) as their governor. The deployer only pays.
 */
export async function deployRegistries(deployer: TxSender, governor: string, artifacts: RegistryArtifacts): Promise<RegistryAddresses> {
  const gov = validateAddress(governor, 'governor');
  const deploy = async (name: keyof RegistryArtifacts, args: unknown[]): Promise<string> => {
    const a = artifacts[name];
    const c = await new ContractFactory(a.abi as never, a.bytecode, deployer.signer).deploy(...args);
    await c.waitForDeployment();
    return c.getAddress();
  };
  const identityRegistry = await deploy('IdentityRegistry', [gov]);
  const issuerRegistry = await deploy('IssuerRegistry', [gov, identityRegistry]);
  const creditRegistry = await deploy('CreditRegistry', [gov, identityRegistry, issuerRegistry]);
  return { identityRegistry, issuerRegistry, creditRegistry };
}
