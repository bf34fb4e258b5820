import { Command, CommanderError } from 'commander';
import { QiaoError } from '../errors.ts';
import { registerChains } from './commands/chains.ts';
import { registerCredit } from './commands/credit-cmd.ts';
import { registerGovernance } from './commands/governance-cmd.ts';
import { registerIdentity } from './commands/identity-cmd.ts';
import { registerIndex } from './commands/index-cmd.ts';
import { registerIssuers } from './commands/issuers-cmd.ts';
import { registerMessages } from './commands/messages.ts';
import { registerProof } from './commands/proof.ts';
import { registerRegistry } from './commands/registry-cmd.ts';
import { registerStart } from './commands/start.ts';
import { registerRelayer } from './commands/relayer-cmd.ts';
import { registerDlq } from './commands/dlq-cmd.ts';
import { registerAttestor } from './commands/attestor-cmd.ts';
import { registerCorridors } from './commands/corridors-cmd.ts';
import { registerPay } from './commands/pay-cmd.ts';
import { registerCosmos } from './commands/cosmos-cmd.ts';
import { registerFabric } from './commands/fabric-cmd.ts';
import { registerLanes } from './commands/lanes-cmd.ts';
import { registerLanesOrder } from './commands/lanes-order-cmd.ts';

export function buildProgram(): Command {
  const program = new Command('qiao')
    .description('Qiao: an internet-of-blockchains hub that relays only what it has verified')
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride();
  registerStart(program);
  registerMessages(program);
  registerChains(program);
  registerGovernance(program);
  registerProof(program);
  registerIndex(program);
  registerRegistry(program);
  registerIdentity(program);
  registerIssuers(program);
  registerCredit(program);
  registerRelayer(program);
  registerDlq(program);
  registerAttestor(program);
  registerCorridors(program);
  registerPay(program);
  registerCosmos(program);
  registerFabric(program);
  registerLanes(program);
  registerLanesOrder(program);
  return program;
}

/**
 * How a failed command ends: the exit code and the one line printed on stderr (none for
 * Commander's own errors, which Commander already printed). Shared by `main` and the
 * tests that run commands in-process, so both report a failure the same way.
 */
export function failureOf(err: unknown): { exitCode: number; print: unknown[] } {
  if (err instanceof CommanderError) return { exitCode: err.exitCode, print: [] };
  if (err instanceof QiaoError) {
    const field = typeof err.data.field === 'string' ? ` [${err.data.field}]` : '';
    return { exitCode: 2, print: [`error${field}: ${err.message}`] };
  }
  return { exitCode: 1, print: [err instanceof Error ? `error: ${err.message}` : err] };
}

/** CLI entry: errors print one clear line (naming the bad field) and exit non-zero. */
export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    const f = failureOf(err);
    for (const line of f.print) console.error(line);
    if (!(err instanceof CommanderError) && process.env.QIAO_DEBUG) console.error(err);
    process.exitCode = f.exitCode;
  }
}
