import { ContractFactory } from 'ethers';
import type { ChainId } from '../../src/domain/caip.ts';
import type { TxSender } from '../../src/evm/signer.ts';
import type { PortArtifacts } from './artifacts.ts';

export interface PortDeployment {
  port: string;
}

export interface PortSettings {
  chainId: ChainId;
  govChainId: bigint;
  messageLog: string;
  attestors: string[];
  threshold: number;
  setId: bigint;
  /** Seconds the previous attestor set still signs deliveries after a hand-over (config `attestors.rotationGraceSeconds`). */
  rotationGraceSeconds?: number;
  /** Seconds a registry snapshot stays usable for proofs (config `registry.maxRootAgeSeconds`). */
  maxRegistryAge?: number;
}

export const DEFAULT_ROTATION_GRACE_SECONDS = 3600;
export const DEFAULT_MAX_REGISTRY_AGE = 86_400;

export async function deployPort(
  sender: TxSender,
  artifacts: PortArtifacts,
  { chainId, govChainId, messageLog, attestors, threshold, setId, rotationGraceSeconds = DEFAULT_ROTATION_GRACE_SECONDS, maxRegistryAge = DEFAULT_MAX_REGISTRY_AGE }: PortSettings,
): Promise<string> {
  const f = new ContractFactory(artifacts.QiaoPort.abi as never, artifacts.QiaoPort.bytecode, sender.signer);
  const c = await f.deploy(chainId, govChainId, messageLog, attestors, threshold, setId, rotationGraceSeconds, maxRegistryAge);
  await c.waitForDeployment();
  return c.getAddress();
}

export async function deployDemoApps(sender: TxSender, artifacts: PortArtifacts, port: string): Promise<{ receiver: string; sender: string }> {
  const r = await new ContractFactory(artifacts.DemoReceiver.abi as never, artifacts.DemoReceiver.bytecode, sender.signer).deploy(port);
  await r.waitForDeployment();
  const s = await new ContractFactory(artifacts.DemoSender.abi as never, artifacts.DemoSender.bytecode, sender.signer).deploy(port);
  await s.waitForDeployment();
  return { receiver: await r.getAddress(), sender: await s.getAddress() };
}
