import { join } from 'node:path';
import { compileSolidity, CONTRACT_DIRS, type CompiledContract } from '../governance/solc.ts';

export interface SettlementArtifacts {
  SettlementHub: CompiledContract;
}

export interface EscrowArtifacts {
  QiaoEscrow: CompiledContract;
  DemoToken: CompiledContract;
}

const SETTLEMENT_DIR = join(CONTRACT_DIRS.governance, '..', '..', 'settlement', 'contracts');

/** SettlementHub (governance chain), compiled through the shared solc cache. */
export async function settlementArtifacts(opts: { cacheDir?: string } = {}): Promise<SettlementArtifacts> {
  const out = await compileSolidity([join(SETTLEMENT_DIR, 'SettlementHub.sol')], opts);
  return { SettlementHub: out.SettlementHub! };
}

/** QiaoEscrow (member chains) and the demo ERC-20, compiled together through the shared solc cache. */
export async function escrowArtifacts(opts: { cacheDir?: string } = {}): Promise<EscrowArtifacts> {
  const out = await compileSolidity(
    [join(CONTRACT_DIRS.evmPort, 'settlement', 'QiaoEscrow.sol'), join(CONTRACT_DIRS.evmPort, 'demo', 'DemoToken.sol')],
    opts,
  );
  return { QiaoEscrow: out.QiaoEscrow!, DemoToken: out.DemoToken! };
}
