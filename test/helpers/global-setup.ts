import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

/** Prints, once per run, whether the upstream vectors are there (tests skip visibly without them). */
export default function setup(): void {
  const dir = process.env.QIAO_VECTORS ?? resolve(process.cwd(), '../shared/vectors');
  if (!existsSync(dir)) {
    console.warn(`[qiao] NOTICE: upstream vectors not found at ${dir}; vector tests are skipped (set QIAO_VECTORS to point elsewhere).`);
  }
}
