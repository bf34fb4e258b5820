import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { compileSolidity } from '../../src/governance/solc.ts';
import { portArtifacts } from '../../adapters/evm/artifacts.ts';
import { governanceArtifacts } from '../../src/governance/artifacts.ts';
import { registryArtifacts } from '../../src/registries/artifacts.ts';
import { escrowArtifacts, settlementArtifacts } from '../../src/settlement/artifacts.ts';

/**
 * Once per run, before any worker starts: prints whether the upstream vectors
 * are there (tests skip visibly without them), and compiles the contract sets
 * every hub and most contract tests use. On a fresh clone the solc cache is
 * empty; compiled here once, the two workers never compile the same set side by side.
 */
export default async function setup(): Promise<void> {
  const dir = process.env.QIAO_VECTORS ?? resolve(process.cwd(), '../shared/vectors');
  if (!existsSync(dir)) {
    console.warn(`[qiao] NOTICE: upstream vectors not found at ${dir}; vector tests are skipped (set QIAO_VECTORS to point elsewhere).`);
  }
  await governanceArtifacts();
  await registryArtifacts();
  await portArtifacts();
  await settlementArtifacts();
  await escrowArtifacts();
  // The bench's bulk sender, used by the chaos tests of two workers.
  await compileSolidity([resolve(process.cwd(), 'test/bench/contracts/BulkSender.sol')]);
}
