import { Contract, ContractFactory, Interface } from 'ethers';
import type { Logger } from 'pino';
import type { TxSender } from '../evm/signer.ts';
import { deployRegistries } from '../registries/deploy.ts';
import type { RegistryArtifacts } from '../registries/artifacts.ts';
import type { RegistryAddresses } from '../registries/types.ts';
import type { GovernanceArtifacts } from './artifacts.ts';
import { GovernanceClient, type GovernanceAddresses } from './client.ts';
import { DEFAULT_EMERGENCY_SIGNATURES, selectorOf } from './council.ts';
import { directGovernance } from './govern.ts';

/** Every contract of the governance chain. */
export type GovernanceContracts = GovernanceAddresses & RegistryAddresses & { council: string; laneFeeRegistry: string };

/** What a data folder may hold: folders from before the council lack it and the registries. */
export type SavedContracts = GovernanceAddresses & Partial<RegistryAddresses> & { council?: string };

export interface CouncilSettings {
  members: string[];
  threshold: number;
  emergencyThreshold: number;
  delaySeconds: number;
  /** Function signatures the emergency path may call, e.g. `suspend(string)`. */
  emergencySignatures: readonly string[];
}

export interface DeploySettings {
  attestors: string[];
  threshold: number;
  committer: string;
  /** Seconds of the council's timelock (config `governance.council.delaySeconds`). */
  councilDelaySeconds: number;
}

type Artifacts = GovernanceArtifacts & { registries: RegistryArtifacts };

export interface GovernedContract {
  /** Contract name, e.g. `ChainRegistry`. */
  name: string;
  address: string;
  iface: Interface;
}

const CONTRACT_NAMES: Record<keyof GovernanceContracts, keyof GovernanceArtifacts | keyof RegistryArtifacts> = {
  council: 'Council',
  chainRegistry: 'ChainRegistry',
  attestorSet: 'AttestorSet',
  messageLog: 'MessageLog',
  identityRegistry: 'IdentityRegistry',
  issuerRegistry: 'IssuerRegistry',
  creditRegistry: 'CreditRegistry',
  laneFeeRegistry: 'LaneFeeRegistry',
};

/** Every governance-chain contract with its interface: to decode proposals and the errors their targets raise. */
export function governedContracts(contracts: GovernanceContracts, artifacts: GovernanceArtifacts & RegistryArtifacts): GovernedContract[] {
  // A data folder opened before its hub deployed the lane fees lacks that one address.
  return (Object.keys(CONTRACT_NAMES) as (keyof GovernanceContracts)[])
    .filter((k) => contracts[k] !== undefined)
    .map((k) => ({
      name: CONTRACT_NAMES[k],
      address: contracts[k],
      iface: new Interface(artifacts[CONTRACT_NAMES[k]].abi as never),
    }));
}

async function deployContract(deployer: TxSender, artifact: { abi: unknown[]; bytecode: string }, args: unknown[]): Promise<string> {
  const f = new ContractFactory(artifact.abi as never, artifact.bytecode, deployer.signer);
  const c = await f.deploy(...args);
  await c.waitForDeployment();
  return c.getAddress();
}

async function call(deployer: TxSender, address: string, abi: unknown[], fn: string, args: unknown[]): Promise<void> {
  const c = new Contract(address, abi as never, deployer.signer);
  const tx = (await c.getFunction(fn)(...args)) as { wait(): Promise<unknown> };
  await tx.wait();
}

/** The embedded default council: the deployer's key alone, threshold 1, emergency 1. */
export function defaultCouncil(deployer: string, delaySeconds: number): CouncilSettings {
  return { members: [deployer], threshold: 1, emergencyThreshold: 1, delaySeconds, emergencySignatures: DEFAULT_EMERGENCY_SIGNATURES };
}

export async function deployCouncil(deployer: TxSender, artifacts: GovernanceArtifacts, s: CouncilSettings): Promise<string> {
  return deployContract(deployer, artifacts.Council, [s.members, s.threshold, s.emergencyThreshold, s.delaySeconds, s.emergencySignatures.map(selectorOf)]);
}

/**
 * First start: the Council first, then ChainRegistry, AttestorSet, MessageLog
 * and the identity, issuer and credit registries, every one governed by the
 * council. The MessageLog is handed over only after the deployer let the
 * relayer key commit, so the hub can commit even when the council has a timelock.
 */
