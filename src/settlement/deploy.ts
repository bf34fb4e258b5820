import { ContractFactory, getAddress } from 'ethers';
import type { TxSender } from '../evm/signer.ts';
import { validateAddress } from '../registries/validate.ts';
import type { EscrowArtifacts, SettlementArtifacts } from './artifacts.ts';

export interface SettlementHubSettings {
  /** The council (or a plain key in tests). */
  governor: string;
  identityRegistry: string;
  issuerRegistry: string;
  creditRegistry: string;
}

export interface EscrowSettings {
  /** The QiaoPort of the escrow's own chain. */
  port: string;
  /** CAIP-2 of the governance chain. */
  govChain: string;
  /** SettlementHub's address on the governance chain. */
  settlementHub: string;
  /** The governance chain's QiaoPort (where the escrow's messages are addressed). */
  govPort: string;
}

export interface DemoTokenSettings {
  name: string;
  symbol: string;
  /** Who may mint; default the deployer. */
  owner?: string;
}

async function deploy(deployer: TxSender, a: { abi: unknown[]; bytecode: string }, args: unknown[]): Promise<string> {
  const c = await new ContractFactory(a.abi as never, a.bytecode, deployer.signer).deploy(...args);
  await c.waitForDeployment();
  return getAddress(await c.getAddress());
}

/** Deploys SettlementHub on the governance chain; the deployer only pays. */
export async function deploySettlementHub(deployer: TxSender, artifacts: SettlementArtifacts, s: SettlementHubSettings): Promise<string> {
  return deploy(deployer, artifacts.SettlementHub, [
    validateAddress(s.governor, 'governor'),
    validateAddress(s.identityRegistry, 'identityRegistry'),
    validateAddress(s.issuerRegistry, 'issuerRegistry'),
    validateAddress(s.creditRegistry, 'creditRegistry'),
  ]);
}

/** Deploys QiaoEscrow on a member chain, bound to its port and to SettlementHub on the governance chain. */
export async function deployEscrow(deployer: TxSender, artifacts: EscrowArtifacts, s: EscrowSettings): Promise<string> {
  return deploy(deployer, artifacts.QiaoEscrow, [
    validateAddress(s.port, 'port'),
    s.govChain,
    validateAddress(s.settlementHub, 'settlementHub').toLowerCase(),
    validateAddress(s.govPort, 'govPort').toLowerCase(),
  ]);
}

/** Deploys a DemoToken (ERC-20, 6 decimals, owner mint). */
export async function deployDemoToken(deployer: TxSender, artifacts: EscrowArtifacts, s: DemoTokenSettings): Promise<string> {
  return deploy(deployer, artifacts.DemoToken, [s.name, s.symbol, validateAddress(s.owner ?? deployer.address, 'owner')]);
}
