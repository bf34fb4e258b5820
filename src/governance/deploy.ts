import { Contract, ContractFactory } from 'ethers';
import type { TxSender } from '../evm/signer.ts';
import type { GovernanceArtifacts } from './artifacts.ts';
import type { GovernanceAddresses } from './client.ts';

/**
 * First start: deploys ChainRegistry, AttestorSet and MessageLog with `governor`
 * as their governor, and lets the relayer key commit batches.
 */
export async function deployGovernance(
  governor: TxSender,
  artifacts: GovernanceArtifacts,
  { attestors, threshold, committer }: { attestors: string[]; threshold: number; committer: string },
): Promise<GovernanceAddresses> {
  const deploy = async (name: keyof GovernanceArtifacts, args: unknown[]) => {
    const a = artifacts[name];
    const f = new ContractFactory(a.abi as never, a.bytecode, governor.signer);
    const c = await f.deploy(...args);
    await c.waitForDeployment();
    return c.getAddress();
  };
  const chainRegistry = await deploy('ChainRegistry', [governor.address]);
  const attestorSet = await deploy('AttestorSet', [governor.address, attestors, threshold]);
  const messageLog = await deploy('MessageLog', [governor.address]);
  const log = new Contract(messageLog, artifacts.MessageLog.abi as never, governor.signer);
  const tx = (await log.getFunction('setCommitter')(committer, true)) as { wait(): Promise<unknown> };
  await tx.wait();
  return { chainRegistry, attestorSet, messageLog };
}