export async function deployGovernance(deployer: TxSender, artifacts: Artifacts, s: DeploySettings): Promise<GovernanceContracts> {
  const council = await deployCouncil(deployer, artifacts, defaultCouncil(deployer.address, s.councilDelaySeconds));
  const chainRegistry = await deployContract(deployer, artifacts.ChainRegistry, [council]);
  const attestorSet = await deployContract(deployer, artifacts.AttestorSet, [council, s.attestors, s.threshold]);
  const messageLog = await deployContract(deployer, artifacts.MessageLog, [deployer.address]);
  await call(deployer, messageLog, artifacts.MessageLog.abi, 'setCommitter', [s.committer, true]);
  await call(deployer, messageLog, artifacts.MessageLog.abi, 'setGovernor', [council]);
  // The attestation domain names the MessageLog; the deployer may tell the AttestorSet once.
  await call(deployer, attestorSet, artifacts.AttestorSet.abi, 'setMessageLog', [messageLog]);
  const registries = await deployRegistries(deployer, council, artifacts.registries);
  const laneFeeRegistry = await deployContract(deployer, artifacts.LaneFeeRegistry, [council]);
  return { council, chainRegistry, attestorSet, messageLog, ...registries, laneFeeRegistry };
}

/**
 * Brings a saved deployment up to date, one saved step at a time so a crash
 * part-way never deploys a second council. A data folder from before the
 * council gets one (the old governor key as its only member) and the
 * registries; then the committer and the attestation domain are checked, and
 * the older contracts are handed over (setGovernor, sent by the old governor
 * key). Steps already done are skipped, so running it on every start is harmless.
 */
export async function ensureGovernance(
  deployer: TxSender,
  artifacts: Artifacts,
  saved: SavedContracts,
  { councilDelaySeconds, committer, save, logger }: { councilDelaySeconds: number; committer: string; save(c: SavedContracts): Promise<void>; logger?: Logger },
): Promise<GovernanceContracts> {
  let c: SavedContracts = { ...saved };
  if (!c.council) {
    c = { ...c, council: await deployCouncil(deployer, artifacts, defaultCouncil(deployer.address, councilDelaySeconds)) };
    await save(c);
    logger?.info({ council: c.council }, 'council deployed for an existing governance chain');
  }
  const council = c.council!;
  if (!c.identityRegistry || !c.issuerRegistry || !c.creditRegistry) {
    c = { ...c, ...(await deployRegistries(deployer, council, artifacts.registries)) };
    await save(c);
    logger?.info({ identityRegistry: c.identityRegistry, issuerRegistry: c.issuerRegistry, creditRegistry: c.creditRegistry }, 'registries deployed');
  }
  // Deployed last on a first start, so also the one a governance chain killed early may have lost.
  if (!c.laneFeeRegistry || (await deployer.provider.getCode(c.laneFeeRegistry)) === '0x') {
    c = { ...c, laneFeeRegistry: await deployContract(deployer, artifacts.LaneFeeRegistry, [council]) };
    await save(c);
    logger?.info({ laneFeeRegistry: c.laneFeeRegistry }, 'lane fee registry deployed');
  }
  const gov = new GovernanceClient(deployer.provider, (await deployer.provider.getNetwork()).chainId, c, artifacts);
  const direct = directGovernance(deployer);
  const me = deployer.address.toLowerCase();
  let governors = await gov.governors();
  if (!(await gov.messageLog.getFunction('isCommitter')(committer))) {
    // Lost with a governance chain killed right after the first deployment: set it again.
    if (governors.messageLog.toLowerCase() === me) await gov.setCommitter(direct, committer, true);
    else logger?.warn({ committer, governor: governors.messageLog }, 'the relayer key may not commit batches, and this key cannot allow it: governance must (setCommitter)');
  }
  const attestorSet = new Contract(c.attestorSet, artifacts.AttestorSet.abi as never, deployer.signer);
  const domainLog = await (attestorSet.getFunction('messageLog')() as Promise<string>).catch(() => null);
  // null: an AttestorSet from before the hand-over protocol, which has no attestation domain to set.
  if (domainLog !== null && /^0x0{40}$/.test(domainLog)) await call(deployer, c.attestorSet, artifacts.AttestorSet.abi, 'setMessageLog', [c.messageLog]);
  governors = await gov.governors();
  for (const name of ['chainRegistry', 'attestorSet', 'messageLog'] as const) {
    if (governors[name].toLowerCase() === council.toLowerCase()) continue;
    if (governors[name].toLowerCase() !== me) {
      // Governed by someone else (an external council): not ours to hand over.
      logger?.warn({ contract: name, governor: governors[name] }, 'contract is governed by another address; left as it is');
      continue;
    }
    await gov.setGovernor(direct, name, council);
    logger?.info({ contract: name, council }, 'contract handed over to the council');
  }
  return c as GovernanceContracts;
}
