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
  return program;
}

/** CLI entry: errors print one clear line (naming the bad field) and exit non-zero. */
export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode;
      return;
    }
    if (err instanceof QiaoError) {
      const field = typeof err.data.field === 'string' ? ` [${err.data.field}]` : '';
      console.error(`error${field}: ${err.message}`);
      if (process.env.QIAO_DEBUG) console.error(err);
      process.exitCode = 2;
      return;
    }
    console.error(err instanceof Error ? `error: ${err.message}` : err);
    if (process.env.QIAO_DEBUG) console.error(err);
    process.exitCode = 1;
  }
}
