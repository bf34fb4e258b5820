import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { ValidationError } from '../../errors.ts';

// Family verifiers (and their SDKs) load only when a proof command runs.
const load = async () => ({ ...(await import('../vectors/registry.ts')), ...(await import('../vectors/runner.ts')) });

export function registerProof(program: Command): void {
  const proof = program.command('proof').description('verify proofs offline with the verifiers the relayer uses');
  proof
    .command('verify <paths...>')
    .description('verify vector files and folders (searched recursively); one JSON line per case')
    .option('--format <name>', 'force a format (list them with: qiao proof formats)')
    .option('--trust <file>', 'JSON file with trust anchors a vector lacks (e.g. a GRANDPA authority set)')
    .option('--now <iso>', 'clock for trusting periods when a vector gives none (default: now)')
    .action(async (paths: string[], o: { format?: string; trust?: string; now?: string }) => {
      const { VECTOR_FORMATS, exitCodeOf, runVectors, UnreadableInputError } = await load();
      let trust: unknown;
      if (o.trust) {
        try {
          trust = JSON.parse(readFileSync(o.trust, 'utf8'));
        } catch (cause) {
          console.error(`error [trust]: cannot read ${o.trust} as JSON (${cause instanceof Error ? cause.message : String(cause)})`);
          process.exitCode = 2;
          return;
        }
      }
      const now = o.now ? new Date(o.now) : new Date();
      if (Number.isNaN(now.getTime())) throw new ValidationError('now', 'must be an ISO date');
      let report;
      try {
        report = runVectors(paths, VECTOR_FORMATS, { format: o.format, trust, now });
      } catch (err) {
        if (err instanceof UnreadableInputError) {
          console.error(`error [${err.path}]: ${err.message}${err.cause instanceof Error ? ` (${err.cause.message})` : ''}`);
          process.exitCode = 2;
          return;
        }
        throw err;
      }
      for (const n of report.notices) console.error(`notice: ${n}`);
      for (const c of report.cases) console.log(JSON.stringify(c));
      process.exitCode = exitCodeOf(report.cases);
    });
  proof
    .command('formats')
    .description('list the vector formats proof verify recognises')
    .action(async () => {
      const { VECTOR_FORMATS } = await load();
      for (const f of VECTOR_FORMATS) console.log(`${f.name}${f.claimDir ? ' (folder)' : ''}`);
    });
}
