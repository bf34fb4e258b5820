import { join } from 'node:path';
import { compileSolidity, CONTRACT_DIRS, type CompiledContract } from '../../src/governance/solc.ts';

export interface PortArtifacts {
  QiaoPort: CompiledContract;
  DemoReceiver: CompiledContract;
  DemoSender: CompiledContract;
}

export async function portArtifacts(opts: { cacheDir?: string } = {}): Promise<PortArtifacts> {
  const out = await compileSolidity(
    ['QiaoPort.sol', 'demo/DemoReceiver.sol', 'demo/DemoSender.sol'].map((f) => join(CONTRACT_DIRS.evmPort, f)),
    opts,
  );
  return { QiaoPort: out.QiaoPort!, DemoReceiver: out.DemoReceiver!, DemoSender: out.DemoSender! };
}

/** Storage slot of `commitments` in QiaoPort (its layout is part of the proof format). */
export const COMMITMENTS_SLOT = 0n;
/** Storage slot of `laneNonce` in QiaoPort. */
export const LANE_NONCE_SLOT = 1n;
