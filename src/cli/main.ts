import { Command, CommanderError } from 'commander';
import { QiaoError } from '../errors.ts';
import { registerChains } from './commands/chains.ts';
import { registerIndex } from './commands/index-cmd.ts';
import { registerMessages } from './commands/messages.ts';
import { registerProof } from './commands/proof.ts';
import { registerStart } from './commands/start.ts';

export function buildProgram(): Command {
  const program = new Command('qiao')
    .description('Qiao: an internet-of-blockchains hub that relays only what it has verified')
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride();
  registerStart(program);
  registerMessages(program);
  registerChains(program);
  registerProof(program);
  registerIndex(program);
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
